#include "upstream/funasrclient.h"

#include "base/logging.h"
#include "upstream/errorclassifier.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkRequest>
#include <QPointer>
#include <QSslConfiguration>
#include <QWebSocket>
#include <algorithm>

namespace tianyi {

namespace {

// Certificate problems that a certificate listed in asr.ca_file may overrule: it is the exact
// certificate the operator chose to trust (typically self-signed, for a name or address other than
// the one in asr.base_url). An expired certificate is not overruled.
bool pinnable(QSslError::SslError e)
{
    switch (e) {
    case QSslError::SelfSignedCertificate:
    case QSslError::SelfSignedCertificateInChain:
    case QSslError::HostNameMismatch:
    case QSslError::CertificateUntrusted:
    case QSslError::UnableToGetLocalIssuerCertificate:
    case QSslError::UnableToVerifyFirstCertificate:
        return true;
    default:
        return false;
    }
}

QString describe(const QList<QSslError> &errors)
{
    QStringList parts;
    for (const QSslError &e : errors)
        parts << e.errorString();
    parts.removeDuplicates();
    return parts.join(QStringLiteral("; "));
}

// The sample certificate in FunASR's source tree (runtime/ssl_key/server.crt, "CN=alibaba"), which
// its runtime serves unless started with --certfile: it expired on 2024-06-17 and its private key is
// published next to it, so trusting it would authenticate nobody.
bool isFunAsrSampleCertificate(const QList<QSslError> &errors)
{
    return std::any_of(errors.begin(), errors.end(), [](const QSslError &e) {
        const QSslCertificate &c = e.certificate();
        return !c.isNull() && c.subjectInfo(QSslCertificate::CommonName).contains(QStringLiteral("alibaba"))
            && c.subjectInfo(QSslCertificate::Organization).contains(QStringLiteral("alibaba"));
    });
}

// transcribe() for push-to-talk: one stream fed the whole recording at once.
class FunAsrJob : public AsrJob
{
public:
    FunAsrJob(AsrStream *stream, QObject *parent) : AsrJob(parent), m_stream(stream)
    {
        stream->setParent(this);
        connect(stream, &AsrStream::finalTranscript, this, [this](const QString &text) { emit finished(text); });
        // Queued: the stream may fail inside transcribe(), before the caller connected to this job.
        connect(stream, &AsrStream::failed, this, [this](const UpstreamError &e) {
            QMetaObject::invokeMethod(this, [this, e] { emit failed(e); }, Qt::QueuedConnection);
        });
    }
    void cancel() override
    {
        if (m_stream)
            m_stream->cancel();
    }

private:
    QPointer<AsrStream> m_stream;
};

} // namespace

FunAsrStream::FunAsrStream(const FunAsrEndpoint &endpoint, int sampleRate, const QString &correlationId, QObject *parent,
                           qsizetype maxUnsentBytes)
    : AsrStream(parent)
    , m_endpoint(endpoint)
    , m_sampleRate(sampleRate)
    , m_correlationId(correlationId)
    , m_chunkBytes(std::max<qsizetype>(2, qsizetype(sampleRate) * kChunkMs / 1000 * 2))
    , m_maxUnsentBytes(maxUnsentBytes > 0 ? maxUnsentBytes : qsizetype(std::max(sampleRate, 1)) * 2 * kMaxUnsentSeconds)
    , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
{
    m_socket->setMaxAllowedIncomingFrameSize(kMaxMessageBytes);
    m_socket->setMaxAllowedIncomingMessageSize(kMaxMessageBytes);
    connect(m_socket, &QWebSocket::connected, this, &FunAsrStream::onConnected);
    connect(m_socket, &QWebSocket::textMessageReceived, this, &FunAsrStream::onTextMessage);
    connect(m_socket, &QWebSocket::disconnected, this, &FunAsrStream::onDisconnected);
    connect(m_socket, &QWebSocket::sslErrors, this, &FunAsrStream::onSslErrors);
    // release() disconnects before closing, so a close handshake seen here was begun by FunASR (or by
    // Qt refusing an oversized message).
    connect(m_socket, &QWebSocket::aboutToClose, this, [this] { m_serverClosing = true; });
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this](QAbstractSocket::SocketError) {
        m_socketErrorText = m_socket->errorString();
        // A connection that never opened ends without disconnected(); sslErrors came before this.
        if (!m_connected)
            QMetaObject::invokeMethod(this, &FunAsrStream::onDisconnected, Qt::QueuedConnection);
    });
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &FunAsrStream::onTimeout);
    m_settle.setSingleShot(true);
    m_settle.setInterval(kSettleMs);
    connect(&m_settle, &QTimer::timeout, this, [this] {
        m_transcript.settle();
        complete();
    });

    if (!m_endpoint.url.isValid() || (m_endpoint.url.scheme() != QLatin1String("ws") && m_endpoint.url.scheme() != QLatin1String("wss"))) {
        // Reported after the caller had a chance to connect to the signals.
        const UpstreamError e{UpstreamErrorKind::Unavailable, QStringLiteral("speech input is not configured (asr.base_url needs a ws:// or wss:// URL)"), 0};
        QMetaObject::invokeMethod(this, [this, e] { fail(e); }, Qt::QueuedConnection);
        return;
    }
    if (m_endpoint.url.scheme() == QLatin1String("wss")) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.addCaCertificates(m_endpoint.trusted);
        m_socket->setSslConfiguration(tls);
    }
    m_timer.start(m_endpoint.timeoutMs);
    m_socket->open(QNetworkRequest(m_endpoint.url));
}

