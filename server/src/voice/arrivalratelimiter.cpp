#include "voice/arrivalratelimiter.h"

#include <algorithm>

namespace tianyi::voice {

ArrivalRateLimiter::ArrivalRateLimiter(int bytesPerSecond, qint64 nowMs)
    : m_bytesPerSecond(std::max(1, bytesPerSecond))
    , m_capacity(m_bytesPerSecond * kBurstSeconds * 1000)
    , m_tokens(m_capacity)
    , m_lastMs(nowMs)
{
}

bool ArrivalRateLimiter::admit(qint64 bytes, qint64 nowMs)
{
    // A clock that went backwards refills nothing (it never should: the clock is monotonic).
    const qint64 elapsed = std::max<qint64>(0, nowMs - m_lastMs);
    m_lastMs = std::max(m_lastMs, nowMs);
    // elapsed is capped before multiplying: a stream idle for days must not overflow.
    m_tokens = std::min(m_capacity, m_tokens + std::min<qint64>(elapsed, kBurstSeconds * 1000) * m_bytesPerSecond);
    const qint64 needed = bytes * 1000;
    if (needed > m_tokens)
        return false;
    m_tokens -= needed;
    return true;
}

} // namespace tianyi::voice
