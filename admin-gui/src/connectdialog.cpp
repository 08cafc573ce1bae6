#include "connectdialog.h"

#include "adminapi.h"
#include "credentialstore.h"
#include "statuslabel.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QEvent>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

namespace tianyi::admin {

namespace {
const QString kServerKey = QStringLiteral("connection/server");
const QString kUserKey = QStringLiteral("connection/username");
const QString kRememberKey = QStringLiteral("connection/remember_password");
} // namespace

ConnectDialog::ConnectDialog(AdminApi &api, CredentialStore &credentials, QSettings &settings, QWidget *parent)
    : QDialog(parent)
    , m_api(api)
    , m_credentials(credentials)
    , m_settings(settings)
    , m_serverLabel(new QLabel(this))
    , m_userLabel(new QLabel(this))
    , m_passwordLabel(new QLabel(this))
    , m_server(new QLineEdit(this))
    , m_user(new QLineEdit(this))
    , m_password(new QLineEdit(this))
    , m_remember(new QCheckBox(this))
    , m_error(new StatusLabel(this))
    , m_notice(new StatusLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setObjectName(QStringLiteral("connectDialog"));
    m_password->setEchoMode(QLineEdit::Password);
    m_server->setPlaceholderText(QStringLiteral("http://127.0.0.1:8080"));
    m_error->setObjectName(QStringLiteral("connectError"));
    m_error->setStyleSheet(QStringLiteral("color: #c0392b;"));
    m_error->setWordWrap(true);
    m_error->hide();
    m_notice->setWordWrap(true);
    m_notice->hide();
    auto *form = new QFormLayout;
    form->addRow(m_serverLabel, m_server);
    form->addRow(m_userLabel, m_user);
    form->addRow(m_passwordLabel, m_password);
    form->addRow(QString(), m_remember);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(m_notice);
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ConnectDialog::attempt);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    setMinimumWidth(420);
    retranslate();
}

void ConnectDialog::retranslate()
{
    setWindowTitle(tr("Connect to a tianyi server"));
    m_serverLabel->setText(tr("Server:"));
    m_userLabel->setText(tr("Admin user:"));
    m_passwordLabel->setText(tr("Password:"));
    m_remember->setText(tr("Remember the password in the system keychain"));
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Connect"));
    m_buttons->button(QDialogButtonBox::Cancel)->setText(tr("Cancel"));
}

void ConnectDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QDialog::changeEvent(event);
}

QString ConnectDialog::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

QString ConnectDialog::noticeText() const
{
    return m_notice->isHidden() ? QString() : m_notice->text();
}

void ConnectDialog::loadRemembered()
{
    m_server->setText(m_settings.value(kServerKey, QStringLiteral("http://127.0.0.1:8080")).toString());
    m_user->setText(m_settings.value(kUserKey).toString());
    const bool remembered = m_settings.value(kRememberKey, false).toBool();
    m_remember->setChecked(remembered);
    if (!remembered || m_user->text().isEmpty())
        return;
    QPointer<ConnectDialog> self(this);
    m_credentials.read(CredentialStore::keyFor(m_server->text(), m_user->text()), [self](const QString &password, const QString &error) {
        if (!self)
            return;
        if (error.isEmpty() && self->m_password->text().isEmpty())
            self->m_password->setText(password);
        else if (!error.isEmpty()) {
            self->m_notice->say([error]() { return tr("Password not loaded: %1").arg(error); });
            self->m_notice->show();
        }
    });
}

void ConnectDialog::setBusy(bool busy)
{
    m_busy = busy;
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!busy);
    for (QLineEdit *e : {m_server, m_user, m_password})
        e->setEnabled(!busy);
}

void ConnectDialog::showError(std::function<QString()> text)
{
    m_error->setVisible(bool(text));
    m_error->say(std::move(text));
}

void ConnectDialog::attempt()
{
    if (m_busy)
        return;
    QString serverText = m_server->text().trimmed();
    if (!serverText.contains(QLatin1String("://")))
        serverText.prepend(QStringLiteral("http://"));
    const QUrl url(serverText);
    if (!url.isValid() || url.host().isEmpty() || (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https"))) {
        showError([]() { return tr("The server address is not a valid http(s) URL."); });
        return;
    }
    if (m_user->text().trimmed().isEmpty() || m_password->text().isEmpty()) {
        showError([]() { return tr("Enter the admin username and password."); });
        return;
    }
    showError({});
    setBusy(true);
    QPointer<ConnectDialog> self(this);
    m_api.signIn(url, m_user->text().trimmed(), m_password->text(), [self](const ApiResult *refused) {
        if (!self)
            return;
        self->setBusy(false);
        if (refused) {
            self->showError([r = *refused]() { return AdminApi::describe(r); });
            return;
        }
        self->remember();
        self->accept();
    });
}

void ConnectDialog::remember()
{
    const QString server = m_api.server().toString();
    m_settings.setValue(kServerKey, server);
    m_settings.setValue(kUserKey, m_api.username());
    m_settings.setValue(kRememberKey, m_remember->isChecked());
    const QString key = CredentialStore::keyFor(server, m_api.username());
    if (!m_remember->isChecked()) {
        m_credentials.remove(key);
        return;
    }
    // The dialog may be gone when the keychain answers: the main window shows the notice then.
    QPointer<ConnectDialog> self(this);
    m_credentials.write(key, m_password->text(), [self](const QString &error) {
        if (self && !error.isEmpty()) {
            self->m_notice->say([error]() { return tr("Password not saved: %1").arg(error); });
            self->m_notice->show();
            emit self->passwordNotSaved(error);
        }
    });
}

} // namespace tianyi::admin
