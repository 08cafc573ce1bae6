#pragma once
// `tianyi-admin --screenshots DIR`: connects with the remembered/typed login, waits (on
// conditions, polled by a timer; nothing blocks) until each view shows real data, and saves a
// PNG of it: connect dialog, sessions, queues, turn with waveform, users, and the sessions view
// in Chinese. Used by admin-gui/take-screenshots.sh for docs/screenshots/admin-*.png.

#include <QDir>
#include <QObject>
#include <QTimer>
#include <functional>

namespace tianyi::admin {

class Console;
class LanguageManager;
class MainWindow;

class ScreenshotTour : public QObject
{
    Q_OBJECT
public:
    static constexpr int kTimeoutMs = 180000;
    static constexpr int kQueueSamples = 40; // enough seconds of history for the charts to say something

    ScreenshotTour(MainWindow &window, Console &console, LanguageManager &language, const QString &dir, QObject *parent = nullptr);
    void start(const QString &password);

signals:
    void done(int exitCode);

private:
    struct Step {
        QString name;                     // file name without .png; empty: an action only
        std::function<bool()> ready;
        std::function<void()> before;     // runs once when the step begins
    };
    void poll();
    bool save(QWidget *widget, const QString &name);

    MainWindow &m_window;
    Console &m_console;
    LanguageManager &m_language;
    QDir m_dir;
    QList<Step> m_steps;
    int m_step = 0;
    bool m_begun = false;
    QTimer m_timer;
    QTimer m_deadline;
};

} // namespace tianyi::admin
