#include "dialog/playbackclock.h"

#include <algorithm>

namespace tianyi {

void PlaybackClock::audioSent(int turn, qint64 durationMs, qint64 nowMs)
{
    if (turn != m_turn) {
        m_turn = turn;
        m_turnAudioMs = 0;
    }
    const qint64 startsAt = m_playEndMs > nowMs ? m_playEndMs : nowMs + kStartDelayMs;
    m_playEndMs = startsAt + durationMs;
    m_turnAudioMs += durationMs;
}

void PlaybackClock::flushed(qint64 nowMs)
{
    m_playEndMs = std::min(m_playEndMs, nowMs);
}

qint64 PlaybackClock::playedMs(int turn, qint64 nowMs) const
{
    if (turn != m_turn)
        return 0;
    const qint64 stillQueued = std::max<qint64>(0, m_playEndMs - nowMs);
    return std::clamp<qint64>(m_turnAudioMs - stillQueued, 0, m_turnAudioMs);
}

} // namespace tianyi
