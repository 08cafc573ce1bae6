#include "upstream/openaillmclient.h"

#include "base/logging.h"
#include "metrics/metrics.h"
#include "tianyi/sseparser.h"
#include "upstream/errorclassifier.h"
#include "upstream/openaichunk.h"
#include "upstream/requestscheduler.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <optional>

namespace tianyi {

namespace {

const QString kRequests = QStringLiteral("tianyi_llm_requests_total");
const QString kRetries = QStringLiteral("tianyi_llm_retries_total");
const QString kTtft = QStringLiteral("tianyi_llm_ttft_seconds");

constexpr qsizetype kMaxErrorBody = 64 * 1024;
constexpr qsizetype kMaxJsonBody = 4 * 1024 * 1024;
constexpr int kLingerAfterDoneMs = 5000;

QUrl chatEndpoint(const QString &baseUrl)
{
    QString base = baseUrl.trimmed();
    while (base.endsWith(QLatin1Char('/')))
        base.chop(1);
    return QUrl(base + QStringLiteral("/chat/completions"));
}

} // namespace

// One streamed completion: one or more HTTP attempts, until the first delta at most 1 + max_retries.
class OpenAiLlmStream final : public LlmStream
{
    Q_OBJECT
public:
    OpenAiLlmStream(OpenAiLlmClient *client, QByteArray body, QString correlationId, QObject *parent)
        : LlmStream(parent), m_client(client), m_scheduler(client->m_scheduler), m_metrics(client->m_metrics),
          m_settings(client->m_settings), m_endpoint(client->m_endpoint), m_logEndpoint(client->endpointForLogs()),
          m_policy(client->m_retryPolicy), m_body(std::move(body)), m_cid(std::move(correlationId))
    {
        m_clock.start();
        m_firstByteTimer.setSingleShot(true);
        m_inactivityTimer.setSingleShot(true);
        m_retryTimer.setSingleShot(true);
        connect(&m_firstByteTimer, &QTimer::timeout, this, [this] {
            onTimeout(QStringLiteral("no answer within %1 ms (llm.first_byte_timeout_ms)").arg(m_settings.firstByteTimeoutMs));
        });
        connect(&m_inactivityTimer, &QTimer::timeout, this, [this] {
            onTimeout(QStringLiteral("stream silent for %1 ms (llm.inactivity_timeout_ms)").arg(m_settings.inactivityTimeoutMs));
        });
        connect(&m_retryTimer, &QTimer::timeout, this, &OpenAiLlmStream::submit);
        submit();
    }

    ~OpenAiLlmStream() override
    {
        if (!m_ended) {
            m_ended = true;
            endAttempt(false);
            m_metrics.increment(kRequests, {{QStringLiteral("outcome"), QStringLiteral("cancelled")}});
        }
    }

    void cancel() override
    {
        if (m_ended)
            return;
        m_ended = true;
        m_retryTimer.stop();
        endAttempt(false);
        m_metrics.increment(kRequests, {{QStringLiteral("outcome"), QStringLiteral("cancelled")}});
        qCDebug(lcLlm) << "stream cancelled" << m_cid;
    }

    // The client is going away: end without touching it again.
    void clientGone()
    {
        if (m_ended)
            return;
        endAttempt(false);
        m_scheduler = nullptr;
        m_client = nullptr;
        UpstreamError e;
        e.kind = UpstreamErrorKind::Unavailable;
        e.message = QStringLiteral("the LLM client was shut down");
        QTimer::singleShot(0, this, [this, e] { fail(e); });
    }

private:
    void submit()
    {
        if (m_ended)
            return;
        if (!m_scheduler) {
            UpstreamError e;
            e.kind = UpstreamErrorKind::Unavailable;
            e.message = QStringLiteral("the LLM client was shut down");
            QTimer::singleShot(0, this, [this, e] { fail(e); });
            return;
        }
        QPointer<OpenAiLlmStream> self(this);
        m_ticket = m_scheduler->submit([self](QNetworkAccessManager *nam) {
            if (self)
                self->start(nam);
        });
        if (m_ticket == 0) {
            UpstreamError e;
            e.kind = UpstreamErrorKind::Unavailable;
            e.message = QStringLiteral("too many LLM requests waiting (llm.max_concurrent reached and the queue is full)");
            // Queued: the caller connects its slots after stream() returns.
            QTimer::singleShot(0, this, [this, e] { fail(e); });
        }
    }

