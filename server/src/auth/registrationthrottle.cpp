#include "auth/registrationthrottle.h"

#include <algorithm>

namespace tianyi {

RegistrationThrottle::RegistrationThrottle(Limits limits)
    : m_limits(limits)
{
}

qint64 RegistrationThrottle::waitMs(QVector<qint64> &times, const Rule &rule, qint64 nowMs)
{
    // Oldest first: drop those that left the window.
    const auto live = std::find_if(times.begin(), times.end(), [&](qint64 t) { return t + rule.windowMs > nowMs; });
    times.erase(times.begin(), live);
    if (times.size() < rule.max)
        return 0;
    return times.front() + rule.windowMs - nowMs;
}

void RegistrationThrottle::makeRoom(qint64 nowMs)
{
    for (auto it = m_byAddress.begin(); it != m_byAddress.end();) {
        waitMs(*it, m_limits.perAddress, nowMs);
        it = it->isEmpty() ? m_byAddress.erase(it) : std::next(it);
    }
    if (int(m_byAddress.size()) < m_limits.maxTrackedAddresses)
        return;
    // Still full (registrations from very many addresses within one window): forget the addresses
    // whose last registration is oldest. The global rule still bounds the total.
    QVector<std::pair<qint64, QString>> byAge;
    byAge.reserve(m_byAddress.size());
    for (auto it = m_byAddress.cbegin(); it != m_byAddress.cend(); ++it)
        byAge.append({it->back(), it.key()});
    const int drop = std::max(1, m_limits.maxTrackedAddresses / 10);
    std::nth_element(byAge.begin(), byAge.begin() + (drop - 1), byAge.end());
    for (int i = 0; i < drop; ++i)
        m_byAddress.remove(byAge[i].second);
}

int RegistrationThrottle::admit(const QString &ip, qint64 nowMs)
{
    const qint64 globalWait = waitMs(m_global, m_limits.global, nowMs);
    qint64 addressWait = 0;
    auto it = m_byAddress.find(ip);
    if (it != m_byAddress.end())
        addressWait = waitMs(*it, m_limits.perAddress, nowMs);
    const qint64 wait = std::max(globalWait, addressWait);
    if (wait > 0)
        return int(std::max<qint64>(1, (wait + 999) / 1000));
    if (it == m_byAddress.end()) {
        if (int(m_byAddress.size()) >= m_limits.maxTrackedAddresses)
            makeRoom(nowMs);
        it = m_byAddress.insert(ip, {});
    }
    it->append(nowMs);
    m_global.append(nowMs);
    return 0;
}

} // namespace tianyi
