#pragma once
// Server URL and admin login. Signs in through AdminApi (never blocking: the dialog stays
// responsive and shows the server's refusal in words), remembers the server and the username
// in QSettings and the password only in the CredentialStore, if the operator asks for it.

#include <QDialog>
#include <QPointer>
#include <functional>

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSettings;

namespace tianyi::admin {

class AdminApi;
class StatusLabel;
class CredentialStore;

class ConnectDialog : public QDialog
{
    Q_OBJECT
public:
    ConnectDialog(AdminApi &api, CredentialStore &credentials, QSettings &settings, QWidget *parent = nullptr);

    // Fills the fields from the settings and, when remembered, the password from the store.
    void loadRemembered();
    // Connect: sign in; accept() on success, else the error shows under the fields.
    void attempt();

    QLineEdit *serverEdit() const { return m_server; }
    QLineEdit *userEdit() const { return m_user; }
    QLineEdit *passwordEdit() const { return m_password; }
    QCheckBox *rememberBox() const { return m_remember; }
    QString errorText() const;
    QString noticeText() const;
    bool isBusy() const { return m_busy; }

signals:
    // The keychain refused the password (no secret service, locked, …): the login still worked.
    void passwordNotSaved(const QString &reason);

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslate();
    void setBusy(bool busy);
    void showError(std::function<QString()> text);
    void remember();

    AdminApi &m_api;
    CredentialStore &m_credentials;
    QSettings &m_settings;
    QLabel *m_serverLabel;
    QLabel *m_userLabel;
    QLabel *m_passwordLabel;
    QLineEdit *m_server;
    QLineEdit *m_user;
    QLineEdit *m_password;
    QCheckBox *m_remember;
    StatusLabel *m_error;
    StatusLabel *m_notice;   // keychain messages ("password not saved: …"): information, not a failure
    QDialogButtonBox *m_buttons;
    bool m_busy = false;
};

} // namespace tianyi::admin
