#include "upstream/gptsovitspool.h"

#include "base/logging.h"
#include "metrics/metrics.h"
#include "upstream/gptsovitsrequest.h"
#include "upstream/speechhttp.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

namespace tianyi {

namespace {
constexpr int kConnectionsPerManager = 6; // QNetworkAccessManager's per-host HTTP/1.1 limit in Qt 6.4

const QString kState = QStringLiteral("tianyi_tts_backend_state");
const QString kUp = QStringLiteral("tianyi_tts_backend_up");
const QString kInFlight = QStringLiteral("tianyi_tts_backend_in_flight");
const QString kRequests = QStringLiteral("tianyi_tts_requests_total");
const QString kFirstChunk = QStringLiteral("tianyi_tts_first_chunk_seconds");
const QString kFailovers = QStringLiteral("tianyi_tts_failovers_total");
const QString kQueueDepth = QStringLiteral("tianyi_tts_queue_depth");
} // namespace

// One sentence handed to the pool. Its state is the pool's business; it only forwards signals.
class GptSovitsPoolJob : public TtsJob
{
public:
    GptSovitsPoolJob(GptSovitsPool *pool, TtsRequest request, QObject *parent)
        : TtsJob(parent), m_pool(pool), m_request(std::move(request))
    {
    }
    ~GptSovitsPoolJob() override { detach(); }

    void cancel() override
    {
        if (m_cancelled)
            return;
        m_cancelled = true;
        detach();
    }

    void detach()
    {
        GptSovitsPool *pool = m_pool;
        m_pool = nullptr;
        if (pool && !m_done)
            pool->jobCancelled(this);
        m_done = true;
    }

