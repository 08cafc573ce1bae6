#include "dialog/ttsscheduler.h"

#include "base/logging.h"
#include "metrics/metrics.h"

#include <QDateTime>
#include <algorithm>

namespace tianyi {

namespace {
const QString kQueueGauge = QStringLiteral("tianyi_tts_scheduler_queue_length");
const QString kRunningGauge = QStringLiteral("tianyi_tts_scheduler_running");
const QString kWaitHistogram = QStringLiteral("tianyi_tts_scheduler_wait_seconds");

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}
} // namespace

TtsScheduler::TtsScheduler(TtsProvider &provider, int maxQueued, Metrics *metrics, QObject *parent)
    : QObject(parent)
    , m_provider(provider)
    , m_maxQueued(maxQueued)
    , m_metrics(metrics)
    , m_lastSampleRate(provider.nominalSampleRate())
{
    if (m_metrics) {
        m_metrics->declareGauge(kQueueGauge, QStringLiteral("Sentences waiting for speech synthesis, all sessions together."));
        m_metrics->declareGauge(kRunningGauge, QStringLiteral("Speech synthesis jobs running."));
        m_metrics->declareHistogram(kWaitHistogram, QStringLiteral("Time a sentence waited in the TTS queue before synthesis started."),
                                    Metrics::latencyBuckets());
        updateGauges();
    }
}

TtsScheduler::~TtsScheduler()
{
    const auto jobs = m_running.keys();
    m_running.clear();
    for (TtsJob *job : jobs) {
        job->disconnect(this);
        job->cancel();
        delete job;
    }
}

int TtsScheduler::capacity() const
{
    return std::max(1, m_provider.capacity());
}

bool TtsScheduler::submit(quint64 turnKey, qint64 userId, int sentence, const TtsRequest &request, Callbacks callbacks)
{
    if (m_queued >= m_maxQueued)
        return false;
    Item item;
    item.turnKey = turnKey;
    item.userId = userId;
    item.sentence = sentence;
    item.request = request;
    item.callbacks = std::move(callbacks);
    item.enqueuedMs = nowMs();
    auto &queue = m_waiting[userId];
    queue.push_back(std::move(item));
    if (!m_rotation.contains(userId))
        m_rotation.append(userId);
    ++m_queued;
    pump();
    updateGauges();
    return true;
}

void TtsScheduler::cancelTurn(quint64 turnKey)
{
    for (auto it = m_waiting.begin(); it != m_waiting.end();) {
        auto &queue = it.value();
        const auto before = queue.size();
        queue.erase(std::remove_if(queue.begin(), queue.end(), [turnKey](const Item &i) { return i.turnKey == turnKey; }), queue.end());
        m_queued -= int(before - queue.size());
        if (queue.empty()) {
            m_rotation.removeAll(it.key());
            it = m_waiting.erase(it);
        } else {
            ++it;
        }
    }
    QList<TtsJob *> toCancel;
    for (auto it = m_running.cbegin(); it != m_running.cend(); ++it) {
        if (it.value().turnKey == turnKey)
            toCancel << it.key();
    }
    for (TtsJob *job : toCancel) {
        m_running.remove(job);
        job->disconnect(this);
        job->cancel();
        job->deleteLater();
    }
    m_inFlight.remove(turnKey);
    pump();
    updateGauges();
}

bool TtsScheduler::takeNext(Item *out)
{
    // Pass 1: a first sentence of any turn, users in rotation order. Pass 2: anything allowed.
    for (int pass = 0; pass < 2; ++pass) {
        for (int r = 0; r < m_rotation.size(); ++r) {
            const qint64 user = m_rotation.at(r);
            auto &queue = m_waiting[user];
            for (auto it = queue.begin(); it != queue.end(); ++it) {
                if (pass == 0 && it->sentence != 0)
                    continue;
                if (m_inFlight.value(it->turnKey) >= kMaxInFlightPerTurn)
                    continue;
                *out = std::move(*it);
                queue.erase(it);
                --m_queued;
                m_rotation.removeAt(r);
                if (queue.empty())
                    m_waiting.remove(user);
                else
                    m_rotation.append(user); // served: to the back of the line
                return true;
            }
        }
    }
    return false;
}

void TtsScheduler::pump()
{
    if (m_pumping)
        return;
    m_pumping = true;
    Item item;
    while (int(m_running.size()) < capacity() && takeNext(&item))
        start(std::move(item));
    m_pumping = false;
}

void TtsScheduler::start(Item item)
{
    if (m_metrics)
        m_metrics->observe(kWaitHistogram, {}, double(nowMs() - item.enqueuedMs) / 1000.0);
    TtsJob *job = m_provider.synthesize(item.request, this);
    Running running;
    running.turnKey = item.turnKey;
    running.callbacks = std::move(item.callbacks);
    m_running.insert(job, running);
    ++m_inFlight[item.turnKey];
    connect(job, &TtsJob::format, this, [this, job](int sampleRate, int channels) {
        if (sampleRate > 0)
            m_lastSampleRate = sampleRate;
        const auto it = m_running.constFind(job);
        if (it == m_running.cend() || !it->callbacks.format)
            return;
        const auto callback = it->callbacks.format; // the call may cancel the turn and erase the entry
        callback(sampleRate, channels);
    });
    connect(job, &TtsJob::pcm, this, [this, job](const QByteArray &samples) {
        const auto it = m_running.constFind(job);
        if (it == m_running.cend() || !it->callbacks.pcm)
            return;
        const auto callback = it->callbacks.pcm; // the call may cancel the turn and erase the entry
        callback(samples);
    });
    connect(job, &TtsJob::finished, this, [this, job]() {
        const auto it = m_running.constFind(job);
        if (it == m_running.cend())
            return;
        const Callbacks callbacks = it->callbacks;
        finishJob(job);
        if (callbacks.finished)
            callbacks.finished();
        pump();
        updateGauges();
    });
    connect(job, &TtsJob::failed, this, [this, job](const UpstreamError &error) {
        const auto it = m_running.constFind(job);
        if (it == m_running.cend())
            return;
        const Callbacks callbacks = it->callbacks;
        finishJob(job);
        if (callbacks.failed)
            callbacks.failed(error);
        pump();
        updateGauges();
    });
}

void TtsScheduler::finishJob(TtsJob *job)
{
    const Running running = m_running.take(job);
    auto it = m_inFlight.find(running.turnKey);
    if (it != m_inFlight.end() && --it.value() <= 0)
        m_inFlight.erase(it);
    job->disconnect(this);
    job->deleteLater();
}

void TtsScheduler::updateGauges()
{
    if (!m_metrics)
        return;
    m_metrics->setGauge(kQueueGauge, {}, double(m_queued));
    m_metrics->setGauge(kRunningGauge, {}, double(m_running.size()));
}

} // namespace tianyi
