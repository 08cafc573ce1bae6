#pragma once
// The arrival-rate cap of a microphone stream (voice.max_bytes_per_second): a token bucket over
// wall time. It refills at the cap and holds kBurstSeconds of it, so a client that fell behind
// (a stalled network, a busy tab) and then sends its backlog at once is not cut, while one that
// sends faster than the cap for longer than the bucket lasts is.

#include <QtGlobal>

namespace tianyi::voice {

class ArrivalRateLimiter
{
public:
    // Seconds of the cap the bucket holds: a backlog this long (minus the real-time share) is
    // forgiven. Starts full.
    static constexpr int kBurstSeconds = 5;

    ArrivalRateLimiter(int bytesPerSecond, qint64 nowMs);

    // Takes `bytes` arriving at `nowMs` from the bucket; false (and nothing taken) when they do
    // not fit: the stream is over its cap.
    bool admit(qint64 bytes, qint64 nowMs);

private:
    // Tokens are byte-milliseconds (bytes x 1000), so a refill over any whole number of
    // milliseconds is exact.
    const qint64 m_bytesPerSecond;
    const qint64 m_capacity;
    qint64 m_tokens;
    qint64 m_lastMs;
};

} // namespace tianyi::voice
