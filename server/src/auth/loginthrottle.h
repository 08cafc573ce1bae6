#pragma once
// Counts failed logins per username key and per client IP. Reaching the limit within the window
// locks that key out for a while (429 + Retry-After). Unknown usernames are counted like known
// ones, so the answer never tells them apart.
// Memory is bounded: at most maxTrackedKeys entries; entries whose window and lockout have passed
// are dropped (swept at most once per window, O(entries)), and when still full the least recently touched entries go first.
// Event-loop thread only (no locking).

#include <QHash>
#include <QString>

namespace tianyi {

class LoginThrottle
{
public:
    struct Limits {
        int maxFailures = 5;
        qint64 windowMs = 300000;
        qint64 lockoutMs = 60000;
        int maxTrackedKeys = 100000;
    };

    explicit LoginThrottle(Limits limits);

    // Seconds the caller must wait (> 0) before this attempt may proceed, or 0.
    // `pending` verifications of the same username count as possible failures, so firing many
    // guesses in parallel cannot outrun the limit.
    int retryAfterSeconds(const QString &usernameKey, const QString &ip, qint64 nowMs) const;

    // Brackets a password verification of usernameKey.
    void attemptStarted(const QString &usernameKey, qint64 nowMs);
    void attemptFailed(const QString &usernameKey, const QString &ip, qint64 nowMs);
    // A success clears the username's failures (the IP's are kept: one right password from an IP
    // must not reset a spray across many accounts).
    void attemptSucceeded(const QString &usernameKey, qint64 nowMs);
    // The attempt ended without a verdict (e.g. server busy): only the pending count is released.
    void attemptAbandoned(const QString &usernameKey, qint64 nowMs);

    int trackedKeys() const { return int(m_entries.size()); }

private:
    struct Entry {
        int failures = 0;
        qint64 windowStartMs = 0;
        qint64 lockedUntilMs = 0;
        qint64 lastTouchedMs = 0;
        int pending = 0;
    };

    static QString userSlot(const QString &key) { return QStringLiteral("u:") + key; }
    static QString ipSlot(const QString &ip) { return QStringLiteral("ip:") + ip; }

    int retryFor(const QString &slot, int pending, qint64 nowMs) const;
    Entry &touch(const QString &slot, qint64 nowMs);
    void recordFailure(const QString &slot, qint64 nowMs);
    bool expired(const Entry &e, qint64 nowMs) const;
    void sweepExpired(qint64 nowMs);
    void makeRoom(qint64 nowMs);

    Limits m_limits;
    QHash<QString, Entry> m_entries;
    qint64 m_lastSweepMs = 0;
};

} // namespace tianyi
