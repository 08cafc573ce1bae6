#pragma once
// The one global TTS queue of the server, across every session.
//
// - Never more jobs running than TtsProvider::capacity().
// - Fair between users: users with waiting work are served round-robin, so one long reply cannot
//   starve another user's first sentence.
// - A turn's sentence 0 goes ahead of every other turn's later sentences (speech starts sooner).
// - Pipelining inside a turn: up to kMaxInFlightPerTurn sentences of one turn synthesize at once
//   (k+1 while k streams); delivery order is the caller's business (TurnPipeline plays in order).
// - cancelTurn() drops the turn's queued sentences and aborts its running jobs: no callback of
//   that turn runs afterwards.
// - At most chat.tts_queue_max sentences wait; submit() refuses more.
// - Metrics: tianyi_tts_scheduler_queue_length, tianyi_tts_scheduler_running (gauges),
//   tianyi_tts_scheduler_wait_seconds (histogram of the time from submit to start).
// Lives on the event-loop thread; not thread-safe.

#include "upstream/tts.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <deque>
#include <functional>

namespace tianyi {

class Metrics;

class TtsScheduler : public QObject
{
    Q_OBJECT
public:
    static constexpr int kMaxInFlightPerTurn = 2;

    struct Callbacks {
        std::function<void(int sampleRate, int channels)> format;
        std::function<void(const QByteArray &pcm)> pcm;
        std::function<void()> finished;
        std::function<void(const UpstreamError &error)> failed;
    };

    TtsScheduler(TtsProvider &provider, int maxQueued, Metrics *metrics, QObject *parent = nullptr);
    ~TtsScheduler() override;

    // turnKey: unique across all sessions. Returns false (nothing queued) when the queue is full.
    bool submit(quint64 turnKey, qint64 userId, int sentence, const TtsRequest &request, Callbacks callbacks);
    void cancelTurn(quint64 turnKey);

    int queued() const { return m_queued; }
    int running() const { return int(m_running.size()); }
    int capacity() const;
    // The rate announced to clients in hello: the last one a backend reported, until then the
    // provider's nominal rate. Every audio chunk carries its own rate; this is only the expectation.
    int announcedSampleRate() const { return m_lastSampleRate; }

private:
    struct Item {
        quint64 turnKey = 0;
        qint64 userId = 0;
        int sentence = 0;
        TtsRequest request;
        Callbacks callbacks;
        qint64 enqueuedMs = 0;
    };
    struct Running {
        quint64 turnKey = 0;
        Callbacks callbacks;
    };

    void pump();
    bool takeNext(Item *out);
    void start(Item item);
    void finishJob(TtsJob *job);
    void updateGauges();

    TtsProvider &m_provider;
    int m_maxQueued;
    Metrics *m_metrics;
    QHash<qint64, std::deque<Item>> m_waiting;   // per user, FIFO
    QList<qint64> m_rotation;                    // users with waiting work, next to serve first
    QHash<TtsJob *, Running> m_running;
    QHash<quint64, int> m_inFlight;              // per turn
    int m_queued = 0;
    int m_lastSampleRate;
    bool m_pumping = false;
};

} // namespace tianyi
