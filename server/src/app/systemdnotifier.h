#pragma once
// Tells systemd (Type=notify) how the server is doing: READY=1 once the port accepts, STOPPING=1 when a
// graceful stop begins, and WATCHDOG=1 pings at half the unit's WatchdogSec while the event loop runs.
// Without NOTIFY_SOCKET in the environment (not started by systemd, tests) every call does nothing.

#include <QObject>
#include <QTimer>

namespace tianyi {

class SystemdNotifier : public QObject
{
    Q_OBJECT
public:
    explicit SystemdNotifier(QObject *parent = nullptr);

    // The server listens: READY=1 with the address in STATUS=, then the watchdog pings start (if asked for).
    void ready(const QString &status);
    // A graceful stop began: STOPPING=1. Watchdog pings go on so a long drain is not mistaken for a hang.
    void stopping();

private:
    void send(const QByteArray &state);

    QTimer m_watchdog;
    bool m_readySent = false;
};

} // namespace tianyi
