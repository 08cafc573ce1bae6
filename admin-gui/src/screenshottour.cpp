#include "screenshottour.h"

#include "connectdialog.h"
#include "console.h"
#include "languagemanager.h"
#include "mainwindow.h"
#include "queuesview.h"
#include "sessionsview.h"
#include "turnview.h"
#include "usersmodel.h"
#include "usersview.h"
#include "waveformwidget.h"

#include <QLineEdit>
#include <QPixmap>
#include <QTabWidget>
#include <QTextStream>

namespace tianyi::admin {

ScreenshotTour::ScreenshotTour(MainWindow &window, Console &console, LanguageManager &language, const QString &dir, QObject *parent)
    : QObject(parent)
    , m_window(window)
    , m_console(console)
    , m_language(language)
    , m_dir(dir)
{
    m_timer.setInterval(200);
    connect(&m_timer, &QTimer::timeout, this, &ScreenshotTour::poll);
    m_deadline.setSingleShot(true);
    connect(&m_deadline, &QTimer::timeout, this, [this]() {
        QTextStream(stderr) << "screenshots: timed out at step " << m_step << "\n";
        m_timer.stop();
        emit done(1);
    });
}

void ScreenshotTour::start(const QString &password)
{
    m_dir.mkpath(QStringLiteral("."));
    ConnectDialog *dialog = m_window.connectDialog();
    SessionsModel &sessions = m_console.sessions();
    auto lastTurn = [&sessions]() -> qint64 {
        qint64 best = 0;
        for (int i = 0; i < sessions.rowCount(); ++i)
            best = qMax(best, sessions.row(i)->lastTurnId);
        return best;
    };
    m_steps = {
        {QStringLiteral("admin-connect"), [dialog]() { return dialog->isVisible(); },
         [this, dialog, password]() {
             m_window.showConnectDialog();
             if (!password.isEmpty())
                 dialog->passwordEdit()->setText(password);
         }},
        {QString(), [this]() { return m_console.feed().state() == AdminFeedClient::State::Live; }, [dialog]() { dialog->attempt(); }},
        {QString(),
         [&sessions]() {
             int withTurns = 0;
             for (int i = 0; i < sessions.rowCount(); ++i)
                 withTurns += sessions.row(i)->lastTurnId > 0 ? 1 : 0;
             return withTurns >= 2;
         },
         [this]() { m_window.tabs()->setCurrentWidget(m_window.sessionsView()); }},
        {QStringLiteral("admin-sessions"), // once more, with a row selected: the actions enabled
         [this, &sessions]() { return m_window.sessionsView()->selectSession(sessions.row(sessions.rowCount() - 1)->id); }, {}},
        {QStringLiteral("admin-queues"), [this]() { return m_console.queues().size() >= kQueueSamples; },
         [this]() { m_window.tabs()->setCurrentWidget(m_window.queuesView()); }},
        {QStringLiteral("admin-turn"), [this]() { return m_window.turnView()->waveform()->hasSamples(); },
         [this, lastTurn]() {
             m_window.tabs()->setCurrentWidget(m_window.turnView());
             m_window.turnView()->loadTurn(lastTurn());
         }},
        {QStringLiteral("admin-users"), [this]() { return m_window.usersView()->model().rowCount() > 0; },
         [this]() { m_window.tabs()->setCurrentWidget(m_window.usersView()); }},
        {QStringLiteral("admin-sessions-zh"),
         [this, &sessions]() { return sessions.rowCount() >= 1 && m_window.sessionsView()->selectSession(sessions.row(0)->id); },
         [this]() {
             m_language.setLanguage(QStringLiteral("zh_CN"));
             m_window.tabs()->setCurrentWidget(m_window.sessionsView());
         }},
        {QStringLiteral("admin-turn-zh"), [this]() { return m_window.turnView()->waveform()->hasSamples(); },
         [this]() { m_window.tabs()->setCurrentWidget(m_window.turnView()); }},
    };
    m_deadline.start(kTimeoutMs);
    m_timer.start();
}

bool ScreenshotTour::save(QWidget *widget, const QString &name)
{
    const QString path = m_dir.filePath(name + QStringLiteral(".png"));
    const bool ok = widget->grab().save(path, "PNG");
    QTextStream(stderr) << "screenshots: " << (ok ? "saved " : "cannot save ") << path << "\n";
    return ok;
}

void ScreenshotTour::poll()
{
    if (m_step >= m_steps.size()) {
        m_timer.stop();
        m_deadline.stop();
        emit done(0);
        return;
    }
    Step &step = m_steps[m_step];
    if (!m_begun) {
        m_begun = true;
        if (step.before)
            step.before();
        return; // let the view paint once before the first check
    }
    if (!step.ready())
        return;
    if (!step.name.isEmpty()) {
        QWidget *target = step.name == QLatin1String("admin-connect") ? static_cast<QWidget *>(m_window.connectDialog()) : &m_window;
        if (!save(target, step.name)) {
            m_timer.stop();
            emit done(1);
            return;
        }
    }
    ++m_step;
    m_begun = false;
}

} // namespace tianyi::admin
