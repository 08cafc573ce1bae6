#pragma once
// The console's window: sessions, queues, turn and users tabs over one Console; the connect
// dialog; the language menu; and the connection state in the status bar.

#include <QMainWindow>

class QAction;
class QActionGroup;
class QLabel;
class QMenu;
class QSettings;
class QTabWidget;

namespace tianyi::admin {

class AudioPlayer;
class Console;
class ConnectDialog;
class CredentialStore;
class LanguageManager;
class QueuesView;
class SessionsView;
class TurnView;
class UsersView;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    MainWindow(Console &console, CredentialStore &credentials, QSettings &settings, AudioPlayer &player, LanguageManager &language,
               QWidget *parent = nullptr);
    ~MainWindow() override;

    // Opens the connect dialog (window-modal, never a nested event loop).
    void showConnectDialog();

    ConnectDialog *connectDialog() const { return m_connect; }
    SessionsView *sessionsView() const { return m_sessions; }
    QueuesView *queuesView() const { return m_queues; }
    TurnView *turnView() const { return m_turn; }
    UsersView *usersView() const { return m_users; }
    QTabWidget *tabs() const { return m_tabs; }
    QString connectionText() const;
    QAction *languageAction(const QString &code) const;

protected:
    void changeEvent(QEvent *event) override;

private:
    void connected();
    void updateConnection();
    void retranslate();

    Console &m_console;
    QSettings &m_settings;
    LanguageManager &m_language;
    ConnectDialog *m_connect;
    QTabWidget *m_tabs;
    SessionsView *m_sessions;
    QueuesView *m_queues;
    TurnView *m_turn;
    UsersView *m_users;
    QLabel *m_connection;
    QString m_passwordNotSaved; // the keychain's reason, worded next to the connection state in the current language
    QMenu *m_fileMenu;
    QMenu *m_languageMenu;
    QAction *m_connectAction;
    QAction *m_quitAction;
    QAction *m_systemLanguage;
    QActionGroup *m_languages;
};

} // namespace tianyi::admin
