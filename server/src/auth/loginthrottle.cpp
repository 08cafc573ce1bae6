#include "auth/loginthrottle.h"

#include <algorithm>
#include <vector>

namespace tianyi {

namespace {
int ceilSeconds(qint64 ms)
{
    return int(std::max<qint64>(1, (ms + 999) / 1000));
}
} // namespace

LoginThrottle::LoginThrottle(Limits limits)
    : m_limits(limits)
{
}

bool LoginThrottle::expired(const Entry &e, qint64 nowMs) const
{
    return e.pending == 0 && e.lockedUntilMs <= nowMs && e.windowStartMs + m_limits.windowMs <= nowMs;
}

int LoginThrottle::retryFor(const QString &slot, int pendingWeight, qint64 nowMs) const
{
    const auto it = m_entries.constFind(slot);
    if (it == m_entries.cend())
        return 0;
    if (it->lockedUntilMs > nowMs)
        return ceilSeconds(it->lockedUntilMs - nowMs);
    const bool windowOpen = it->windowStartMs + m_limits.windowMs > nowMs;
    const int failures = windowOpen ? it->failures : 0;
    // Guesses still being verified could each become the failure that locks the key.
    if (failures + pendingWeight * it->pending >= m_limits.maxFailures)
        return 1;
    return 0;
}

int LoginThrottle::retryAfterSeconds(const QString &usernameKey, const QString &ip, qint64 nowMs) const
{
    return std::max(retryFor(userSlot(usernameKey), 1, nowMs), retryFor(ipSlot(ip), 0, nowMs));
}

LoginThrottle::Entry &LoginThrottle::touch(const QString &slot, qint64 nowMs)
{
    if (nowMs - m_lastSweepMs >= m_limits.windowMs)
        sweepExpired(nowMs);
    auto it = m_entries.find(slot);
    if (it == m_entries.end()) {
        if (int(m_entries.size()) >= m_limits.maxTrackedKeys)
            makeRoom(nowMs);
        it = m_entries.insert(slot, Entry{});
    }
    it->lastTouchedMs = nowMs;
    return *it;
}

void LoginThrottle::attemptStarted(const QString &usernameKey, qint64 nowMs)
{
    ++touch(userSlot(usernameKey), nowMs).pending;
}

void LoginThrottle::recordFailure(const QString &slot, qint64 nowMs)
{
    Entry &e = touch(slot, nowMs);
    if (e.windowStartMs + m_limits.windowMs <= nowMs) {
        e.windowStartMs = nowMs;
        e.failures = 0;
    }
    if (++e.failures >= m_limits.maxFailures) {
        e.lockedUntilMs = nowMs + m_limits.lockoutMs;
        e.failures = 0; // after the lockout the count starts afresh
        e.windowStartMs = nowMs;
    }
}

void LoginThrottle::attemptFailed(const QString &usernameKey, const QString &ip, qint64 nowMs)
{
    attemptAbandoned(usernameKey, nowMs);
    recordFailure(userSlot(usernameKey), nowMs);
    recordFailure(ipSlot(ip), nowMs);
}

void LoginThrottle::attemptSucceeded(const QString &usernameKey, qint64 nowMs)
{
    auto it = m_entries.find(userSlot(usernameKey));
    if (it == m_entries.end())
        return;
    it->pending = std::max(0, it->pending - 1);
    it->failures = 0;
    it->lastTouchedMs = nowMs;
    if (expired(*it, nowMs))
        m_entries.erase(it);
}

void LoginThrottle::attemptAbandoned(const QString &usernameKey, qint64 nowMs)
{
    auto it = m_entries.find(userSlot(usernameKey));
    if (it == m_entries.end())
        return;
    it->pending = std::max(0, it->pending - 1);
    if (it->pending == 0 && it->failures == 0 && it->lockedUntilMs <= nowMs)
        m_entries.erase(it);
}

void LoginThrottle::sweepExpired(qint64 nowMs)
{
    m_lastSweepMs = nowMs;
    for (auto it = m_entries.begin(); it != m_entries.end();)
        it = expired(*it, nowMs) ? m_entries.erase(it) : std::next(it);
}

void LoginThrottle::makeRoom(qint64 nowMs)
{
    sweepExpired(nowMs);
    const int cap = m_limits.maxTrackedKeys;
    if (int(m_entries.size()) < cap)
        return;
    // Still full of live entries (a spray of many names): forget the least recently touched tenth,
    // never an entry with a verification in flight (its counts are needed when it ends).
    std::vector<std::pair<qint64, QString>> byAge;
    byAge.reserve(m_entries.size());
    for (auto it = m_entries.cbegin(); it != m_entries.cend(); ++it)
        if (it->pending == 0)
            byAge.emplace_back(it->lastTouchedMs, it.key());
    const size_t drop = std::min(byAge.size(), size_t(std::max(1, cap / 10)));
    if (drop == 0)
        return; // every entry has a verification in flight: grow a little rather than lose counts
    std::nth_element(byAge.begin(), byAge.begin() + std::ptrdiff_t(drop - 1), byAge.end());
    for (size_t i = 0; i < drop; ++i)
        m_entries.remove(byAge[i].second);
}

} // namespace tianyi