    GptSovitsPool *m_pool;
    TtsRequest m_request;
    QList<int> m_tried;
    GptSovitsRequest *m_http = nullptr;
    int m_backend = -1;
    int m_manager = -1;
    bool m_trial = false;
    bool m_delivered = false;
    bool m_cancelled = false;
    bool m_done = false;
    std::optional<UpstreamError> m_lastError;
};

struct GptSovitsPool::Backend {
    QUrl url;
    QString label;
    BreakerState state = BreakerState::Closed;
    int inFlight = 0;
    int consecutiveFailures = 0;
    bool trialInFlight = false;
    bool up = true;
    QTimer *restTimer = nullptr;
    QList<QNetworkAccessManager *> managers;
    QList<int> managerLoad;
    QPointer<QNetworkReply> healthReply;
};

QString GptSovitsPool::stateName(BreakerState state)
{
    switch (state) {
    case BreakerState::Closed: return QStringLiteral("closed");
    case BreakerState::Open: return QStringLiteral("open");
    case BreakerState::HalfOpen: return QStringLiteral("half_open");
    }
    return QStringLiteral("closed");
}

GptSovitsPool::GptSovitsPool(const TtsSettings &settings, Metrics *metrics, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_metrics(metrics)
{
    if (m_metrics) {
        m_metrics->declareGauge(kState, QStringLiteral("GPT-SoVITS backend circuit breaker: 1 for the current state (closed, open, half_open)."));
        m_metrics->declareGauge(kUp, QStringLiteral("GPT-SoVITS backend answered its last health check (1) or not (0)."));
        m_metrics->declareGauge(kInFlight, QStringLiteral("GPT-SoVITS requests running per backend."));
        m_metrics->declareCounter(kRequests, QStringLiteral("GPT-SoVITS requests by backend and outcome (ok, cancelled, or the error kind)."));
        m_metrics->declareHistogram(kFirstChunk, QStringLiteral("Time from sending a /tts request to its first audio, seconds."),
                                    Metrics::latencyBuckets());
        m_metrics->declareCounter(kFailovers, QStringLiteral("TTS jobs moved to another backend after a failure before any audio."));
        m_metrics->declareGauge(kQueueDepth, QStringLiteral("TTS jobs waiting for a free GPT-SoVITS slot."));
        m_metrics->setGauge(kQueueDepth, {}, 0);
    }
    const int perBackend = qMax(1, m_settings.perBackendConcurrency);
    const int managersPerBackend = (perBackend + kConnectionsPerManager - 1) / kConnectionsPerManager;
    for (const QString &u : m_settings.baseUrls) {
        auto b = std::make_unique<Backend>();
        b->url = QUrl(u);
        b->label = b->url.toString(QUrl::RemoveUserInfo);
        b->restTimer = new QTimer(this);
        b->restTimer->setSingleShot(true);
        const int index = int(m_backends.size());
        connect(b->restTimer, &QTimer::timeout, this, [this, index] {
            if (m_backends[size_t(index)]->state == BreakerState::Open) {
                setState(index, BreakerState::HalfOpen);
                schedule();
            }
        });
        for (int i = 0; i < managersPerBackend; ++i) {
            b->managers.append(new QNetworkAccessManager(this));
            b->managerLoad.append(0);
        }
        m_backends.push_back(std::move(b));
        if (m_metrics) {
            m_metrics->setGauge(kInFlight, {{QStringLiteral("backend"), m_backends.back()->label}}, 0);
            m_metrics->setGauge(kUp, {{QStringLiteral("backend"), m_backends.back()->label}}, 1);
        }
        setState(index, BreakerState::Closed);
    }
    m_healthNam = new QNetworkAccessManager(this);
    connect(&m_healthTimer, &QTimer::timeout, this, &GptSovitsPool::checkHealth);
    if (!m_backends.empty() && m_settings.healthIntervalMs > 0)
        m_healthTimer.start(m_settings.healthIntervalMs);
}

GptSovitsPool::~GptSovitsPool()
{
    m_destroying = true;
    m_healthTimer.stop();
    for (auto &b : m_backends) {
        if (b->healthReply) {
            QNetworkReply *r = b->healthReply;
            disconnect(r, nullptr, this, nullptr);
            r->abort();
        }
    }
    // Jobs outlive the pool only when their owner keeps them: they fail (queued, so not inside this
    // destructor) instead of hanging.
    const QList<GptSovitsPoolJob *> jobs = m_running + m_queue;
    m_running.clear();
    m_queue.clear();
    for (GptSovitsPoolJob *job : jobs) {
        if (job->m_http) {
            job->m_http->abort();
            delete job->m_http;
            job->m_http = nullptr;
        }
        job->m_pool = nullptr;
        job->m_done = true;
        QMetaObject::invokeMethod(job, [job] {
            if (!job->m_cancelled)
                emit job->failed({UpstreamErrorKind::Unavailable, QStringLiteral("the GPT-SoVITS pool was shut down"), 0});
        }, Qt::QueuedConnection);
    }
}

QString GptSovitsPool::name() const
{
    QStringList urls;
    for (const auto &b : m_backends)
        urls << b->label;
    return QStringLiteral("GPT-SoVITS api_v2 (%1; %2 at a time each)").arg(urls.join(QStringLiteral(", "))).arg(qMax(1, m_settings.perBackendConcurrency));
}

int GptSovitsPool::capacity() const
{
    return int(m_backends.size()) * qMax(1, m_settings.perBackendConcurrency);
}

QString GptSovitsPool::backendUrl(int index) const
{
    return index >= 0 && size_t(index) < m_backends.size() ? m_backends[size_t(index)]->label : QString();
}

GptSovitsPool::BreakerState GptSovitsPool::backendState(int index) const
{
    return index >= 0 && size_t(index) < m_backends.size() ? m_backends[size_t(index)]->state : BreakerState::Open;
}

int GptSovitsPool::backendInFlight(int index) const
{
    return index >= 0 && size_t(index) < m_backends.size() ? m_backends[size_t(index)]->inFlight : 0;
}

bool GptSovitsPool::backendUp(int index) const
{
    return index >= 0 && size_t(index) < m_backends.size() && m_backends[size_t(index)]->up;
}

TtsJob *GptSovitsPool::synthesize(const TtsRequest &request, QObject *parent)
{
    TtsRequest r = request;
    if (r.voice.refAudioPath.isEmpty() && m_voiceBook)
        r.voice = m_voiceBook->voiceFor(r.emotion);
    auto *job = new GptSovitsPoolJob(this, r, parent);
    auto failLater = [job](UpstreamError e) {
        job->m_pool = nullptr;
        job->m_done = true;
        QMetaObject::invokeMethod(job, [job, e] {
            if (!job->m_cancelled)
                emit job->failed(e);
        }, Qt::QueuedConnection);
    };
    if (m_backends.empty()) {
        failLater({UpstreamErrorKind::Unavailable, QStringLiteral("no GPT-SoVITS backend is configured (tts.base_urls)"), 0});
    } else if (m_queue.size() >= m_maxQueued) {
        qCWarning(lcTts) << "TTS queue full:" << m_queue.size() << "jobs waiting; refusing" << request.correlationId;
        failLater({UpstreamErrorKind::Unavailable, QStringLiteral("the TTS queue is full (%1 waiting)").arg(m_queue.size()), 0});
    } else {
        enqueue(job, false);
        schedule();
    }
    return job;
}

void GptSovitsPool::enqueue(GptSovitsPoolJob *job, bool front)
{
    if (front)
        m_queue.prepend(job);
    else
        m_queue.append(job);
    updateQueueGauge();
}

void GptSovitsPool::dequeue(GptSovitsPoolJob *job)
{
    m_queue.removeOne(job);
    updateQueueGauge();
}

bool GptSovitsPool::usable(const Backend &b) const
{
    return b.state != BreakerState::Open;
}

int GptSovitsPool::pickBackend(const GptSovitsPoolJob *job, bool *anyUsable) const
{
    const int n = int(m_backends.size());
    const int perBackend = qMax(1, m_settings.perBackendConcurrency);
    int best = -1;
    for (int k = 0; k < n; ++k) {
        const int idx = (m_rotate + k) % n;
        if (job->m_tried.contains(idx))
            continue;
        const Backend &b = *m_backends[size_t(idx)];
        if (!usable(b))
            continue;
        *anyUsable = true;
        const bool free = b.state == BreakerState::HalfOpen ? (!b.trialInFlight && b.inFlight < perBackend) : b.inFlight < perBackend;
        if (free && (best < 0 || b.inFlight < m_backends[size_t(best)]->inFlight))
            best = idx;
    }
    return best;
}

void GptSovitsPool::schedule()
{
    if (m_scheduling || m_destroying)
        return;
    m_scheduling = true;
    for (int i = 0; i < m_queue.size();) {
        GptSovitsPoolJob *job = m_queue[i];
        bool anyUsable = false;
        const int idx = pickBackend(job, &anyUsable);
        if (idx >= 0) {
            m_queue.removeAt(i);
            m_rotate = (idx + 1) % int(m_backends.size());
            startOn(job, idx);
            continue;
        }
        if (anyUsable) {
            ++i;
            continue;
        }
        // Nothing can ever take this job: every backend it has not tried is resting.
        m_queue.removeAt(i);
        UpstreamError e;
        if (job->m_lastError) {
            e = *job->m_lastError;
            e.message += QStringLiteral(" (tried %1 of %2 backends)").arg(job->m_tried.size()).arg(m_backends.size());
        } else {
            e = {UpstreamErrorKind::Unavailable,
                 QStringLiteral("all %1 GPT-SoVITS backends are resting after failures").arg(m_backends.size()), 0};
        }
        job->m_pool = nullptr;
        job->m_done = true;
        QMetaObject::invokeMethod(job, [job, e] {
            if (!job->m_cancelled)
                emit job->failed(e);
        }, Qt::QueuedConnection);
    }
    m_scheduling = false;
    updateQueueGauge();
}

void GptSovitsPool::startOn(GptSovitsPoolJob *job, int index)
{
    Backend &b = *m_backends[size_t(index)];
    ++b.inFlight;
    job->m_backend = index;
    job->m_tried.append(index);
    if (b.state == BreakerState::HalfOpen) {
        b.trialInFlight = true;
        job->m_trial = true;
    }
    int manager = 0;
    for (int i = 1; i < b.managers.size(); ++i) {
        if (b.managerLoad[i] < b.managerLoad[manager])
            manager = i;
    }
    ++b.managerLoad[manager];
    job->m_manager = manager;
    m_running.append(job);
    updateInFlightGauge(index);

    GptSovitsRequest::Options options;
    options.streaming = m_settings.streaming;
    options.timeoutMs = m_settings.timeoutMs;
    options.extraHeaders = m_extraHeaders;
    auto *http = new GptSovitsRequest(b.managers[manager], b.url, job->m_request, options, job);
    job->m_http = http;
    connect(http, &GptSovitsRequest::format, job, [this, job](int sampleRate, int channels) {
        onJobFormat(job);
        emit job->format(sampleRate, channels);
    });
    connect(http, &GptSovitsRequest::pcm, job, [job](const QByteArray &samples) { emit job->pcm(samples); });
    connect(http, &GptSovitsRequest::finished, job, [this, job] { onJobFinished(job); });
    connect(http, &GptSovitsRequest::failed, job, [this, job](const UpstreamError &e) { onJobFailed(job, e); });
    qCDebug(lcTts).noquote() << "TTS" << job->m_request.correlationId << "on" << b.label << (job->m_trial ? "(half-open trial)" : "");
    http->start();
}

void GptSovitsPool::onJobFormat(GptSovitsPoolJob *job)
{
    job->m_delivered = true;
    if (m_metrics && job->m_http && job->m_backend >= 0)
        m_metrics->observe(kFirstChunk, {{QStringLiteral("backend"), m_backends[size_t(job->m_backend)]->label}},
                           double(job->m_http->firstAudioMs()) / 1000.0);
}

void GptSovitsPool::releaseSlot(GptSovitsPoolJob *job, const QString &outcome)
{
    const int index = job->m_backend;
    if (index < 0)
        return;
    Backend &b = *m_backends[size_t(index)];
    --b.inFlight;
    if (job->m_manager >= 0 && job->m_manager < b.managerLoad.size())
        --b.managerLoad[job->m_manager];
    if (job->m_trial) {
        b.trialInFlight = false;
        job->m_trial = false;
    }
    job->m_backend = -1;
    job->m_manager = -1;
    m_running.removeOne(job);
    if (GptSovitsRequest *http = job->m_http) {
        job->m_http = nullptr;
        disconnect(http, nullptr, job, nullptr);
        http->abort();
        http->deleteLater(); // we may be inside one of its signals
    }
    if (m_metrics)
        m_metrics->increment(kRequests, {{QStringLiteral("backend"), b.label}, {QStringLiteral("outcome"), outcome}});
    updateInFlightGauge(index);
}

void GptSovitsPool::onJobFinished(GptSovitsPoolJob *job)
{
    const int index = job->m_backend;
    releaseSlot(job, QStringLiteral("ok"));
    if (index >= 0)
        recordSuccess(index);
    job->m_pool = nullptr;
    job->m_done = true;
    schedule();
    emit job->finished(); // last: the receiver may delete the job
}

void GptSovitsPool::onJobFailed(GptSovitsPoolJob *job, const UpstreamError &error)
{
    const int index = job->m_backend;
    const bool backendFault = job->m_http ? job->m_http->backendFault() : true;
    releaseSlot(job, UpstreamError::kindName(error.kind));
    if (index >= 0) {
        if (backendFault)
            recordFailure(index, error.message);
        else
            recordSuccess(index); // it answered: the request was refused, the backend is fine
    }
    job->m_lastError = error;
    if (!job->m_delivered && backendFault && !job->m_cancelled && size_t(job->m_tried.size()) < m_backends.size()) {
        qCWarning(lcTts).noquote() << "TTS" << job->m_request.correlationId << "failed before any audio on" << backendUrl(index) << ":"
                                   << error.message << "- trying another backend";
        if (m_metrics)
            m_metrics->increment(kFailovers);
        enqueue(job, true);
        schedule();
        return;
    }
    qCWarning(lcTts).noquote() << "TTS" << job->m_request.correlationId << "failed on" << backendUrl(index) << ":" << error.message;
    job->m_pool = nullptr;
    job->m_done = true;
    schedule();
    emit job->failed(error); // last: the receiver may delete the job
}

void GptSovitsPool::jobCancelled(GptSovitsPoolJob *job)
{
    if (m_queue.contains(job)) {
        dequeue(job);
        return;
    }
    if (job->m_backend >= 0) {
        releaseSlot(job, QStringLiteral("cancelled"));
        schedule();
    }
}

void GptSovitsPool::recordSuccess(int index)
{
    Backend &b = *m_backends[size_t(index)];
    b.consecutiveFailures = 0;
    if (b.state != BreakerState::Closed) {
        qCInfo(lcTts).noquote() << "GPT-SoVITS backend" << b.label << "is healthy again";
        b.restTimer->stop();
        setState(index, BreakerState::Closed);
    }
}

void GptSovitsPool::recordFailure(int index, const QString &why)
{
    Backend &b = *m_backends[size_t(index)];
    ++b.consecutiveFailures;
    const bool open = b.state == BreakerState::HalfOpen
                      || (b.state == BreakerState::Closed && b.consecutiveFailures >= qMax(1, m_settings.breakerFailures));
    if (!open)
        return;
    qCWarning(lcTts).noquote() << "resting GPT-SoVITS backend" << b.label << "for" << m_settings.breakerRestMs << "ms after"
                               << b.consecutiveFailures << "consecutive failures; last:" << why;
    setState(index, BreakerState::Open);
    b.restTimer->start(m_settings.breakerRestMs);
}

void GptSovitsPool::setState(int index, BreakerState state)
{
    Backend &b = *m_backends[size_t(index)];
    const bool changed = b.state != state;
    b.state = state;
    if (state != BreakerState::HalfOpen)
        b.trialInFlight = false;
    if (m_metrics) {
        for (BreakerState s : {BreakerState::Closed, BreakerState::Open, BreakerState::HalfOpen})
            m_metrics->setGauge(kState, {{QStringLiteral("backend"), b.label}, {QStringLiteral("state"), stateName(s)}}, s == state ? 1 : 0);
    }
    if (changed)
        emit backendStateChanged(index, state);
}

void GptSovitsPool::checkHealth()
{
    for (size_t i = 0; i < m_backends.size(); ++i) {
        Backend &b = *m_backends[i];
        if (b.state != BreakerState::Closed || b.inFlight > 0 || b.healthReply)
            continue;
        QNetworkRequest req(speech::joinUrl(b.url, QStringLiteral("tts")));
        req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        req.setTransferTimeout(qBound(1000, m_settings.healthIntervalMs, 5000));
        QNetworkReply *reply = m_healthNam->get(req);
        b.healthReply = reply;
        const int index = int(i);
        connect(reply, &QNetworkReply::finished, this, [this, index, reply] { onHealthReply(index, reply); });
    }
}

void GptSovitsPool::onHealthReply(int index, QNetworkReply *reply)
{
    reply->deleteLater();
    Backend &b = *m_backends[size_t(index)];
    b.healthReply = nullptr;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const bool up = status > 0;
    if (up != b.up)
        qCInfo(lcTts).noquote() << "GPT-SoVITS backend" << b.label << (up ? "is up" : "is down:") << (up ? QString() : reply->errorString());
    b.up = up;
    if (m_metrics)
        m_metrics->setGauge(kUp, {{QStringLiteral("backend"), b.label}}, up ? 1 : 0);
    if (!up && b.state == BreakerState::Closed) {
        // The process does not answer at all: do not send it users' sentences until it rested.
        b.consecutiveFailures = qMax(b.consecutiveFailures, qMax(1, m_settings.breakerFailures) - 1);
        recordFailure(index, QStringLiteral("health check: ") + reply->errorString());
    }
}

void GptSovitsPool::updateQueueGauge()
{
    if (m_metrics)
        m_metrics->setGauge(kQueueDepth, {}, double(m_queue.size()));
}

void GptSovitsPool::updateInFlightGauge(int index)
{
    if (m_metrics)
        m_metrics->setGauge(kInFlight, {{QStringLiteral("backend"), m_backends[size_t(index)]->label}},
                            double(m_backends[size_t(index)]->inFlight));
}

} // namespace tianyi
