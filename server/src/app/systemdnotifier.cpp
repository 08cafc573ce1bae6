#include "app/systemdnotifier.h"

#include "base/logging.h"

#include <climits>
#include <systemd/sd-daemon.h>

namespace tianyi {

namespace {
// Ping at half the watchdog period, as sd_watchdog_enabled(3) recommends, so one late timer is no kill.
constexpr int kWatchdogPingDivisor = 2;
constexpr quint64 kMicrosecondsPerMillisecond = 1000;
} // namespace

SystemdNotifier::SystemdNotifier(QObject *parent)
    : QObject(parent)
{
    // A ping from the event loop is cheap and proves what the watchdog should prove: the loop still turns.
    connect(&m_watchdog, &QTimer::timeout, this, [this]() { send("WATCHDOG=1"); });
}

void SystemdNotifier::ready(const QString &status)
{
    if (m_readySent)
        return;
    m_readySent = true;
    send("READY=1\nSTATUS=" + status.toUtf8());
    uint64_t watchdogUsec = 0;
    // unset_environment = 0: the tests start several servers in one process.
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0 && watchdogUsec > 0) {
        const quint64 intervalMs = watchdogUsec / kMicrosecondsPerMillisecond / kWatchdogPingDivisor;
        m_watchdog.start(int(qBound<quint64>(1, intervalMs, quint64(INT_MAX))));
        qCInfo(lcApp) << "systemd watchdog: pinging every" << m_watchdog.interval() << "ms";
    }
}

void SystemdNotifier::stopping()
{
    send("STOPPING=1\nSTATUS=shutting down");
}

void SystemdNotifier::send(const QByteArray &state)
{
    // A failed notification must not stop the server: systemd then treats it by the unit's timeouts.
    const int rc = sd_notify(0, state.constData());
    if (rc < 0)
        qCWarning(lcApp) << "sd_notify failed:" << rc;
}

} // namespace tianyi
