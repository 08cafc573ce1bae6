#include "upstream/gptsovitsrequest.h"

#include "base/logging.h"
#include "upstream/speechhttp.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkRequest>
#include <tianyi/wav.h>

namespace tianyi {

namespace {
constexpr qsizetype kMaxErrorBody = 64 * 1024;
constexpr qsizetype kMaxHeaderBytes = 64 * 1024;
constexpr qsizetype kMaxWholeFile = 256 * 1024 * 1024;
} // namespace

GptSovitsRequest::GptSovitsRequest(QNetworkAccessManager *nam, const QUrl &baseUrl, const TtsRequest &request,
                                   const Options &options, QObject *parent)
    : QObject(parent)
    , m_nam(nam)
    , m_url(speech::joinUrl(baseUrl, QStringLiteral("tts")))
    , m_request(request)
    , m_options(options)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &GptSovitsRequest::onTimeout);
}

GptSovitsRequest::~GptSovitsRequest()
{
    m_done = true;
    detachReply();
}

QByteArray GptSovitsRequest::body(const TtsRequest &request, bool streaming)
{
    QJsonObject o;
    o.insert(QStringLiteral("text"), request.text);
    o.insert(QStringLiteral("text_lang"), request.textLang);
    o.insert(QStringLiteral("ref_audio_path"), request.voice.refAudioPath);
    o.insert(QStringLiteral("prompt_text"), request.voice.promptText);
    o.insert(QStringLiteral("prompt_lang"), request.voice.promptLang);
    o.insert(QStringLiteral("text_split_method"), QStringLiteral("cut5"));
    o.insert(QStringLiteral("batch_size"), 1);
    o.insert(QStringLiteral("speed_factor"), 1.0);
    o.insert(QStringLiteral("media_type"), QStringLiteral("wav"));
    o.insert(QStringLiteral("streaming_mode"), streaming);
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QString GptSovitsRequest::service() const
{
    return QStringLiteral("GPT-SoVITS %1").arg(m_url.toString(QUrl::RemoveUserInfo));
}

void GptSovitsRequest::start()
{
    QNetworkRequest req(m_url);
    req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    for (const auto &h : m_options.extraHeaders)
        req.setRawHeader(h.first, h.second);
    m_clock.start();
    m_reply = m_nam->post(req, body(m_request, m_options.streaming));
    connect(m_reply, &QNetworkReply::readyRead, this, &GptSovitsRequest::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &GptSovitsRequest::onFinished);
    m_timer.start(m_options.timeoutMs);
}

void GptSovitsRequest::abort()
{
    m_done = true;
    m_timer.stop();
    detachReply();
}

void GptSovitsRequest::detachReply()
{
    if (!m_reply)
        return;
    QNetworkReply *reply = m_reply;
    m_reply = nullptr;
    disconnect(reply, nullptr, this, nullptr);
    reply->abort(); // emits finished synchronously; we are no longer connected
    reply->deleteLater();
}

void GptSovitsRequest::fail(const UpstreamError &error, bool backendFault)
{
    m_done = true;
    m_backendFault = backendFault;
    m_timer.stop();
    detachReply();
    emit failed(error);
}

void GptSovitsRequest::onTimeout()
{
    if (m_done)
        return;
    UpstreamError e = speech::transportError(service(), QNetworkReply::TimeoutError, {}, true);
    e.message = QStringLiteral("%1 gave no complete answer within %2 ms%3")
                    .arg(service())
                    .arg(m_options.timeoutMs)
                    .arg(m_pcmBytes > 0 ? QStringLiteral(" (%1 bytes of audio received)").arg(m_pcmBytes) : QString());
    fail(e, true);
}

void GptSovitsRequest::onReadyRead()
{
    if (m_done || !m_reply)
        return;
    if (m_status == 0)
        m_status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray bytes = m_reply->readAll();
    if (m_status < 200 || m_status >= 300) {
        if (m_headerBuf.size() < kMaxErrorBody)
            m_headerBuf += bytes.left(kMaxErrorBody - m_headerBuf.size());
        return;
    }
    if (m_options.streaming) {
        consumeStreaming(bytes);
        return;
    }
    if (m_headerBuf.size() + bytes.size() > kMaxWholeFile) {
        fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 sent a WAV file larger than %2 bytes").arg(service()).arg(kMaxWholeFile), m_status}, true);
        return;
    }
    m_headerBuf += bytes;
}

bool GptSovitsRequest::consumeStreaming(const QByteArray &bytes)
{
    QByteArray data;
    if (!m_headerParsed) {
        m_headerBuf += bytes;
        wav::HeaderInfo info;
        QString err;
        switch (wav::parseHeader(m_headerBuf, &info, &err)) {
        case wav::HeaderStatus::NeedMoreData:
            if (m_headerBuf.size() > kMaxHeaderBytes) {
                fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 streamed no WAV header in %2 bytes").arg(service()).arg(m_headerBuf.size()), m_status}, true);
                return false;
            }
            return true;
        case wav::HeaderStatus::Invalid:
            fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 streamed no WAV header: %2").arg(service(), err), m_status}, true);
            return false;
        case wav::HeaderStatus::Ok:
            break;
        }
        if (!info.format.isPcm16() || info.format.channels != 1) {
            fail({UpstreamErrorKind::Malformed,
                  QStringLiteral("%1 streamed unsupported audio (format %2, %3 bits, %4 channels); expected 16-bit mono PCM")
                      .arg(service()).arg(info.format.audioFormat).arg(info.format.bitsPerSample).arg(info.format.channels),
                  m_status},
                 true);
            return false;
        }
        m_headerParsed = true;
        m_sampleRate = info.format.sampleRate;
        m_channels = info.format.channels;
        m_dataRemaining = info.dataSize;
        data = m_headerBuf.mid(info.dataOffset);
        m_headerBuf.clear();
    } else {
        data = bytes;
    }
    if (m_dataRemaining >= 0) {
        if (data.size() > m_dataRemaining)
            data.truncate(m_dataRemaining);
        m_dataRemaining -= data.size();
    }
    if (!m_odd.isEmpty()) {
        data.prepend(m_odd);
        m_odd.clear();
    }
    if (data.size() % 2) {
        m_odd = data.right(1);
        data.chop(1);
    }
    if (data.isEmpty())
        return true;
    m_pcmBytes += data.size();
    if (!m_formatSent) {
        // Hold leading silence back: if nothing audible ever comes, this is the silent-audio quirk.
        m_held += data;
        if (wav::isSilent(data))
            return true;
        data = m_held;
        m_held.clear();
    }
    return deliver(data);
}

bool GptSovitsRequest::deliver(const QByteArray &alignedPcm)
{
    QPointer<GptSovitsRequest> self(this);
    if (!m_formatSent) {
        m_formatSent = true;
        m_firstAudioMs = m_clock.elapsed();
        emit format(m_sampleRate, m_channels);
        if (!self || m_done)
            return false;
    }
    emit pcm(alignedPcm);
    return self && !m_done;
}

void GptSovitsRequest::onFinished()
{
    if (m_done || !m_reply)
        return;
    QNetworkReply *reply = m_reply;
    const QNetworkReply::NetworkError netError = reply->error();
    const QString netErrorString = reply->errorString();
    if (m_status == 0)
        m_status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray rest = reply->bytesAvailable() > 0 ? reply->readAll() : QByteArray();

    if (m_status == 0) {
        fail(speech::transportError(service(), netError, netErrorString, false), true);
        return;
    }
    if (m_status < 200 || m_status >= 300) {
        const QByteArray errorBody = m_headerBuf + rest;
        const UpstreamError e = speech::httpError(service(), m_status, errorBody, reply);
        // 422 (schema) and 400 parameter checks would fail on every backend; an inference failure
        // ({"message":"tts failed","Exception":...}), 5xx, auth and rate limits are this backend's.
        bool fault = true;
        if (m_status == 422 || m_status == 404 || m_status == 405)
            fault = false;
        else if (m_status == 400)
            fault = errorBody.contains("\"Exception\"");
        fail(e, fault);
        return;
    }

    QPointer<GptSovitsRequest> self(this);
    if (m_options.streaming) {
        if (!rest.isEmpty() && !consumeStreaming(rest))
            return;
        if (!self || m_done)
            return;
        if (netError != QNetworkReply::NoError) {
            fail({UpstreamErrorKind::Network,
                  QStringLiteral("%1 cut the audio stream after %2 bytes of PCM: %3").arg(service()).arg(m_pcmBytes).arg(netErrorString),
                  m_status},
                 true);
            return;
        }
        if (!m_headerParsed) {
            fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 answered 200 without a WAV header (%2 bytes)").arg(service()).arg(m_headerBuf.size()), m_status}, true);
            return;
        }
        if (m_dataRemaining > 0) {
            fail({UpstreamErrorKind::Network, QStringLiteral("%1 ended the stream %2 bytes short of its announced size").arg(service()).arg(m_dataRemaining), m_status}, true);
            return;
        }
    } else {
        if (netError != QNetworkReply::NoError) {
            fail({UpstreamErrorKind::Network,
                  QStringLiteral("%1 cut the WAV reply after %2 bytes: %3").arg(service()).arg(m_headerBuf.size() + rest.size()).arg(netErrorString),
                  m_status},
                 true);
            return;
        }
        wav::Format fmt;
        QByteArray pcmData;
        QString err;
        if (!wav::parseFile(m_headerBuf + rest, &fmt, &pcmData, &err)) {
            fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 sent an unreadable WAV file: %2").arg(service(), err), m_status}, true);
            return;
        }
        if (!fmt.isPcm16() || fmt.channels != 1) {
            fail({UpstreamErrorKind::Malformed,
                  QStringLiteral("%1 sent unsupported audio (format %2, %3 bits, %4 channels); expected 16-bit mono PCM")
                      .arg(service()).arg(fmt.audioFormat).arg(fmt.bitsPerSample).arg(fmt.channels),
                  m_status},
                 true);
            return;
        }
        m_headerBuf.clear();
        m_sampleRate = fmt.sampleRate;
        m_channels = fmt.channels;
        if (pcmData.size() % 2)
            pcmData.chop(1);
        m_pcmBytes = pcmData.size();
        if (!wav::isSilent(pcmData)) {
            const qsizetype chunk = qsizetype(m_sampleRate) * 2; // one second per pcm signal
            for (qsizetype pos = 0; pos < pcmData.size(); pos += chunk) {
                if (!deliver(pcmData.mid(pos, chunk)))
                    return;
            }
        } else {
            m_held = pcmData;
        }
    }

    if (!m_formatSent) {
        const qint64 ms = wav::durationMs(m_pcmBytes, m_sampleRate, qMax(1, m_channels));
        qCWarning(lcTts).noquote() << QStringLiteral("%1 returned silent audio (%2 ms at %3 Hz, peak %4) for %5 characters of text [%6]: "
                                                     "GPT-SoVITS answers a failed inference this way")
                                          .arg(service()).arg(ms).arg(m_sampleRate).arg(wav::peakAmplitude(m_held))
                                          .arg(m_request.text.size()).arg(m_request.correlationId);
        fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 returned silent audio (%2 ms at %3 Hz)").arg(service()).arg(ms).arg(m_sampleRate), m_status},
             true);
        return;
    }
    m_done = true;
    m_timer.stop();
    detachReply();
    emit finished();
}

} // namespace tianyi
