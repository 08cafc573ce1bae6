#pragma once
// Counts failed logins and refuses more (429 + Retry-After) under three rules, each with its own
// limit, window and lockout:
//   pair    (account, client address): the guessing of one account from one place. Locking the
//           pair, not the account, means an attacker who knows a username cannot lock its owner
//           out: the owner's own address is a different pair.
//   address (client address, any account): one place spraying guesses over many names.
//   account (any address): a slower budget per account, so guessing from many addresses is still
//           bounded (at the price that such a distributed attack can delay the owner too).
// Verifications still in flight count as possible failures under every rule: firing many guesses
// in parallel cannot outrun a limit (each is reserved before any hashing work starts).
// Unknown usernames are counted like known ones, so the answer never tells them apart.
// Memory is bounded: at most maxTrackedKeys entries; entries whose window and lockout have passed
// are dropped (swept at most once per window, O(entries)), and when still full the least recently
// touched entries go first.
// Event-loop thread only (no locking).

#include <QHash>
#include <QString>

namespace tianyi {

class LoginThrottle
{
public:
    struct Rule {
        int maxFailures = 5;
        qint64 windowMs = 300000;
        qint64 lockoutMs = 60000;
    };
    struct Limits {
        Rule pair;
        Rule address;
        Rule account;
        int maxTrackedKeys = 100000;
    };

    explicit LoginThrottle(Limits limits);
    // Entries point at the rules inside this object.
    LoginThrottle(const LoginThrottle &) = delete;
    LoginThrottle &operator=(const LoginThrottle &) = delete;

    // Seconds the caller must wait (> 0) before this attempt may proceed, or 0.
    int retryAfterSeconds(const QString &usernameKey, const QString &ip, qint64 nowMs) const;

    // Brackets a password verification: started reserves it under every rule; exactly one of
    // failed / succeeded / abandoned releases it.
    void attemptStarted(const QString &usernameKey, const QString &ip, qint64 nowMs);
    void attemptFailed(const QString &usernameKey, const QString &ip, qint64 nowMs);
    // A success clears the pair's failures only: neither the address's (one right password must
    // not reset a spray across many accounts) nor the account's budget (the owner logging in must
    // not give a distributed attacker fresh guesses).
    void attemptSucceeded(const QString &usernameKey, const QString &ip, qint64 nowMs);
    // The attempt ended without a verdict (e.g. server busy): only the reservation is released.
    void attemptAbandoned(const QString &usernameKey, const QString &ip, qint64 nowMs);

    int trackedKeys() const { return int(m_entries.size()); }

private:
    struct Entry {
        int failures = 0;
        qint64 windowStartMs = 0;
        qint64 lockedUntilMs = 0;
        qint64 lastTouchedMs = 0;
        int pending = 0;
        const Rule *rule = nullptr;
    };
    struct Slot {
        QString key;
        const Rule *rule;
    };

    // The entries one attempt touches, one per rule ('\n' cannot occur in a username key).
    Slot pairSlot(const QString &usernameKey, const QString &ip) const { return {QStringLiteral("p:") + usernameKey + QLatin1Char('\n') + ip, &m_limits.pair}; }
    Slot addressSlot(const QString &ip) const { return {QStringLiteral("ip:") + ip, &m_limits.address}; }
    Slot accountSlot(const QString &usernameKey) const { return {QStringLiteral("u:") + usernameKey, &m_limits.account}; }

    int retryFor(const Slot &slot, qint64 nowMs) const;
    Entry &touch(const Slot &slot, qint64 nowMs);
    void recordFailure(const Slot &slot, qint64 nowMs);
    void release(const Slot &slot, qint64 nowMs, bool clearFailures);
    static bool expired(const Entry &e, qint64 nowMs);
    void sweepExpired(qint64 nowMs);
    void makeRoom(qint64 nowMs);
    qint64 longestWindowMs() const;

    Limits m_limits;
    QHash<QString, Entry> m_entries;
    qint64 m_lastSweepMs = 0;
};

} // namespace tianyi