FunAsrStream::~FunAsrStream()
{
    m_done = true;
    if (m_socket)
        disconnect(m_socket, nullptr, this, nullptr);
}

QByteArray FunAsrStream::configFrame(int sampleRate)
{
    const QJsonObject o{
        {QStringLiteral("mode"), QStringLiteral("2pass")},
        {QStringLiteral("chunk_size"), QJsonArray{5, 10, 5}},
        {QStringLiteral("chunk_interval"), 10},
        {QStringLiteral("encoder_chunk_look_back"), 4},
        {QStringLiteral("decoder_chunk_look_back"), 0},
        {QStringLiteral("wav_name"), QStringLiteral("tianyi")},
        {QStringLiteral("wav_format"), QStringLiteral("pcm")},
        {QStringLiteral("audio_fs"), sampleRate},
        {QStringLiteral("is_speaking"), true},
        {QStringLiteral("itn"), true},
    };
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QString FunAsrStream::where() const
{
    return QStringLiteral("FunASR at %1").arg(m_endpoint.url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery));
}

void FunAsrStream::feed(const QByteArray &pcm)
{
    if (m_done || m_endRequested || pcm.isEmpty())
        return;
    if (m_unsent.size() + pcm.size() > m_maxUnsentBytes) {
        fail({UpstreamErrorKind::BadRequest,
              QStringLiteral("%1: more than %2 s of audio waiting to be sent").arg(where()).arg(kMaxUnsentSeconds), 0});
        return;
    }
    m_unsent += pcm;
    if (m_connected)
        sendAudio(false);
}

void FunAsrStream::finish()
{
    if (m_done || m_endRequested)
        return;
    m_endRequested = true;
    if (m_connected)
        sendEnd();
    // Not connected yet: the connect timeout keeps running; onConnected sends the audio and the end.
}

void FunAsrStream::cancel()
{
    if (m_done)
        return;
    m_done = true;
    release();
}

void FunAsrStream::onConnected()
{
    if (m_done)
        return;
    m_connected = true;
    m_timer.stop();
    m_socket->sendTextMessage(QString::fromUtf8(configFrame(m_sampleRate)));
    sendAudio(false);
    if (m_endRequested)
        sendEnd();
}

void FunAsrStream::sendAudio(bool all)
{
    qsizetype sent = 0;
    while (m_unsent.size() - sent >= m_chunkBytes) {
        m_socket->sendBinaryMessage(m_unsent.mid(sent, m_chunkBytes));
        sent += m_chunkBytes;
    }
    if (all && m_unsent.size() - sent >= 2) {
        const qsizetype rest = (m_unsent.size() - sent) & ~qsizetype(1);
        m_socket->sendBinaryMessage(m_unsent.mid(sent, rest));
        sent = m_unsent.size();
    }
    m_unsent.remove(0, sent);
    // Twice the audio cap: WebSocket framing adds a few bytes per message to a full buffer handed over at once.
    if (m_socket->bytesToWrite() > 2 * m_maxUnsentBytes)
        fail({UpstreamErrorKind::Network, QStringLiteral("%1 does not read the audio (%2 s queued)").arg(where()).arg(kMaxUnsentSeconds), 0});
}

