#pragma once
// TtsProvider over several GPT-SoVITS api_v2 instances (tts.base_urls).
//
// - Per-backend concurrency (tts.per_backend_concurrency, default 1: GPT-SoVITS mixes audio of
//   concurrent requests). capacity() = backends x per-backend concurrency.
// - One FIFO wait queue (capped, see setMaxQueued): a job waits until a backend it may use has a
//   free slot; jobs are started in arrival order; each job goes to the least-loaded usable backend
//   (ties rotate).
// - Failover: a job whose backend fails before any audio was delivered is retried on a backend it
//   has not tried yet (waiting for a slot if need be). Not retried: 400 parameter refusals and 422
//   (every backend would refuse them) and anything after audio reached the caller.
// - Circuit breaker per backend: tts.breaker_failures consecutive backend failures (transport,
//   timeout, 5xx, silent audio, "tts failed") open it for tts.breaker_rest_ms; then it is half-open:
//   exactly one trial request; success closes it, failure opens it again. When no backend can take
//   a job (all open, or all tried), the job fails at once (Unavailable, or the last backend error).
// - Health checks every tts.health_interval_ms of backends that are closed and idle:
//   GET {base}/tts without parameters. Any HTTP status (api_v2 answers 400 or a plain-text 500)
//   means the process is up; no answer (refused, reset, timeout) means it is down, which opens the
//   breaker at once. Busy backends are not probed: api_v2 runs inference on its event loop and
//   would not answer the probe anyway; their own requests tell.
// - cancel() aborts the HTTP request at once (GPT-SoVITS sees the connection close) or removes the
//   queued job; nothing is emitted afterwards. Deleting a job cancels it.
// - Metrics (when given): tianyi_tts_backend_state{backend,state} (1 for the current state of
//   closed|open|half_open, else 0), tianyi_tts_backend_up{backend} (last health check),
//   tianyi_tts_backend_in_flight{backend}, tianyi_tts_requests_total{backend,outcome}
//   (ok|cancelled|<error kind>), tianyi_tts_first_chunk_seconds{backend} (histogram),
//   tianyi_tts_failovers_total, tianyi_tts_queue_depth.
// - An empty request.voice.refAudioPath is filled from the voice book by request.emotion.
//
// Lives on one thread (the event loop); not thread-safe.

#include "base/config.h"
#include "upstream/tts.h"
#include "upstream/ttsvoicebook.h"

#include <QList>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrl>
#include <memory>
#include <optional>
#include <vector>

class QNetworkAccessManager;
class QNetworkReply;

namespace tianyi {

class Metrics;
class GptSovitsRequest;
class GptSovitsPoolJob;

class GptSovitsPool : public QObject, public TtsProvider
{
    Q_OBJECT
public:
    enum class BreakerState { Closed, Open, HalfOpen };
    Q_ENUM(BreakerState)

    static constexpr int kDefaultMaxQueued = 1000;

    GptSovitsPool(const TtsSettings &settings, Metrics *metrics, QObject *parent = nullptr);
    ~GptSovitsPool() override;

    void setVoiceBook(std::optional<TtsVoiceBook> book) { m_voiceBook = std::move(book); }
    void setMaxQueued(int maxQueued) { m_maxQueued = maxQueued; }
    // Extra request headers on every /tts request (tests use the fake's knobs).
    void setExtraHeaders(QList<QPair<QByteArray, QByteArray>> headers) { m_extraHeaders = std::move(headers); }

    QString name() const override;
    bool isBuiltIn() const override { return false; }
    int capacity() const override;
    TtsJob *synthesize(const TtsRequest &request, QObject *parent) override;

    // Introspection (tests, admin, /readyz).
    int backendCount() const { return int(m_backends.size()); }
    QString backendUrl(int index) const;
    BreakerState backendState(int index) const;
    int backendInFlight(int index) const;
    bool backendUp(int index) const;      // last health check (true until one failed)
    int queueDepth() const { return int(m_queue.size()); }
    // Runs a round of health checks now (also runs on the timer).
    void checkHealth();

    static QString stateName(BreakerState state);

signals:
    void backendStateChanged(int index, tianyi::GptSovitsPool::BreakerState state);

private:
    friend class GptSovitsPoolJob;
    struct Backend;

    void enqueue(GptSovitsPoolJob *job, bool front);
    void dequeue(GptSovitsPoolJob *job);
    void schedule();
    int pickBackend(const GptSovitsPoolJob *job, bool *anyUsable) const;
    bool usable(const Backend &b) const;
    void startOn(GptSovitsPoolJob *job, int index);
    void onJobFormat(GptSovitsPoolJob *job);
    void onJobFinished(GptSovitsPoolJob *job);
    void onJobFailed(GptSovitsPoolJob *job, const UpstreamError &error);
    void releaseSlot(GptSovitsPoolJob *job, const QString &outcome);
    void jobCancelled(GptSovitsPoolJob *job);
    void recordSuccess(int index);
    void recordFailure(int index, const QString &why);
    void setState(int index, BreakerState state);
    void onHealthReply(int index, QNetworkReply *reply);
    void updateQueueGauge();
    void updateInFlightGauge(int index);

    TtsSettings m_settings;
    Metrics *m_metrics;
    std::optional<TtsVoiceBook> m_voiceBook;
    QList<QPair<QByteArray, QByteArray>> m_extraHeaders;
    int m_maxQueued = kDefaultMaxQueued;
    std::vector<std::unique_ptr<Backend>> m_backends;
    QList<GptSovitsPoolJob *> m_queue;
    QList<GptSovitsPoolJob *> m_running;
    QNetworkAccessManager *m_healthNam = nullptr;
    QTimer m_healthTimer;
    int m_rotate = 0;
    bool m_scheduling = false;
    bool m_destroying = false;
};

} // namespace tianyi
