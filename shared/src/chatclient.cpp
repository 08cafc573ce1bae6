#include "tianyi/chatclient.h"

#include "tianyi/wav.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkRequest>
#include <QUrlQuery>
#include <QWebSocket>
#include <chrono>
#include <cmath>

namespace tianyi::client {

qint64 monotonicMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {
// A JSON number as a whole number (fractions dropped). NaN and numbers outside qint64 give the
// fallback: converting them is undefined behaviour, and a server may send anything.
qint64 wholeNumber(const QJsonValue &v, qint64 fallback)
{
    if (!v.isDouble())
        return fallback;
    const double d = v.toDouble();
    const double limit = std::ldexp(1.0, 63);
    return d >= -limit && d < limit ? qint64(d) : fallback;
}
} // namespace

// ---- value types ----------------------------------------------------------------------------

Hello Hello::fromJson(const QJsonObject &json)
{
    Hello h;
    h.raw = json;
    h.protocol = json.value(QStringLiteral("protocol")).toInt();
    h.sessionId = json.value(QStringLiteral("session_id")).toVariant().toString();
    const QJsonObject user = json.value(QStringLiteral("user")).toObject();
    h.userId = user.value(QStringLiteral("id")).toInteger();
    h.username = user.value(QStringLiteral("username")).toString();
    h.nickname = user.value(QStringLiteral("nickname")).toString();
    const QJsonObject persona = json.value(QStringLiteral("persona")).toObject();
    h.personaName = persona.value(QStringLiteral("name")).toString();
    const QJsonArray emotions = persona.value(QStringLiteral("emotions")).toArray();
    for (const QJsonValue &v : emotions) {
        const QJsonObject e = v.toObject();
        h.emotions.append({e.value(QStringLiteral("id")).toString(), e.value(QStringLiteral("label")).toString()});
    }
    const QJsonObject audio = json.value(QStringLiteral("audio")).toObject();
    h.audioFormat = audio.value(QStringLiteral("format")).toString();
    h.sampleRate = audio.value(QStringLiteral("sample_rate")).toInt();
    h.channels = audio.value(QStringLiteral("channels")).toInt();
    h.speechInput = json.value(QStringLiteral("speech_input")).toBool();
    h.listening = json.value(QStringLiteral("listening")).toBool();
    return h;
}

QString Hello::labelFor(const QString &emotionId) const
{
    for (const auto &e : emotions)
        if (e.first == emotionId)
            return e.second;
    return {};
}

qint64 AudioChunk::durationMs() const
{
    return wav::durationMs(pcm.size(), sampleRate);
}

TurnStats TurnStats::fromJson(const QJsonObject &stats)
{
    auto get = [&](const char *key) { return wholeNumber(stats.value(QLatin1String(key)), -1); };
    TurnStats s;
    s.ttftMs = get("ttft_ms");
    s.firstAudioMs = get("first_audio_ms");
    s.totalMs = get("total_ms");
    s.tokens = get("tokens");
    s.sentences = get("sentences");
    s.audioMs = get("audio_ms");
    return s;
}

ListeningInfo ListeningInfo::fromJson(const QJsonObject &json)
{
    const QJsonObject vad = json.value(QStringLiteral("vad")).toObject();
    ListeningInfo info;
    info.endpointingMs = wholeNumber(vad.value(QStringLiteral("endpointing_ms")), -1);
    info.interruptionMinMs = wholeNumber(vad.value(QStringLiteral("interruption_min_ms")), -1);
    return info;
}

Transcript Transcript::fromJson(const QJsonObject &json)
{
    Transcript t;
    t.utterance = wholeNumber(json.value(QStringLiteral("utterance")), -1);
    t.text = json.value(QStringLiteral("text")).toString();
    t.final = json.value(QStringLiteral("final")).toBool();
    return t;
}

bool ChatEvent::isListening() const
{
    return kind == Kind::Listening || kind == Kind::SpeechStart || kind == Kind::SpeechEnd || kind == Kind::Duck
           || kind == Kind::Unduck;
}

qint64 ChatEvent::integer(const QString &key, qint64 fallback) const
{
    return wholeNumber(json.value(key), fallback);
}

QString ChatEvent::kindName(Kind kind)
{
    switch (kind) {
    case Kind::Hello: return QStringLiteral("hello");
    case Kind::Pong: return QStringLiteral("pong");
    case Kind::TurnStart: return QStringLiteral("turn_start");
    case Kind::Emotion: return QStringLiteral("emotion");
    case Kind::TextDelta: return QStringLiteral("text_delta");
    case Kind::Sentence: return QStringLiteral("sentence");
    case Kind::Audio: return QStringLiteral("audio");
    case Kind::Transcript: return QStringLiteral("transcript");
    case Kind::TurnEnd: return QStringLiteral("turn_end");
    case Kind::Stopped: return QStringLiteral("stopped");
    case Kind::Error: return QStringLiteral("error");
    case Kind::Listening: return QStringLiteral("listening");
    case Kind::SpeechStart: return QStringLiteral("speech_start");
    case Kind::SpeechEnd: return QStringLiteral("speech_end");
    case Kind::Duck: return QStringLiteral("duck");
    case Kind::Unduck: return QStringLiteral("unduck");
    case Kind::Other: break;
    }
    return QStringLiteral("other");
}

namespace {

ChatEvent::Kind kindOf(const QString &type)
{
    using K = ChatEvent::Kind;
    if (type == chat::kHello) return K::Hello;
    if (type == chat::kPong) return K::Pong;
    if (type == chat::kTurnStart) return K::TurnStart;
    if (type == chat::kEmotion) return K::Emotion;
    if (type == chat::kTextDelta) return K::TextDelta;
    if (type == chat::kSentence) return K::Sentence;
    if (type == chat::kAudio) return K::Audio;
    if (type == chat::kTranscript) return K::Transcript;
    if (type == chat::kTurnEnd) return K::TurnEnd;
    if (type == chat::kStopped) return K::Stopped;
    if (type == chat::kError) return K::Error;
    if (type == chat::kListening) return K::Listening;
    if (type == chat::kSpeechStart) return K::SpeechStart;
    if (type == chat::kSpeechEnd) return K::SpeechEnd;
    if (type == chat::kDuck) return K::Duck;
    if (type == chat::kUnduck) return K::Unduck;
    return K::Other;
}

QString scheme(const QUrl &base)
{
    const QString s = base.scheme().toLower();
    if (s == QLatin1String("https") || s == QLatin1String("wss"))
        return QStringLiteral("wss");
    return QStringLiteral("ws");
}

} // namespace

// ---- ChatClient -----------------------------------------------------------------------------

ChatClient::ChatClient(QObject *parent)
    : QObject(parent)
{
}

ChatClient::~ChatClient()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        delete m_socket;
    }
}