    void start(QNetworkAccessManager *nam)
    {
        if (m_ended)
            return;
        QNetworkRequest req(m_endpoint);
        req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        req.setRawHeader("Accept", "text/event-stream");
        req.setHeader(QNetworkRequest::UserAgentHeader, QByteArrayLiteral("tianyi/" TIANYI_VERSION));
        if (!m_settings.apiKey.isEmpty())
            req.setRawHeader("Authorization", "Bearer " + m_settings.apiKey);
        // Never follow a redirect with our key on it; a redirect is reported as an error instead.
        req.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
        req.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
        m_parser = SseParser();
        m_status = 0;
        m_mode = Mode::Unknown;
        m_errorBody.clear();
        m_jsonBody.clear();
        m_timedOut = false;
        m_gotBytes = false;
        m_sawChunk = false;
        m_finishReason.clear();
        m_usage.reset();
        m_reply = nam->post(req, m_body);
        connect(m_reply, &QNetworkReply::readyRead, this, &OpenAiLlmStream::onReadyRead);
        connect(m_reply, &QNetworkReply::finished, this, &OpenAiLlmStream::onFinished);
        if (m_settings.firstByteTimeoutMs > 0)
            m_firstByteTimer.start(m_settings.firstByteTimeoutMs);
        qCDebug(lcLlm) << "POST" << m_logEndpoint << "attempt" << m_attempt + 1 << m_cid;
    }

    enum class Mode { Unknown, Sse, Json, Error };

    void decideMode()
    {
        if (m_mode != Mode::Unknown)
            return;
        m_status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (m_status >= 300 || (m_status > 0 && m_status < 200)) {
            m_mode = Mode::Error;
            return;
        }
        const QByteArray type = m_reply->header(QNetworkRequest::ContentTypeHeader).toByteArray().toLower();
        m_mode = type.contains("application/json") ? Mode::Json : Mode::Sse;
    }

    void onReadyRead()
    {
        if (m_ended || !m_reply)
            return;
        const QByteArray bytes = m_reply->readAll();
        if (bytes.isEmpty())
            return;
        if (!m_gotBytes) {
            m_gotBytes = true;
            m_firstByteTimer.stop();
        }
        if (m_settings.inactivityTimeoutMs > 0)
            m_inactivityTimer.start(m_settings.inactivityTimeoutMs);
        decideMode();
        switch (m_mode) {
        case Mode::Error:
            if (m_errorBody.size() < kMaxErrorBody)
                m_errorBody += bytes.left(kMaxErrorBody - m_errorBody.size());
            return;
        case Mode::Json:
            m_jsonBody += bytes;
            if (m_jsonBody.size() > kMaxJsonBody)
                attemptFailed(malformed(QStringLiteral("reply larger than %1 bytes").arg(kMaxJsonBody)));
            return;
        case Mode::Sse:
        case Mode::Unknown:
            break;
        }
        const QList<SseEvent> events = m_parser.feed(bytes);
        if (!handleEvents(events))
            return;
        if (m_parser.hasError())
            attemptFailed(malformed(m_parser.errorString()));
    }

    // Returns false when the stream ended (or was deleted) while handling them.
    bool handleEvents(const QList<SseEvent> &events)
    {
        QPointer<OpenAiLlmStream> self(this);
        for (const SseEvent &event : events) {
            const ChatChunk c = decodeChatChunk(event);
            switch (c.kind) {
            case ChatChunk::Kind::Done:
                succeed();
                return false;
            case ChatChunk::Kind::Error:
            case ChatChunk::Kind::Malformed:
                attemptFailed(c.error);
                return false;
            case ChatChunk::Kind::Data:
                break;
            }
            m_sawChunk = true;
            if (!c.finishReason.isEmpty())
                m_finishReason = c.finishReason;
            if (c.usage)
                m_usage = c.usage;
            if (!c.reasoning.isEmpty()) {
                m_delivered = true;
                emit reasoning(c.reasoning);
                if (!self || m_ended)
                    return false;
            }
            if (!c.content.isEmpty()) {
                if (!m_sentText) {
                    m_sentText = true;
                    m_metrics.observe(kTtft, {}, m_clock.nsecsElapsed() / 1e9);
                }
                m_delivered = true;
                emit delta(c.content);
                if (!self || m_ended)
                    return false;
            }
        }
        return true;
    }

    void onFinished()
    {
        if (m_ended || !m_reply)
            return;
        if (m_reply->bytesAvailable() > 0) {
            onReadyRead();
            if (m_ended || !m_reply)
                return;
        }
        decideMode();
        QNetworkReply *reply = m_reply;
        const QNetworkReply::NetworkError error = reply->error();
        if (m_mode == Mode::Error) {
            if (m_status >= 300 && m_status < 400) {
                UpstreamError e;
                e.kind = UpstreamErrorKind::BadRequest;
                e.httpStatus = m_status;
                e.message = QStringLiteral("HTTP %1: redirected (check llm.base_url)").arg(m_status);
                attemptFailed(e);
                return;
            }
            attemptFailed(classifyHttpError(m_status, m_errorBody, reply->rawHeader("retry-after-ms"), reply->rawHeader("retry-after")));
            return;
        }
        if (error != QNetworkReply::NoError) {
            UpstreamError e = classifyNetworkError(error, reply->errorString());
            if (m_timedOut)
                e.kind = UpstreamErrorKind::Timeout;
            attemptFailed(e);
            return;
        }
        if (m_mode == Mode::Json) {
            finishJson();
            return;
        }
        // Clean end of the body: EOF without [DONE] counts as the end of the reply.
        const QList<SseEvent> events = m_parser.finish();
        if (!handleEvents(events))
            return;
        if (m_parser.hasError()) {
            attemptFailed(malformed(m_parser.errorString()));
            return;
        }
        if (!m_sawChunk) {
            attemptFailed(malformed(QStringLiteral("the stream ended without any chunk")));
            return;
        }
        succeed();
    }

