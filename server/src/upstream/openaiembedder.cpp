#include "upstream/openaiembedder.h"

#include "base/logging.h"
#include "metrics/metrics.h"
#include "upstream/errorclassifier.h"
#include "upstream/requestscheduler.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTimer>
#include <vector>

namespace tianyi {

namespace {

const QString kRequests = QStringLiteral("tianyi_embedding_requests_total");
const QString kDuration = QStringLiteral("tianyi_embedding_duration_seconds");
constexpr qsizetype kMaxReplyBytes = 64 * 1024 * 1024;

UpstreamError makeError(UpstreamErrorKind kind, const QString &message)
{
    UpstreamError e;
    e.kind = kind;
    e.message = message;
    return e;
}

} // namespace

class OpenAiEmbeddingJob final : public EmbeddingJob
{
    Q_OBJECT
public:
    OpenAiEmbeddingJob(OpenAiEmbedder *embedder, const QStringList &texts, QObject *parent)
        : EmbeddingJob(parent), m_scheduler(embedder->m_scheduler), m_metrics(embedder->m_metrics), m_settings(embedder->m_settings),
          m_endpoint(embedder->m_endpoint), m_policy(embedder->m_retryPolicy), m_texts(texts)
    {
        m_clock.start();
        for (qsizetype i = 0; i < texts.size(); ++i) {
            if (texts[i].trimmed().isEmpty()) {
                failLater(makeError(UpstreamErrorKind::BadRequest,
                                    QStringLiteral("text #%1 of %2 is empty: the embeddings API refuses empty input").arg(i).arg(texts.size())));
                return;
            }
        }
        if (m_settings.dimensions <= 0) {
            failLater(makeError(UpstreamErrorKind::BadRequest, QStringLiteral("embedding.dimensions must be positive")));
            return;
        }
        m_results.resize(texts.size());
        const int batchSize = std::max(1, m_settings.batchSize);
        for (int offset = 0; offset < int(texts.size()); offset += batchSize)
            {
            Batch b;
            b.offset = offset;
            b.count = std::min(batchSize, int(texts.size()) - offset);
            m_batches.push_back(b);
        }
        if (m_batches.empty()) {
            QTimer::singleShot(0, this, [this] { succeed(); });
            return;
        }
        launchMore();
    }

    ~OpenAiEmbeddingJob() override
    {
        if (!m_ended) {
            m_ended = true;
            abortAll();
            m_metrics.increment(kRequests, {{QStringLiteral("outcome"), QStringLiteral("cancelled")}});
        }
    }

    void cancel() override
    {
        if (m_ended)
            return;
        m_ended = true;
        abortAll();
        m_metrics.increment(kRequests, {{QStringLiteral("outcome"), QStringLiteral("cancelled")}});
    }

private:
    struct Batch {
        int offset = 0;
        int count = 0;
        int attempt = 0;
        bool launched = false;
        bool done = false;
        bool timedOut = false;
        quint64 ticket = 0;
        QPointer<QNetworkReply> reply;
        QPointer<QTimer> timer;   // attempt timeout, or the wait before a retry
    };

    void failLater(const UpstreamError &e)
    {
        QTimer::singleShot(0, this, [this, e] { fail(e); });
    }

    void launchMore()
    {
        int running = 0;
        for (const Batch &b : m_batches)
            running += b.launched && !b.done;
        for (size_t i = 0; i < m_batches.size() && running < OpenAiEmbedder::kBatchesInFlightPerJob && !m_ended; ++i) {
            if (m_batches[i].launched)
                continue;
            m_batches[i].launched = true;
            ++running;
            submit(i);
        }
    }

    void submit(size_t index)
    {
        if (m_ended)
            return;
        if (!m_scheduler) {
            failLater(makeError(UpstreamErrorKind::Unavailable, QStringLiteral("the embeddings client was shut down")));
            return;
        }
        QPointer<OpenAiEmbeddingJob> self(this);
        const quint64 ticket = m_scheduler->submit([self, index](QNetworkAccessManager *nam) {
            if (self)
                self->start(index, nam);
        });
        m_batches[index].ticket = ticket;
        if (ticket == 0)
            failLater(makeError(UpstreamErrorKind::Unavailable, QStringLiteral("too many embedding requests waiting")));
    }