QUrl ChatClient::socketUrl(const QUrl &baseUrl, const QString &token, AudioMode mode, bool tokenInQuery)
{
    QUrl url = baseUrl;
    url.setScheme(scheme(baseUrl));
    QString path = url.path();
    while (path.endsWith(QLatin1Char('/')))
        path.chop(1);
    url.setPath(path + QStringLiteral("/ws"));
    QUrlQuery query;
    if (tokenInQuery && !token.isEmpty())
        query.addQueryItem(QStringLiteral("token"), QString::fromLatin1(QUrl::toPercentEncoding(token)));
    query.addQueryItem(QStringLiteral("audio"), mode == AudioMode::Json ? QStringLiteral("json") : QStringLiteral("binary"));
    url.setQuery(query);
    url.setFragment({});
    return url;
}

void ChatClient::resetSocket()
{
    if (!m_socket)
        return;
    m_socket->disconnect(this);
    m_socket->abort();
    m_socket->deleteLater();
    m_socket = nullptr;
}

void ChatClient::open(const QUrl &baseUrl, const QString &accessToken, AudioMode mode)
{
    resetSocket();
    m_mode = mode;
    m_token = accessToken;
    m_hasHello = false;
    m_listening = false;
    m_hello = Hello();
    m_closeCode = 0;
    m_closeReason.clear();
    m_lastError.clear();
    m_disconnectReported = false;

    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket->setMaxAllowedIncomingMessageSize(quint64(m_maxIncoming));
    m_socket->setMaxAllowedIncomingFrameSize(quint64(m_maxIncoming));
    QWebSocket *socket = m_socket;
    connect(socket, &QWebSocket::connected, this, [this]() {
        if (m_authByMessage)
            sendText(QJsonObject{{QStringLiteral("type"), chat::kAuth}, {QStringLiteral("token"), m_token}});
        emit connected();
    });
    connect(socket, &QWebSocket::textMessageReceived, this, &ChatClient::onText);
    connect(socket, &QWebSocket::binaryMessageReceived, this, &ChatClient::onBinary);
    connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this, socket](QAbstractSocket::SocketError) {
        if (m_lastError.isEmpty())
            m_lastError = socket->errorString();
        if (socket->state() == QAbstractSocket::UnconnectedState)
            QMetaObject::invokeMethod(this, &ChatClient::onDisconnected, Qt::QueuedConnection);
    });
    connect(socket, &QWebSocket::stateChanged, this, [this](QAbstractSocket::SocketState state) {
        if (state == QAbstractSocket::UnconnectedState)
            QMetaObject::invokeMethod(this, &ChatClient::onDisconnected, Qt::QueuedConnection);
    });
    // The program's name and version as the handshake's User-Agent ("tianyi-cli/0.1.0"): the
    // operator console shows it as the session's device.
    QNetworkRequest request(socketUrl(baseUrl, accessToken, mode, !m_authByMessage));
    if (const QString app = QCoreApplication::applicationName(); !app.isEmpty()) {
        const QString version = QCoreApplication::applicationVersion();
        request.setHeader(QNetworkRequest::UserAgentHeader, version.isEmpty() ? app : app + QLatin1Char('/') + version);
    }
    m_socket->open(request);
}

