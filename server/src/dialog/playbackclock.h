#pragma once
// The server's estimate of the client's playback of her voice, from what was sent and when: a
// client plays each chunk as it arrives, after whatever it still has queued. Used while listening
// (hands-free): her voice may come back through the microphone while it plays (the echo guard),
// a voice while it plays is a barge-in, and a voice stop stores only what was played by then.
// Times are milliseconds of one monotonic clock (the session's).

#include <QtGlobal>

namespace tianyi {

class PlaybackClock
{
public:
    // A client starts playing a little after the first chunk is sent (the network, its jitter
    // buffer): assumed, so that "played" is not overestimated (only what was heard is stored).
    static constexpr qint64 kStartDelayMs = 100;
    // How long after the estimated end her voice may still come out of the speaker (audio output
    // latency, clock drift): the echo guard and barge-in stay on for it.
    static constexpr qint64 kAudibleMarginMs = 300;

    // durationMs of a turn's audio was sent at nowMs.
    void audioSent(int turn, qint64 durationMs, qint64 nowMs);
    // The client stops playing at once (it was told `stopped`).
    void flushed(qint64 nowMs);

    // How much of `turn`'s audio the client has played by nowMs (0 for another turn).
    qint64 playedMs(int turn, qint64 nowMs) const;
    // Until when her voice may be heard from the client.
    qint64 audibleUntilMs() const { return m_playEndMs + kAudibleMarginMs; }
    bool audible(qint64 nowMs) const { return m_playEndMs > 0 && nowMs < audibleUntilMs(); }

private:
    int m_turn = 0;
    qint64 m_turnAudioMs = 0;   // sent of m_turn
    qint64 m_playEndMs = 0;     // when the client will have played everything sent
};

} // namespace tianyi