    void start(size_t index, QNetworkAccessManager *nam)
    {
        if (m_ended)
            return;
        Batch &b = m_batches[index];
        QJsonArray input;
        for (int i = 0; i < b.count; ++i)
            input.append(m_texts[b.offset + i]);
        const QJsonObject body{{QStringLiteral("model"), m_settings.model},
                               {QStringLiteral("input"), input},
                               {QStringLiteral("encoding_format"), QStringLiteral("float")}};
        QNetworkRequest req(m_endpoint);
        req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        req.setHeader(QNetworkRequest::UserAgentHeader, QByteArrayLiteral("tianyi/" TIANYI_VERSION));
        if (!m_settings.apiKey.isEmpty())
            req.setRawHeader("Authorization", "Bearer " + m_settings.apiKey);
        req.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
        b.timedOut = false;
        b.reply = nam->post(req, QJsonDocument(body).toJson(QJsonDocument::Compact));
        connect(b.reply, &QNetworkReply::finished, this, [this, index] { onFinished(index); });
        connect(b.reply, &QNetworkReply::downloadProgress, this, [this, index](qint64 received, qint64) {
            if (received > kMaxReplyBytes)
                attemptFailed(index, makeError(UpstreamErrorKind::Malformed, QStringLiteral("embeddings reply too large")));
        });
        if (m_settings.timeoutMs > 0) {
            if (b.timer) {
                b.timer->stop();
                b.timer->deleteLater();
            }
            b.timer = new QTimer(this);
            b.timer->setSingleShot(true);
            connect(b.timer, &QTimer::timeout, this, [this, index] {
                m_batches[index].timedOut = true;
                attemptFailed(index, makeError(UpstreamErrorKind::Timeout,
                                               QStringLiteral("no embeddings within %1 ms (embedding.timeout_ms)").arg(m_settings.timeoutMs)));
            });
            b.timer->start(m_settings.timeoutMs);
        }
    }

    void onFinished(size_t index)
    {
        if (m_ended)
            return;
        Batch &b = m_batches[index];
        QNetworkReply *reply = b.reply;
        if (!reply)
            return;
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray body = reply->readAll();
        if (status >= 300) {
            attemptFailed(index, classifyHttpError(status, body, reply->rawHeader("retry-after-ms"), reply->rawHeader("retry-after")));
            return;
        }
        if (reply->error() != QNetworkReply::NoError) {
            attemptFailed(index, classifyNetworkError(reply->error(), reply->errorString()));
            return;
        }
        QString why;
        if (!parseInto(b, body, &why)) {
            attemptFailed(index, makeError(UpstreamErrorKind::Malformed, why));
            return;
        }
        endAttempt(b);
        b.done = true;
        for (const Batch &x : m_batches) {
            if (!x.done) {
                launchMore();
                return;
            }
        }
        succeed();
    }

    bool parseInto(const Batch &b, const QByteArray &body, QString *why)
    {
        QJsonParseError perr{};
        const QJsonDocument doc = QJsonDocument::fromJson(body, &perr);
        if (perr.error != QJsonParseError::NoError || !doc.isObject()) {
            *why = QStringLiteral("embeddings reply is not a JSON object");
            return false;
        }
        const QJsonArray data = doc.object().value(QStringLiteral("data")).toArray();
        if (data.size() != b.count) {
            *why = QStringLiteral("embeddings reply has %1 vectors for %2 texts").arg(data.size()).arg(b.count);
            return false;
        }
        QVector<bool> seen(b.count, false);
        for (const QJsonValue &v : data) {
            const QJsonObject item = v.toObject();
            const QJsonValue indexValue = item.value(QStringLiteral("index"));
            const int index = indexValue.toInt(-1);
            if (!indexValue.isDouble() || index < 0 || index >= b.count || seen[index]) {
                *why = QStringLiteral("embeddings reply has a missing, duplicate or out-of-range index");
                return false;
            }
            seen[index] = true;
            const QJsonArray values = item.value(QStringLiteral("embedding")).toArray();
            if (values.size() != m_settings.dimensions) {
                *why = QStringLiteral("embedding has %1 dimensions, expected %2 (embedding.dimensions)").arg(values.size()).arg(m_settings.dimensions);
                return false;
            }
            Embedding vec(m_settings.dimensions);
            for (int i = 0; i < m_settings.dimensions; ++i) {
                const QJsonValue x = values.at(i);
                if (!x.isDouble()) {
                    *why = QStringLiteral("embedding value is not a number (encoding_format must be float)");
                    return false;
                }
                vec[i] = float(x.toDouble());
            }
            m_results[b.offset + index] = std::move(vec);
        }
        return true;
    }