    // A server that ignored stream:true and answered one chat.completion object.
    void finishJson()
    {
        QJsonParseError perr{};
        const QJsonDocument doc = QJsonDocument::fromJson(m_jsonBody, &perr);
        const QJsonObject o = doc.object();
        if (perr.error != QJsonParseError::NoError || !doc.isObject()) {
            attemptFailed(malformed(QStringLiteral("reply is not valid JSON")));
            return;
        }
        if (o.contains(QStringLiteral("error"))) {
            attemptFailed(classifyStreamError(m_jsonBody));
            return;
        }
        const QJsonObject choice = o.value(QStringLiteral("choices")).toArray().first().toObject();
        const QJsonObject message = choice.value(QStringLiteral("message")).toObject();
        if (!message.value(QStringLiteral("content")).isString()) {
            attemptFailed(malformed(QStringLiteral("reply has no choices[0].message.content")));
            return;
        }
        SseEvent synthetic;
        QJsonObject chunk{{QStringLiteral("choices"),
                           QJsonArray{QJsonObject{{QStringLiteral("index"), 0},
                                                  {QStringLiteral("delta"), message},
                                                  {QStringLiteral("finish_reason"), choice.value(QStringLiteral("finish_reason"))}}}}};
        if (o.value(QStringLiteral("usage")).isObject())
            chunk.insert(QStringLiteral("usage"), o.value(QStringLiteral("usage")));
        synthetic.data = QString::fromUtf8(QJsonDocument(chunk).toJson(QJsonDocument::Compact));
        if (!handleEvents({synthetic}))
            return;
        succeed();
    }

    void onTimeout(const QString &why)
    {
        if (m_ended || !m_reply)
            return;
        // abort() reports OperationCanceledError and emits finished synchronously: endAttempt()
        // disconnects first, and our own flag says what happened.
        m_timedOut = true;
        UpstreamError e;
        e.kind = UpstreamErrorKind::Timeout;
        e.message = why;
        attemptFailed(e);
    }

    static UpstreamError malformed(const QString &why)
    {
        UpstreamError e;
        e.kind = UpstreamErrorKind::Malformed;
        e.message = why;
        return e;
    }

    void attemptFailed(const UpstreamError &error)
    {
        if (m_ended)
            return;
        endAttempt(false);
        if (!m_delivered && m_policy.shouldRetry(error, m_attempt)) {
            const int delay = m_policy.delayMs(m_attempt, error);
            ++m_attempt;
            m_metrics.increment(kRetries, {{QStringLiteral("kind"), UpstreamError::kindName(error.kind)}});
            qCInfo(lcLlm).noquote() << QStringLiteral("LLM attempt failed (%1): %2; retry %3/%4 in %5 ms")
                                           .arg(UpstreamError::kindName(error.kind), error.message)
                                           .arg(m_attempt)
                                           .arg(m_policy.maxRetries)
                                           .arg(delay)
                                    << m_cid;
            m_retryTimer.start(delay);
            return;
        }
        fail(error);
    }

    void fail(const UpstreamError &error)
    {
        if (m_ended)
            return;
        m_ended = true;
        m_retryTimer.stop();
        endAttempt(false);
        m_metrics.increment(kRequests, {{QStringLiteral("outcome"), UpstreamError::kindName(error.kind)}});
        qCWarning(lcLlm).noquote() << QStringLiteral("LLM request to %1 failed (%2): %3")
                                          .arg(m_logEndpoint, UpstreamError::kindName(error.kind), error.message)
                                   << m_cid;
        emit failed(error);
    }

    void succeed()
    {
        if (m_ended)
            return;
        m_ended = true;
        endAttempt(true);
        m_metrics.increment(kRequests, {{QStringLiteral("outcome"), QStringLiteral("ok")}});
        QPointer<OpenAiLlmStream> self(this);
        if (m_usage) {
            emit usage(*m_usage);
            if (!self)
                return;
        }
        emit finished(m_finishReason.isEmpty() ? QStringLiteral("stop") : m_finishReason);
    }

