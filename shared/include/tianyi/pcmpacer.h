#pragma once
// Streams PCM into a chat socket's listening stream in real time, as a microphone would: frame k
// (frameMs of audio) leaves once the monotonic clock has passed start + (k + 1) * frameMs, the moment
// a real microphone would have delivered it. A timer only wakes the pacer; the clock decides how many
// frames are due, so a late wake-up sends the frames it owes at once instead of stretching the
// recording (sleeping between frames would add every delay up).
//
// After the queued audio it goes on with the sound of a quiet room (digital silence or faint noise)
// until stop(): a hands-free microphone does not go quiet when the user does.
//
// Bounded: at most kMaxQueuedMs of audio waits in the queue (enqueue refuses more); sending goes
// through ChatClient's own outgoing-queue cap.

#include <QByteArray>
#include <QObject>
#include <QTimer>

namespace tianyi::client {

class ChatClient;

class PcmPacer : public QObject
{
    Q_OBJECT

public:
    static constexpr int kSampleRate = 16000;
    static constexpr int kDefaultFrameMs = 20;
    static constexpr qint64 kMaxQueuedMs = 15 * 60 * 1000;

    explicit PcmPacer(ChatClient *client, QObject *parent = nullptr);

    void setFrameMs(int ms);
    // The room after the queued audio: at or below -120 dBFS digital silence, else white noise at
    // this RMS level (deterministic per seed).
    void setRoomSound(double dbfs, quint32 seed = 1);

    // Appends 16 kHz s16le after what is queued. Returns the stream's audio time (ms since start())
    // at which it begins (the next frame when nothing waits), or -1 when that would exceed kMaxQueuedMs.
    qint64 enqueue(const QByteArray &pcm);

    // Starts the clock now. ownTimer false: someone else calls tick() (one timer for many pacers).
    void start(bool ownTimer = true);
    void stop();
    bool running() const { return m_running; }

    // Sends every frame due at monotonic time nowMs (monotonicMs()).
    void tick(qint64 nowMs);

    qint64 startedAtMs() const { return m_startMs; }
    // Audio time sent so far (ms since start of the stream).
    qint64 sentMs() const { return m_framesSent * m_frameMs; }
    // When audio time t was spoken, on the monotonic clock.
    qint64 spokenAtMs(qint64 audioMs) const { return m_startMs + audioMs; }

signals:
    // The last queued frame left (atMs: monotonic); room sound follows.
    void queueDrained(qint64 atMs);
    // The client refused a frame (socket closed, queue full); the pacer stopped.
    void sendFailed();

private:
    QByteArray nextFrame();

    ChatClient *m_client;
    QTimer m_timer;
    int m_frameMs = kDefaultFrameMs;
    QByteArray m_queue;
    qsizetype m_queueAt = 0;         // bytes of m_queue already sent
    QByteArray m_room;               // one second of room sound, looped
    qsizetype m_roomAt = 0;
    qint64 m_startMs = 0;
    qint64 m_framesSent = 0;
    bool m_running = false;
    bool m_drainedReported = false;
};

} // namespace tianyi::client