    void attemptFailed(size_t index, const UpstreamError &error)
    {
        if (m_ended)
            return;
        Batch &b = m_batches[index];
        endAttempt(b);
        if (m_policy.shouldRetry(error, b.attempt)) {
            const int delay = m_policy.delayMs(b.attempt, error);
            ++b.attempt;
            qCInfo(lcEmbed).noquote() << QStringLiteral("embeddings attempt failed (%1): %2; retry %3/%4 in %5 ms")
                                             .arg(UpstreamError::kindName(error.kind), error.message)
                                             .arg(b.attempt)
                                             .arg(m_policy.maxRetries)
                                             .arg(delay);
            b.timer = new QTimer(this);
            b.timer->setSingleShot(true);
            connect(b.timer, &QTimer::timeout, this, [this, index] { submit(index); });
            b.timer->start(delay);
            return;
        }
        fail(error);
    }

    void endAttempt(Batch &b)
    {
        if (b.timer) {
            b.timer->stop();
            b.timer->deleteLater();
            b.timer = nullptr;
        }
        if (QNetworkReply *reply = b.reply.data()) {
            b.reply = nullptr;
            QObject::disconnect(reply, nullptr, this, nullptr);
            reply->abort();
            reply->deleteLater();
        }
        if (b.ticket) {
            if (m_scheduler)
                m_scheduler->release(b.ticket);
            b.ticket = 0;
        }
    }

    void abortAll()
    {
        for (Batch &b : m_batches)
            endAttempt(b);
    }

    void fail(const UpstreamError &error)
    {
        if (m_ended)
            return;
        m_ended = true;
        abortAll();
        m_metrics.increment(kRequests, {{QStringLiteral("outcome"), UpstreamError::kindName(error.kind)}});
        qCWarning(lcEmbed).noquote() << QStringLiteral("embeddings failed (%1): %2").arg(UpstreamError::kindName(error.kind), error.message);
        emit failed(error);
    }

    void succeed()
    {
        if (m_ended)
            return;
        m_ended = true;
        abortAll();
        m_metrics.increment(kRequests, {{QStringLiteral("outcome"), QStringLiteral("ok")}});
        m_metrics.observe(kDuration, {}, m_clock.nsecsElapsed() / 1e9);
        emit finished(m_results);
    }

    QPointer<RequestScheduler> m_scheduler;
    Metrics &m_metrics;
    const EmbeddingSettings m_settings;
    const QUrl m_endpoint;
    const RetryPolicy m_policy;
    const QStringList m_texts;
    std::vector<Batch> m_batches;
    QVector<Embedding> m_results;
    QElapsedTimer m_clock;
    bool m_ended = false;
};

OpenAiEmbedder::OpenAiEmbedder(const EmbeddingSettings &settings, Metrics &metrics, QObject *parent)
    : QObject(parent), m_settings(settings), m_metrics(metrics)
{
    qRegisterMetaType<tianyi::UpstreamError>();
    QString base = settings.baseUrl.trimmed();
    while (base.endsWith(QLatin1Char('/')))
        base.chop(1);
    m_endpoint = QUrl(base + QStringLiteral("/embeddings"));
    m_metrics.declareCounter(kRequests, QStringLiteral("Embedding jobs by outcome (ok, cancelled, or the error kind)."));
    m_metrics.declareHistogram(kDuration, QStringLiteral("Time to embed one job's texts, all batches."), Metrics::latencyBuckets());
    RequestScheduler::Options opts;
    opts.maxConcurrent = kMaxConcurrent;
    opts.maxWaiting = kMaxWaiting;
    opts.metricPrefix = QStringLiteral("tianyi_embedding");
    m_scheduler = new RequestScheduler(opts, metrics, this);
}

OpenAiEmbedder::~OpenAiEmbedder() = default;

EmbeddingJob *OpenAiEmbedder::embed(const QStringList &texts, QObject *parent)
{
    return new OpenAiEmbeddingJob(this, texts, parent);
}

} // namespace tianyi

#include "openaiembedder.moc"
