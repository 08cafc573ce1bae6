#include "upstream/openaiasrclient.h"

#include "base/logging.h"
#include "upstream/speechhttp.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTimer>
#include <tianyi/multipart.h>
#include <tianyi/wav.h>

namespace tianyi {

namespace {

class OpenAiAsrJob : public AsrJob
{
public:
    OpenAiAsrJob(QString service, int timeoutMs, QString correlationId, QObject *parent)
        : AsrJob(parent), m_service(std::move(service)), m_timeoutMs(timeoutMs), m_correlationId(std::move(correlationId))
    {
        m_timer.setSingleShot(true);
        connect(&m_timer, &QTimer::timeout, this, [this] { onTimeout(); });
    }
    ~OpenAiAsrJob() override { detach(); }

    void start(QNetworkAccessManager *nam, const QNetworkRequest &request, const QByteArray &body)
    {
        m_reply = nam->post(request, body);
        connect(m_reply, &QNetworkReply::finished, this, [this] { onFinished(); });
        m_timer.start(m_timeoutMs);
    }

    void failLater(const UpstreamError &e)
    {
        m_done = true;
        QMetaObject::invokeMethod(this, [this, e] {
            if (!m_cancelled)
                emit failed(e);
        }, Qt::QueuedConnection);
    }

    void cancel() override
    {
        m_cancelled = true;
        m_done = true;
        m_timer.stop();
        detach();
    }

private:
    void detach()
    {
        if (!m_reply)
            return;
        QNetworkReply *r = m_reply;
        m_reply = nullptr;
        disconnect(r, nullptr, this, nullptr);
        r->abort();
        r->deleteLater();
    }

    void onTimeout()
    {
        if (m_done)
            return;
        m_done = true;
        detach();
        UpstreamError e = speech::transportError(m_service, QNetworkReply::TimeoutError, {}, true);
        e.message = QStringLiteral("%1 gave no answer within %2 ms").arg(m_service).arg(m_timeoutMs);
        qCWarning(lcAsr).noquote() << e.message << (m_correlationId.isEmpty() ? QString() : QStringLiteral("[%1]").arg(m_correlationId));
        emit failed(e);
    }

    void onFinished()
    {
        if (m_done || !m_reply)
            return;
        m_done = true;
        m_timer.stop();
        QNetworkReply *r = m_reply;
        const int status = r->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray body = r->readAll();
        const QNetworkReply::NetworkError netError = r->error();
        const QString netErrorString = r->errorString();
        UpstreamError error;
        bool ok = false;
        QString text;
        if (status == 0) {
            error = speech::transportError(m_service, netError, netErrorString, false);
        } else if (status < 200 || status >= 300) {
            error = speech::httpError(m_service, status, body, r);
        } else if (netError != QNetworkReply::NoError) {
            error = {UpstreamErrorKind::Network, QStringLiteral("%1 cut its answer: %2").arg(m_service, netErrorString), status};
        } else {
            QJsonParseError perr{};
            const QJsonDocument doc = QJsonDocument::fromJson(body, &perr);
            const QJsonValue t = doc.object().value(QStringLiteral("text"));
            if (perr.error != QJsonParseError::NoError || !doc.isObject() || !t.isString()) {
                error = {UpstreamErrorKind::Malformed,
                         QStringLiteral("%1 answered 200 without {\"text\": ...}: %2").arg(m_service, speech::errorBodyText(body.left(300))), status};
            } else {
                ok = true;
                text = t.toString().trimmed();
            }
        }
        detach();
        if (ok) {
            emit finished(text);
            return;
        }
        qCWarning(lcAsr).noquote() << error.message << (m_correlationId.isEmpty() ? QString() : QStringLiteral("[%1]").arg(m_correlationId));
        emit failed(error);
    }

    QString m_service;
    int m_timeoutMs;
    QString m_correlationId;
    QPointer<QNetworkReply> m_reply;
    QTimer m_timer;
    bool m_done = false;
    bool m_cancelled = false;
};

} // namespace

OpenAiAsrClient::OpenAiAsrClient(const AsrSettings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_nam(new QNetworkAccessManager(this))
{
}

OpenAiAsrClient::~OpenAiAsrClient() = default;

QString OpenAiAsrClient::name() const
{
    return QStringLiteral("openai-compatible transcription (%1, model %2)").arg(m_settings.baseUrl, m_settings.model);
}

QPair<QByteArray, QByteArray> OpenAiAsrClient::buildBody(const QByteArray &pcm, int sampleRate) const
{
    multipart::Builder mp;
    mp.addFile("file", "audio.wav", "audio/wav", wav::file(pcm.left(pcm.size() & ~qsizetype(1)), sampleRate, 1));
    mp.addField("model", m_settings.model.toUtf8());
    if (!m_settings.language.isEmpty())
        mp.addField("language", m_settings.language.toUtf8());
    mp.addField("response_format", "json");
    return {mp.contentType(), mp.body()};
}

AsrJob *OpenAiAsrClient::transcribe(const QByteArray &pcm, int sampleRate, const QString &correlationId, QObject *parent)
{
    const QUrl url = speech::joinUrl(QUrl(m_settings.baseUrl), QStringLiteral("audio/transcriptions"));
    const QString service = QStringLiteral("transcription API %1").arg(url.toString(QUrl::RemoveUserInfo));
    auto *job = new OpenAiAsrJob(service, m_settings.timeoutMs, correlationId, parent);
    if (m_settings.baseUrl.isEmpty()) {
        job->failLater({UpstreamErrorKind::Unavailable, QStringLiteral("speech input is not configured (asr.base_url)"), 0});
        return job;
    }
    if (pcm.size() < 2 || sampleRate <= 0) {
        job->failLater({UpstreamErrorKind::BadRequest, QStringLiteral("no audio to transcribe"), 0});
        return job;
    }
    const auto [contentType, body] = buildBody(pcm, sampleRate);
    QNetworkRequest req(url);
    req.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (!m_settings.apiKey.isEmpty())
        req.setRawHeader("Authorization", "Bearer " + m_settings.apiKey);
    job->start(m_nam, req, body);
    return job;
}

} // namespace tianyi