void ChatClient::close(int code, const QString &reason)
{
    if (m_socket && m_socket->state() != QAbstractSocket::UnconnectedState)
        m_socket->close(QWebSocketProtocol::CloseCode(code), reason);
}

bool ChatClient::isOpen() const
{
    return m_socket && m_socket->state() == QAbstractSocket::ConnectedState;
}

qint64 ChatClient::bytesQueued() const
{
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void ChatClient::onDisconnected()
{
    if (m_disconnectReported || !m_socket || m_socket->state() != QAbstractSocket::UnconnectedState)
        return;
    m_disconnectReported = true;
    int code = int(m_socket->closeCode());
    QString reason = m_socket->closeReason();
    // No close frame (refused, dropped, handshake failed): report 1006 "abnormal closure".
    if (!m_lastError.isEmpty() && (code == QWebSocketProtocol::CloseCodeNormal || code == 0)) {
        code = QWebSocketProtocol::CloseCodeAbnormalDisconnection;
        if (reason.isEmpty())
            reason = m_lastError;
    }
    m_closeCode = code;
    m_closeReason = reason;
    emit disconnected(code, reason);
}

void ChatClient::onText(const QString &message)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8(), &parseError);
    if (!doc.isObject()) {
        emit protocolViolation(QStringLiteral("a text message is not a JSON object: %1").arg(parseError.errorString()));
        return;
    }
    ChatEvent e;
    e.receivedMs = monotonicMs();
    e.json = doc.object();
    e.type = e.json.value(QStringLiteral("type")).toString();
    if (e.type.isEmpty()) {
        emit protocolViolation(QStringLiteral("a message without a type: %1").arg(message.left(200)));
        return;
    }
    e.kind = kindOf(e.type);
    e.turn = e.integer(QStringLiteral("turn"), -1);
    if (e.kind == ChatEvent::Kind::Audio) {
        AudioChunk &a = e.audio;
        a.binary = false;
        a.turn = e.turn;
        a.sentence = int(e.integer(QStringLiteral("sentence")));
        a.seq = int(e.integer(QStringLiteral("seq")));
        a.sampleRate = int(e.integer(QStringLiteral("sample_rate"), 0));
        a.last = e.json.value(QStringLiteral("last")).toBool();
        const auto decoded = QByteArray::fromBase64Encoding(e.json.value(QStringLiteral("pcm")).toString().toLatin1(),
                                                            QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded || decoded.decoded.size() % 2 != 0) {
            emit protocolViolation(QStringLiteral("audio event of turn %1 sentence %2 with bad pcm").arg(e.turn).arg(a.sentence));
            return;
        }
        a.pcm = decoded.decoded;
        const QJsonArray volumes = e.json.value(QStringLiteral("volumes")).toArray();
        a.volumes.reserve(volumes.size());
        for (const QJsonValue &v : volumes)
            a.volumes.append(float(v.toDouble()));
        e.json.remove(QStringLiteral("pcm")); // the bytes live in audio.pcm; no second copy
    }
    dispatch(e);
}

