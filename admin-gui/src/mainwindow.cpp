#include "mainwindow.h"

#include "audioplayer.h"
#include "connectdialog.h"
#include "console.h"
#include "languagemanager.h"
#include "queuesview.h"
#include "sessionsview.h"
#include "turnview.h"
#include "usersview.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QEvent>
#include <QLabel>
#include <QMenuBar>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

namespace tianyi::admin {

namespace {
const QString kLanguageKey = QStringLiteral("ui/language");
}

MainWindow::MainWindow(Console &console, CredentialStore &credentials, QSettings &settings, AudioPlayer &player, LanguageManager &language,
                       QWidget *parent)
    : QMainWindow(parent)
    , m_console(console)
    , m_settings(settings)
    , m_language(language)
    , m_connect(new ConnectDialog(console.api(), credentials, settings, this))
    , m_tabs(new QTabWidget(this))
    , m_sessions(new SessionsView(console, this))
    , m_queues(new QueuesView(console.queues(), this))
    , m_turn(new TurnView(console.api(), player, this))
    , m_users(new UsersView(console, this))
    , m_connection(new QLabel(this))
{
    m_tabs->addTab(m_sessions, QString());
    m_tabs->addTab(m_queues, QString());
    m_tabs->addTab(m_turn, QString());
    m_tabs->addTab(m_users, QString());
    setCentralWidget(m_tabs);
    statusBar()->addPermanentWidget(m_connection, 1);

    m_fileMenu = menuBar()->addMenu(QString());
    m_connectAction = m_fileMenu->addAction(QString(), this, &MainWindow::showConnectDialog);
    m_fileMenu->addSeparator();
    m_quitAction = m_fileMenu->addAction(QString(), this, &QWidget::close);
    m_languageMenu = menuBar()->addMenu(QString());
    m_languages = new QActionGroup(this);
    m_systemLanguage = m_languageMenu->addAction(QString());
    m_systemLanguage->setCheckable(true);
    m_systemLanguage->setData(QString());
    m_languages->addAction(m_systemLanguage);
    m_languageMenu->addSeparator();
    for (const QString &code : LanguageManager::available()) {
        QAction *a = m_languageMenu->addAction(LanguageManager::nativeName(code));
        a->setCheckable(true);
        a->setData(code);
        m_languages->addAction(a);
    }
    const QString saved = m_settings.value(kLanguageKey).toString();
    (saved.isEmpty() ? m_systemLanguage : languageAction(saved) ? languageAction(saved) : m_systemLanguage)->setChecked(true);
    connect(m_languages, &QActionGroup::triggered, this, [this](QAction *a) {
        m_settings.setValue(kLanguageKey, a->data().toString());
        m_language.setLanguage(a->data().toString());
    });

    connect(m_connect, &QDialog::accepted, this, &MainWindow::connected);
    connect(m_connect, &ConnectDialog::passwordNotSaved, this, [this](const QString &reason) {
        m_passwordNotSaved = reason;
        updateConnection();
    });
    connect(&console.feed(), &AdminFeedClient::stateChanged, this, &MainWindow::updateConnection);
    connect(&console.feed(), &AdminFeedClient::stateChanged, this, [this](AdminFeedClient::State state) {
        if (state == AdminFeedClient::State::Live)
            m_users->reload(); // after a reconnect the list may have changed while we were away
    });
    connect(m_sessions, &SessionsView::openTurn, this, [this](qint64 turnId) {
        m_tabs->setCurrentWidget(m_turn);
        m_turn->loadTurn(turnId);
    });
    resize(1100, 700);
    retranslate();
}

MainWindow::~MainWindow()
{
    m_console.stop();
}

QAction *MainWindow::languageAction(const QString &code) const
{
    for (QAction *a : m_languages->actions())
        if (a->data().toString() == code)
            return a;
    return nullptr;
}

void MainWindow::showConnectDialog()
{
    m_connect->loadRemembered();
    m_connect->setWindowModality(Qt::WindowModal);
    m_connect->open();
}

void MainWindow::connected()
{
    m_console.start(); // its hello fills the sessions; going live reloads the users
    updateConnection();
}

void MainWindow::retranslate()
{
    setWindowTitle(tr("tianyi-admin — operator console"));
    m_tabs->setTabText(0, tr("Sessions"));
    m_tabs->setTabText(1, tr("Queues"));
    m_tabs->setTabText(2, tr("Turn"));
    m_tabs->setTabText(3, tr("Users"));
    m_fileMenu->setTitle(tr("&Server"));
    m_connectAction->setText(tr("&Connect…"));
    m_quitAction->setText(tr("&Quit"));
    m_languageMenu->setTitle(tr("&Language"));
    m_systemLanguage->setText(tr("System language"));
    updateConnection();
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QMainWindow::changeEvent(event);
}

QString MainWindow::connectionText() const
{
    return m_connection->text();
}

void MainWindow::updateConnection()
{
    const AdminFeedClient &feed = m_console.feed();
    const QString who = QStringLiteral("%1@%2").arg(m_console.api().username(), m_console.api().server().toString());
    QString text;
    switch (feed.state()) {
    case AdminFeedClient::State::Offline:
        text = tr("Not connected.");
        break;
    case AdminFeedClient::State::Connecting:
        text = tr("Connecting to %1…").arg(who);
        break;
    case AdminFeedClient::State::Live:
        text = tr("Live: %1").arg(who);
        break;
    case AdminFeedClient::State::Waiting:
        text = tr("Connection lost (%1); reconnecting by itself…").arg(feed.lastCloseReason().isEmpty() ? tr("no answer") : feed.lastCloseReason());
        break;
    case AdminFeedClient::State::Refused:
        text = tr("Refused by the server: %1").arg(feed.lastCloseReason());
        break;
    }
    if (!m_passwordNotSaved.isEmpty())
        text += QStringLiteral(" · ") + tr("password not saved: %1").arg(m_passwordNotSaved);
    m_connection->setText(text);
}

} // namespace tianyi::admin
