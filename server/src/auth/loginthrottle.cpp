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

bool LoginThrottle::expired(const Entry &e, qint64 nowMs)
{
    return e.pending == 0 && e.lockedUntilMs <= nowMs && e.windowStartMs + e.rule->windowMs <= nowMs;
}

qint64 LoginThrottle::longestWindowMs() const
{
    return std::max({m_limits.pair.windowMs, m_limits.address.windowMs, m_limits.account.windowMs});
}

int LoginThrottle::retryFor(const Slot &slot, qint64 nowMs) const
{
    const auto it = m_entries.constFind(slot.key);
    if (it == m_entries.cend())
        return 0;
    if (it->lockedUntilMs > nowMs)
        return ceilSeconds(it->lockedUntilMs - nowMs);
    const bool windowOpen = it->windowStartMs + slot.rule->windowMs > nowMs;
    const int failures = windowOpen ? it->failures : 0;
    // Guesses still being verified could each become the failure that locks the slot.
    if (failures + it->pending >= slot.rule->maxFailures)
        return 1;
    return 0;
}

int LoginThrottle::retryAfterSeconds(const QString &usernameKey, const QString &ip, qint64 nowMs) const
{
    return std::max({retryFor(pairSlot(usernameKey, ip), nowMs), retryFor(addressSlot(ip), nowMs), retryFor(accountSlot(usernameKey), nowMs)});
}

LoginThrottle::Entry &LoginThrottle::touch(const Slot &slot, qint64 nowMs)
{
    if (nowMs - m_lastSweepMs >= longestWindowMs())
        sweepExpired(nowMs);
    auto it = m_entries.find(slot.key);
    if (it == m_entries.end()) {
        if (int(m_entries.size()) >= m_limits.maxTrackedKeys)
            makeRoom(nowMs);
        Entry fresh;
        fresh.rule = slot.rule;
        it = m_entries.insert(slot.key, fresh);
    }
    it->lastTouchedMs = nowMs;
    return *it;
}

void LoginThrottle::attemptStarted(const QString &usernameKey, const QString &ip, qint64 nowMs)
{
    for (const Slot &slot : {pairSlot(usernameKey, ip), addressSlot(ip), accountSlot(usernameKey)})
        ++touch(slot, nowMs).pending;
}

void LoginThrottle::recordFailure(const Slot &slot, qint64 nowMs)
{
    Entry &e = touch(slot, nowMs);
    if (e.windowStartMs + slot.rule->windowMs <= nowMs) {
        e.windowStartMs = nowMs;
        e.failures = 0;
    }
    if (++e.failures >= slot.rule->maxFailures) {
        e.lockedUntilMs = nowMs + slot.rule->lockoutMs;
        e.failures = 0; // after the lockout the count starts afresh
        e.windowStartMs = nowMs;
    }
}

void LoginThrottle::release(const Slot &slot, qint64 nowMs, bool clearFailures)
{
    auto it = m_entries.find(slot.key);
    if (it == m_entries.end())
        return;
    it->pending = std::max(0, it->pending - 1);
    if (clearFailures)
        it->failures = 0;
    if (it->pending == 0 && it->failures == 0 && it->lockedUntilMs <= nowMs)
        m_entries.erase(it);
}

void LoginThrottle::attemptFailed(const QString &usernameKey, const QString &ip, qint64 nowMs)
{
    for (const Slot &slot : {pairSlot(usernameKey, ip), addressSlot(ip), accountSlot(usernameKey)}) {
        release(slot, nowMs, false);
        recordFailure(slot, nowMs);
    }
}

void LoginThrottle::attemptSucceeded(const QString &usernameKey, const QString &ip, qint64 nowMs)
{
    release(pairSlot(usernameKey, ip), nowMs, true);
    release(addressSlot(ip), nowMs, false);
    release(accountSlot(usernameKey), nowMs, false);
}

void LoginThrottle::attemptAbandoned(const QString &usernameKey, const QString &ip, qint64 nowMs)
{
    for (const Slot &slot : {pairSlot(usernameKey, ip), addressSlot(ip), accountSlot(usernameKey)})
        release(slot, nowMs, false);
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