void ChatClient::onBinary(const QByteArray &message)
{
    ChatEvent e;
    e.receivedMs = monotonicMs();
    const std::optional<chat::AudioFrameHeader> h = chat::decodeAudioFrame(message, &e.audio.pcm);
    if (!h) {
        emit protocolViolation(QStringLiteral("a binary message (%1 bytes) is not a valid audio frame").arg(message.size()));
        return;
    }
    e.kind = ChatEvent::Kind::Audio;
    e.type = chat::kAudio;
    e.turn = h->turn;
    e.audio.binary = true;
    e.audio.turn = h->turn;
    e.audio.sentence = h->sentence;
    e.audio.seq = h->seq;
    e.audio.sampleRate = int(h->sampleRate);
    e.audio.last = h->last;
    dispatch(e);
}

void ChatClient::dispatch(ChatEvent &e)
{
    using K = ChatEvent::Kind;
    if (e.kind == K::Hello) {
        m_hello = Hello::fromJson(e.json);
        m_hasHello = true;
    }
    emit event(e);
    if ((e.kind == K::Hello || e.type == chat::kAuthenticated) && e.json.contains(QStringLiteral("token_expires_at")))
        emit tokenExpiry(e.integer(QStringLiteral("token_expires_at")));
    switch (e.kind) {
    case K::Hello: emit helloReceived(m_hello); break;
    case K::Pong: emit pong(); break;
    case K::TurnStart: emit turnStarted(e); break;
    case K::Emotion: emit emotion(e); break;
    case K::TextDelta: emit textDelta(e.turn, e.str(QStringLiteral("delta"))); break;
    case K::Sentence: emit sentence(e); break;
    case K::Audio: emit audio(e.audio); break;
    case K::Transcript:
        emit transcript(e);
        emit transcriptReceived(Transcript::fromJson(e.json));
        break;
    case K::TurnEnd: emit turnEnded(e); break;
    case K::Stopped: emit stopped(e.turn, e.integer(QStringLiteral("stop_ms")), e.str(QStringLiteral("reason"))); break;
    case K::Error: emit serverError(e); break;
    case K::Listening: emit listening(ListeningInfo::fromJson(e.json)); break;
    case K::SpeechStart: emit speechStarted(e.utterance()); break;
    case K::SpeechEnd: emit speechEnded(e.utterance(), e.integer(QStringLiteral("duration_ms"))); break;
    case K::Duck: emit ducked(e.turn); break;
    case K::Unduck: emit unducked(e.turn); break;
    case K::Other: break;
    }
}

void ChatClient::reauthenticate(const QString &accessToken)
{
    m_token = accessToken;
    if (isOpen())
        sendText(QJsonObject{{QStringLiteral("type"), chat::kAuth}, {QStringLiteral("token"), accessToken}});
}

bool ChatClient::canSend(qint64 extraBytes)
{
    if (!isOpen()) {
        emit errorOccurred(QStringLiteral("the chat socket is not open"));
        return false;
    }
    if (m_socket->bytesToWrite() + extraBytes > m_maxOutgoing) {
        emit errorOccurred(QStringLiteral("the outgoing queue is full (%1 bytes waiting)").arg(m_socket->bytesToWrite()));
        return false;
    }
    return true;
}