void FunAsrStream::sendEnd()
{
    sendAudio(true);
    if (m_done)
        return;
    m_socket->sendTextMessage(QStringLiteral("{\"is_speaking\":false}"));
    m_endSent = true;
    m_timer.start(m_endpoint.timeoutMs);
}

void FunAsrStream::onTextMessage(const QString &message)
{
    if (m_done)
        return;
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8(), &perr);
    const QJsonObject o = doc.object();
    const QJsonValue text = o.value(QStringLiteral("text"));
    const QJsonValue mode = o.value(QStringLiteral("mode"));
    if (perr.error != QJsonParseError::NoError || !doc.isObject() || !(text.isString() || text.isUndefined())
        || !(mode.isString() || mode.isUndefined())) {
        // The message itself is not logged: it would hold what the user said.
        fail({UpstreamErrorKind::Malformed,
              QStringLiteral("%1 sent a message that is not a result object (%2 characters)").arg(where()).arg(message.size()), 0});
        return;
    }
    const bool isFinal = o.value(QStringLiteral("is_final")).toBool(false);
    switch (m_transcript.apply(mode.toString(), text.toString(), isFinal, m_endSent)) {
    case FunAsrTranscript::Outcome::Unchanged:
        break;
    case FunAsrTranscript::Outcome::Changed:
        emitPartial();
        break;
    case FunAsrTranscript::Outcome::MaybeComplete:
        m_settle.start();
        emitPartial();
        break;
    case FunAsrTranscript::Outcome::Complete:
        complete();
        break;
    case FunAsrTranscript::Outcome::TooLong:
        fail({UpstreamErrorKind::Malformed,
              QStringLiteral("%1 sent a transcript longer than %2 characters").arg(where()).arg(FunAsrTranscript::kMaxChars), 0});
        break;
    }
}

void FunAsrStream::emitPartial()
{
    const QString text = m_transcript.text();
    if (text == m_lastPartial)
        return;
    m_lastPartial = text;
    emit partialTranscript(text);
}

void FunAsrStream::complete()
{
    if (m_done)
        return;
    const QString finalText = m_transcript.text();
    m_done = true;
    release();
    emit finalTranscript(finalText);
}

void FunAsrStream::onSslErrors(const QList<QSslError> &errors)
{
    bool pinned = !errors.isEmpty();
    for (const QSslError &e : errors) {
        if (!pinnable(e.error()) || (!e.certificate().isNull() && !m_endpoint.trusted.contains(e.certificate())))
            pinned = false;
    }
    const bool anyCertificate = std::any_of(errors.begin(), errors.end(), [](const QSslError &e) { return !e.certificate().isNull(); });
    if (pinned && anyCertificate) {
        m_socket->ignoreSslErrors();
        return;
    }
    m_sslErrors = errors;
}