    // Ends the current HTTP attempt. graceful: the reply said [DONE]; let it finish its last bytes in
    // the background so the connection can be reused (aborted if it lingers).
    void endAttempt(bool graceful)
    {
        m_firstByteTimer.stop();
        m_inactivityTimer.stop();
        if (QNetworkReply *reply = m_reply.data()) {
            m_reply = nullptr;
            QObject::disconnect(reply, nullptr, this, nullptr);
            if (graceful && reply->isRunning()) {
                connect(reply, &QNetworkReply::finished, reply, &QObject::deleteLater);
                connect(reply, &QNetworkReply::readyRead, reply, [reply] { reply->readAll(); });
                QTimer::singleShot(kLingerAfterDoneMs, reply, [reply] { reply->abort(); });
            } else {
                reply->abort();
                reply->deleteLater();
            }
        }
        if (m_ticket) {
            if (m_scheduler)
                m_scheduler->release(m_ticket);
            m_ticket = 0;
        }
    }

    QPointer<OpenAiLlmClient> m_client;
    QPointer<RequestScheduler> m_scheduler;
    Metrics &m_metrics;
    const LlmSettings m_settings;
    const QUrl m_endpoint;
    const QString m_logEndpoint;
    const RetryPolicy m_policy;
    const QByteArray m_body;
    const QString m_cid;

    QPointer<QNetworkReply> m_reply;
    quint64 m_ticket = 0;
    QTimer m_firstByteTimer;
    QTimer m_inactivityTimer;
    QTimer m_retryTimer;
    QElapsedTimer m_clock;
    SseParser m_parser;
    Mode m_mode = Mode::Unknown;
    int m_status = 0;
    QByteArray m_errorBody;
    QByteArray m_jsonBody;
    int m_attempt = 0;
    bool m_delivered = false;  // some of the reply was handed on: never retry from here
    bool m_sentText = false;
    bool m_ended = false;
    bool m_timedOut = false;
    bool m_gotBytes = false;
    bool m_sawChunk = false;
    QString m_finishReason;
    std::optional<LlmUsage> m_usage;
};

OpenAiLlmClient::OpenAiLlmClient(const LlmSettings &settings, Metrics &metrics, QObject *parent)
    : QObject(parent), m_settings(settings), m_metrics(metrics), m_endpoint(chatEndpoint(settings.baseUrl))
{
    qRegisterMetaType<tianyi::LlmUsage>();
    qRegisterMetaType<tianyi::UpstreamError>();
    m_retryPolicy.maxRetries = std::max(0, settings.maxRetries);
    m_metrics.declareCounter(kRequests, QStringLiteral("LLM streams by outcome (ok, cancelled, or the error kind)."));
    m_metrics.declareCounter(kRetries, QStringLiteral("LLM request attempts retried, by the error kind that caused the retry."));
    m_metrics.declareHistogram(kTtft, QStringLiteral("Time from asking the LLM to its first reply text, queueing and retries included."),
                               Metrics::latencyBuckets());
    RequestScheduler::Options opts;
    opts.maxConcurrent = std::max(1, settings.maxConcurrent);
    opts.maxWaiting = kDefaultMaxWaiting;
    opts.metricPrefix = QStringLiteral("tianyi_llm");
    m_scheduler = new RequestScheduler(opts, metrics, this);
}

OpenAiLlmClient::~OpenAiLlmClient()
{
    for (const QPointer<OpenAiLlmStream> &s : std::as_const(m_streams)) {
        if (s)
            s->clientGone();
    }
}

QString OpenAiLlmClient::name() const
{
    return QStringLiteral("openai-compatible (%1, model %2)").arg(endpointForLogs(), m_settings.model);
}

QString OpenAiLlmClient::endpointForLogs() const
{
    return m_endpoint.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery | QUrl::RemoveFragment);
}

QByteArray OpenAiLlmClient::requestBody(const LlmRequest &request) const
{
    QJsonArray messages;
    for (const ChatMessage &m : request.messages)
        messages.append(QJsonObject{{QStringLiteral("role"), m.role}, {QStringLiteral("content"), m.content}});
    const QJsonObject body{{QStringLiteral("model"), m_settings.model},
                           {QStringLiteral("messages"), messages},
                           {QStringLiteral("stream"), true},
                           {QStringLiteral("stream_options"), QJsonObject{{QStringLiteral("include_usage"), true}}},
                           {QStringLiteral("temperature"), request.temperature},
                           {QStringLiteral("max_tokens"), request.maxTokens}};
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

LlmStream *OpenAiLlmClient::stream(const LlmRequest &request, QObject *parent)
{
    m_streams.removeAll(nullptr);
    auto *s = new OpenAiLlmStream(this, requestBody(request), request.correlationId, parent);
    m_streams.append(s);
    return s;
}

} // namespace tianyi

#include "openaillmclient.moc"