bool ChatClient::sendText(const QJsonObject &message)
{
    const QByteArray bytes = QJsonDocument(message).toJson(QJsonDocument::Compact);
    if (!canSend(bytes.size()))
        return false;
    m_socket->sendTextMessage(QString::fromUtf8(bytes));
    return true;
}

bool ChatClient::sendJson(const QJsonObject &message)
{
    return sendText(message);
}

void ChatClient::chat(const QString &text, const QString &clientMsgId)
{
    QJsonObject m{{QStringLiteral("type"), chat::kChat}, {QStringLiteral("text"), text}};
    if (!clientMsgId.isEmpty())
        m.insert(QStringLiteral("client_msg_id"), clientMsgId);
    const qint64 sentMs = monotonicMs();
    if (sendText(m))
        emit chatSent(text, clientMsgId, sentMs);
}

void ChatClient::stop(qint64 turn, qint64 playedMs)
{
    QJsonObject m{{QStringLiteral("type"), chat::kStop}};
    if (turn >= 0)
        m.insert(QStringLiteral("turn"), turn);
    if (playedMs >= 0)
        m.insert(QStringLiteral("played_ms"), playedMs);
    sendText(m);
}

void ChatClient::ping()
{
    sendText(QJsonObject{{QStringLiteral("type"), chat::kPing}});
}

bool ChatClient::startAudio(int sampleRate)
{
    return sendText(QJsonObject{{QStringLiteral("type"), chat::kAudioStart},
                                {QStringLiteral("sample_rate"), sampleRate},
                                {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
}

bool ChatClient::sendAudioFrame(const QByteArray &pcm)
{
    if (!canSend(pcm.size()))
        return false;
    m_socket->sendBinaryMessage(pcm);
    return true;
}

bool ChatClient::endAudio()
{
    return sendText(QJsonObject{{QStringLiteral("type"), chat::kAudioEnd}});
}

bool ChatClient::sendAudio(const QByteArray &pcm, int sampleRate, int frameBytes)
{
    if (frameBytes <= 0 || frameBytes % 2 != 0)
        frameBytes = 3200;
    if (!startAudio(sampleRate))
        return false;
    for (qsizetype at = 0; at < pcm.size(); at += frameBytes)
        if (!sendAudioFrame(pcm.mid(at, frameBytes)))
            return false;
    return endAudio();
}

bool ChatClient::startListening(int sampleRate)
{
    const bool sent = sendText(QJsonObject{{QStringLiteral("type"), chat::kListenStart},
                                           {QStringLiteral("sample_rate"), sampleRate},
                                           {QStringLiteral("format"), chat::kPcmS16le}});
    m_listening = m_listening || sent;
    return sent;
}

bool ChatClient::sendListenAudio(const QByteArray &pcm)
{
    return sendAudioFrame(pcm);
}

bool ChatClient::stopListening()
{
    m_listening = false;
    return sendText(QJsonObject{{QStringLiteral("type"), chat::kListenStop}});
}

QString ChatClient::closeCodeName(int code)
{
    switch (code) {
    case 1000: return QStringLiteral("normal closure");
    case chat::kCloseServerShutdown: return QStringLiteral("server going away");
    case 1006: return QStringLiteral("connection lost or refused");
    case 1009: return QStringLiteral("message too big");
    case chat::kCloseUnauthorized: return QStringLiteral("unauthorized (bad or expired token)");
    case chat::kCloseAbuse: return QStringLiteral("too many malformed messages");
    case chat::kCloseTooManySessions: return QStringLiteral("too many sessions for this user");
    case chat::kCloseSlowConsumer: return QStringLiteral("slow consumer (send queue over its cap)");
    case chat::kCloseKicked: return QStringLiteral("disconnected by an admin");
    default: break;
    }
    return QStringLiteral("close code %1").arg(code);
}

} // namespace tianyi::client