void FunAsrStream::onDisconnected()
{
    if (m_done)
        return;
    if (!m_connected) {
        if (!m_sslErrors.isEmpty()) {
            const QString advice = isFunAsrSampleCertificate(m_sslErrors)
                ? QStringLiteral("This is the sample certificate of FunASR's source tree (expired, its private key public): start "
                                 "funasr-wss-server-2pass with your own --certfile/--keyfile and put that certificate in asr.ca_file")
                : QStringLiteral("For a self-signed certificate put it (PEM) in asr.ca_file");
            fail({UpstreamErrorKind::Network,
                  QStringLiteral("%1: TLS certificate refused (%2). %3; see docs/asr.md").arg(where(), describe(m_sslErrors), advice), 0});
            return;
        }
        fail({UpstreamErrorKind::Network,
              QStringLiteral("%1: cannot connect: %2").arg(where(), sanitizeUpstreamText(m_socketErrorText.isEmpty() ? m_socket->errorString() : m_socketErrorText)),
              0});
        return;
    }
    if (m_socket->closeCode() == QWebSocketProtocol::CloseCodeTooMuchData) {
        fail({UpstreamErrorKind::Malformed, QStringLiteral("%1 sent a message larger than %2 bytes").arg(where()).arg(kMaxMessageBytes), 0});
        return;
    }
    if (m_serverClosing) {
        fail({UpstreamErrorKind::Server,
              QStringLiteral("%1 closed the connection before the final transcript (close code %2%3)")
                  .arg(where())
                  .arg(int(m_socket->closeCode()))
                  .arg(m_socket->closeReason().isEmpty() ? QString() : QStringLiteral(": ") + sanitizeUpstreamText(m_socket->closeReason())),
              0});
        return;
    }
    fail({UpstreamErrorKind::Network,
          QStringLiteral("%1: connection lost before the final transcript: %2")
              .arg(where(), sanitizeUpstreamText(m_socketErrorText.isEmpty() ? QStringLiteral("closed") : m_socketErrorText)),
          0});
}

void FunAsrStream::onTimeout()
{
    if (m_done)
        return;
    if (!m_connected)
        fail({UpstreamErrorKind::Timeout, QStringLiteral("%1: not connected within %2 ms").arg(where()).arg(m_endpoint.timeoutMs), 0});
    else
        fail({UpstreamErrorKind::Timeout,
              QStringLiteral("%1 gave no final transcript within %2 ms of the end of the utterance").arg(where()).arg(m_endpoint.timeoutMs), 0});
}

void FunAsrStream::fail(const UpstreamError &error)
{
    if (m_done)
        return;
    m_done = true;
    release();
    qCWarning(lcAsr).noquote() << error.message << (m_correlationId.isEmpty() ? QString() : QStringLiteral("[%1]").arg(m_correlationId));
    emit failed(error);
}

void FunAsrStream::release()
{
    m_timer.stop();
    m_settle.stop();
    m_unsent.clear();
    m_unsent.squeeze();
    disconnect(m_socket, nullptr, this, nullptr);
    if (m_socket->state() == QAbstractSocket::UnconnectedState)
        return;
    if (m_socket->state() == QAbstractSocket::ConnectedState) {
        m_socket->close(QWebSocketProtocol::CloseCodeNormal);
        // A server that never answers the close handshake must not keep the connection.
        QTimer::singleShot(kCloseGraceMs, m_socket, [socket = m_socket] { socket->abort(); });
    } else {
        m_socket->abort();
    }
}

FunAsrClient::FunAsrClient(const AsrSettings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
{
    m_endpoint.url = QUrl(settings.baseUrl);
    m_endpoint.timeoutMs = settings.timeoutMs;
}

FunAsrClient::~FunAsrClient() = default;

bool FunAsrClient::initialize(QString *error)
{
    if (m_settings.caFile.isEmpty())
        return true;
    QFile f(m_settings.caFile);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("asr.ca_file: cannot read %1: %2").arg(m_settings.caFile, f.errorString());
        return false;
    }
    m_endpoint.trusted = QSslCertificate::fromData(f.read(1024 * 1024), QSsl::Pem);
    if (m_endpoint.trusted.isEmpty()) {
        *error = QStringLiteral("asr.ca_file: %1 holds no PEM certificate").arg(m_settings.caFile);
        return false;
    }
    return true;
}

QString FunAsrClient::name() const
{
    return QStringLiteral("FunASR streaming WebSocket (%1)").arg(m_endpoint.url.toString(QUrl::RemoveUserInfo));
}

AsrStream *FunAsrClient::openStream(int sampleRate, const QString &correlationId, QObject *parent)
{
    return new FunAsrStream(m_endpoint, sampleRate, correlationId, parent);
}

AsrJob *FunAsrClient::transcribe(const QByteArray &pcm, int sampleRate, const QString &correlationId, QObject *parent)
{
    auto *stream = new FunAsrStream(m_endpoint, sampleRate, correlationId, nullptr, pcm.size());
    auto *job = new FunAsrJob(stream, parent);
    stream->feed(pcm);
    stream->finish();
    return job;
}

} // namespace tianyi
