#include "dialog/chatsession.h"
#include "net/websocketkeepalive.h"

#include "app/logging.h"
#include "auth/accountservice.h"
#include "dialog/chatgateway.h"
#include "storage/database.h"
#include "storage/userrepository.h"
#include "upstream/asr.h"

#include <QDateTime> // admin:
#include <QJsonArray>
#include <QTcpSocket>
#include <QJsonDocument>
#include <QNetworkRequest> // admin:
#include <QUrlQuery>
#include <QUuid>
#include <QWebSocket>
#include <tianyi/chatprotocol.h>
#include <tianyi/wav.h>

namespace tianyi {

namespace {

// hello.persona: name, emotions and, when a Live2D model is configured, where the page finds it
// (relative URLs: they work behind a reverse proxy under a path prefix too).
QJsonObject personaHello(const PersonaCard &persona, const WebSettings &web, const QJsonArray &emotions)
{
    QJsonObject out{{QStringLiteral("name"), persona.name},
                    {QStringLiteral("default_emotion"), persona.defaultEmotion},
                    {QStringLiteral("emotions"), emotions}};
    if (!web.live2dModel.isEmpty())
        out.insert(QStringLiteral("live2d"), QJsonObject{{QStringLiteral("model_url"), QStringLiteral("live2d/") + web.live2dModel},
                                                         {QStringLiteral("libs_url"), QStringLiteral("live2d/lib/")}});
    return out;
}

} // namespace

namespace {
constexpr int kAbortAfterCloseMs = 5000;   // a peer that does not finish the closing handshake
constexpr int kMinAudioRate = 8000;
constexpr int kMaxAudioRate = 48000;

struct AccountInfo {
    bool ok = false;
    QString why;
    QString username;
    QString nickname;
};

QString typeOf(const QJsonObject &o)
{
    return o.value(QStringLiteral("type")).toString();
}
} // namespace

ChatSession::ChatSession(ChatGateway &gateway, QWebSocket *socket, QObject *parent)
    : QObject(parent)
    , m_gateway(gateway)
    , m_socket(socket)
    , m_sessionId(QUuid::createUuid().toString(QUuid::WithoutBraces).left(8))
{
    const Config &cfg = *m_gateway.services().config;
    socket->setParent(this);
    socket->setMaxAllowedIncomingFrameSize(quint64(cfg.limits.wsMaxMessageBytes));
    socket->setMaxAllowedIncomingMessageSize(quint64(cfg.limits.wsMaxMessageBytes));
    connect(socket, &QWebSocket::textMessageReceived, this, &ChatSession::onText);
    connect(socket, &QWebSocket::binaryMessageReceived, this, &ChatSession::onBinary);
    connect(socket, &QWebSocket::disconnected, this, &ChatSession::onDisconnected);
    connect(socket, &QWebSocket::bytesWritten, this, [this](qint64) { checkBackpressure(); });
    m_keepAlive = new WebSocketKeepAlive(socket, cfg.chat.pingIntervalMs, cfg.chat.pongTimeoutMs, this);
    connect(m_keepAlive, &WebSocketKeepAlive::silent, this, [this](qint64 ms) {
        qCInfo(lcWs).noquote() << correlationBase() << "no pong for" << ms << "ms: closing";
        close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("no pong"));
    });
    connect(m_keepAlive, &WebSocketKeepAlive::authDeadlinePassed, this, [this]() {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("no auth message in time"));
    });

    const QUrlQuery query(socket->requestUrl());
    m_userAgent = QString::fromUtf8(socket->request().rawHeader("User-Agent")).left(256);         // admin:
    m_device = query.queryItemValue(QStringLiteral("device"), QUrl::FullyDecoded).left(64);     // admin:
    m_jsonAudio = query.queryItemValue(QStringLiteral("audio")) == QLatin1String("json");
    const QString token = query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
    if (!token.isEmpty())
        authenticate(token);
    else
        m_keepAlive->startAuthDeadline(cfg.chat.authTimeoutMs);
}

ChatSession::~ChatSession()
{
    if (m_turn && !m_turn->isFinished())
        m_turn->interrupt(std::nullopt, false, QElapsedTimer());
    if (m_asrJob)
        m_asrJob->cancel();
    m_gateway.sessionGone(this);
    delete m_socket;
}

QString ChatSession::correlationBase() const
{
    return QStringLiteral("%1#%2").arg(m_userId).arg(m_sessionId);
}

ChatSession::State ChatSession::state() const
{
    if (!m_turn || m_turn->isFinished())
        return State::Idle;
    return m_speaking ? State::Speaking : State::Thinking;
}

QString ChatSession::stateName(State state)
{
    switch (state) {
    case State::Idle:
        return QStringLiteral("idle");
    case State::Thinking:
        return QStringLiteral("thinking");
    case State::Speaking:
        return QStringLiteral("speaking");
    }
    return {};
}

int ChatSession::currentTurn() const
{
    return m_turn && !m_turn->isFinished() ? m_turn->turnNo() : 0;
}

void ChatSession::authenticate(const QString &token)
{
    m_keepAlive->stopAuthDeadline();
    m_phase = Phase::Authenticating;
    const auto outcome = m_gateway.services().accounts->guard().authenticateToken(token.toUtf8());
    if (!outcome.ok()) {
        close(chat::kCloseUnauthorized, outcome.error().message.isEmpty() ? QStringLiteral("invalid token") : outcome.error().message);
        return;
    }
    const Principal principal = outcome.value();
    m_gateway.services().db->read<AccountInfo>(
        this,
        [principal](SqlSession &s) {
            AccountInfo info;
            const auto checked = AuthGuard::checkAccount(s, principal);
            if (!checked.ok()) {
                info.why = checked.error().message;
                return info;
            }
            UserRepository users(s);
            const auto user = users.findById(principal.userId);
            if (!user) {
                info.why = QStringLiteral("unknown user");
                return info;
            }
            info.ok = true;
            info.username = user->username;
            if (const auto profile = users.profile(principal.userId))
                info.nickname = profile->nickname;
            return info;
        },
        [this, principal](DbResult<AccountInfo> result) {
            if (m_phase == Phase::Closed)
                return;
            if (!result.ok()) {
                close(QWebSocketProtocol::CloseCodeAbnormalDisconnection, QStringLiteral("storage unavailable"));
                return;
            }
            if (!result.value->ok) {
                close(chat::kCloseUnauthorized, result.value->why.isEmpty() ? QStringLiteral("account refused") : result.value->why);
                return;
            }
            m_userId = principal.userId;
            m_username = result.value->username;
            m_nickname = result.value->nickname;
            m_openedAtMs = QDateTime::currentMSecsSinceEpoch(); // admin:
            if (!m_gateway.admitSession(this, m_userId)) {
                close(chat::kCloseTooManySessions, QStringLiteral("too many sessions for this user"));
                return;
            }
            m_admitted = true;
            m_phase = Phase::Ready;
            const PersonaCard &persona = m_gateway.persona();
            QJsonArray emotions;
            for (const PersonaEmotion &e : persona.emotions)
                emotions.append(QJsonObject{{QStringLiteral("id"), e.id}, {QStringLiteral("label"), e.label},
                                            {QStringLiteral("live2d_expression"), e.live2dExpression}});
            sendJson({{QStringLiteral("type"), chat::kHello},
                      {QStringLiteral("protocol"), chat::kProtocolVersion},
                      {QStringLiteral("session_id"), m_sessionId},
                      {QStringLiteral("user"), QJsonObject{{QStringLiteral("id"), m_userId},
                                                           {QStringLiteral("username"), m_username},
                                                           {QStringLiteral("nickname"), m_nickname}}},
                      {QStringLiteral("persona"), personaHello(persona, m_gateway.services().config->web, emotions)},
                      {QStringLiteral("audio"), QJsonObject{{QStringLiteral("format"), QStringLiteral("pcm_s16le")},
                                                            {QStringLiteral("sample_rate"), m_gateway.announcedSampleRate()},
                                                            {QStringLiteral("mode"), m_jsonAudio ? QStringLiteral("json") : QStringLiteral("binary")},
                                                            {QStringLiteral("channels"), 1}}}});
            CorrelationScope scope(correlationBase());
            qCInfo(lcWs).noquote() << "session opened for" << m_username << (m_jsonAudio ? "(json audio)" : "(binary audio)");
            emit m_gateway.sessionOpened(this); // admin:
        });
}

void ChatSession::onText(const QString &message)
{
    m_keepAlive->seen();
    if (m_phase == Phase::Closed || m_phase == Phase::Authenticating)
        return;
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
        else
            malformed(QStringLiteral("messages must be JSON objects"));
        return;
    }
    const QJsonObject object = doc.object();
    if (m_phase == Phase::AwaitingAuth) {
        const QString token = object.value(QStringLiteral("token")).toString();
        if (typeOf(object) != chat::kAuth || token.isEmpty()) {
            close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
            return;
        }
        authenticate(token);
        return;
    }
    handleMessage(object);
}

void ChatSession::handleMessage(const QJsonObject &message)
{
    CorrelationScope scope(correlationBase());
    const QString type = typeOf(message);
    if (type == chat::kPing) {
        sendJson({{QStringLiteral("type"), chat::kPong}});
    } else if (type == chat::kChat) {
        handleChat(message);
    } else if (type == chat::kStop) {
        handleStop(message);
    } else if (type == chat::kAudioStart) {
        handleAudioStart(message);
    } else if (type == chat::kAudioEnd) {
        handleAudioEnd();
    } else if (type == chat::kAuth) {
        malformed(QStringLiteral("already authenticated"));
    } else {
        malformed(type.isEmpty() ? QStringLiteral("a message needs a \"type\"") : QStringLiteral("unknown message type \"%1\"").arg(type));
    }
}

void ChatSession::handleChat(const QJsonObject &message)
{
    const QJsonValue textValue = message.value(QStringLiteral("text"));
    if (!textValue.isString() || textValue.toString().trimmed().isEmpty()) {
        malformed(QStringLiteral("chat needs a non-empty \"text\""));
        return;
    }
    const QString text = textValue.toString().trimmed();
    const int maxChars = m_gateway.services().config->chat.maxTextChars;
    if (text.size() > maxChars) {
        sendError(chat::kErrTooLarge, QStringLiteral("the text is longer than %1 characters").arg(maxChars));
        return;
    }
    const QJsonValue clientMsgId = message.value(QStringLiteral("client_msg_id"));
    startTurn(text, clientMsgId.isString() ? clientMsgId.toString() : clientMsgId.isDouble() ? QString::number(clientMsgId.toDouble()) : QString());
}

void ChatSession::startTurn(const QString &text, const QString &clientMsgId)
{
    if (const auto retryAfter = m_gateway.admitTurn(m_userId)) {
        sendError(chat::kErrRateLimited, QStringLiteral("too many messages; try again in a moment"),
                  {{QStringLiteral("retry_after_ms"), *retryAfter}});
        return;
    }
    if (m_turn && !m_turn->isFinished()) {
        // Barge-in by speaking: the running turn stops first.
        QElapsedTimer sinceStop;
        sinceStop.start();
        interruptTurn(std::nullopt, true, sinceStop);
    }
    const int turnNo = ++m_turnCounter;
    const QString correlationId = QStringLiteral("%1#%2").arg(correlationBase()).arg(turnNo);
    QJsonObject start{{QStringLiteral("correlation_id"), correlationId}, {QStringLiteral("user_text"), text}};
    if (!clientMsgId.isEmpty())
        start.insert(QStringLiteral("client_msg_id"), clientMsgId);
    m_speaking = false;
    turnEvent(turnNo, chat::kTurnStart, start);
    emit m_gateway.turnStarted(this, turnNo, text); // admin:
    auto *turn = new TurnPipeline(m_gateway.turnEnvironment(), *this, m_userId, m_sessionId, turnNo, m_gateway.nextTurnKey(), text,
                                  correlationId, this);
    m_turn = turn;
    connect(turn, &TurnPipeline::ended, this, [turn](const QString &) { turn->deleteLater(); });
    turn->start();
}

void ChatSession::handleStop(const QJsonObject &message)
{
    QElapsedTimer sinceStop;
    sinceStop.start();
    std::optional<qint64> played;
    const QJsonValue playedValue = message.value(QStringLiteral("played_ms"));
    if (!playedValue.isUndefined() && !playedValue.isNull()) {
        if (!playedValue.isDouble() || playedValue.toDouble() < 0) {
            malformed(QStringLiteral("played_ms must be a non-negative number"));
            return;
        }
        played = qint64(playedValue.toDouble());
    }
    const QJsonValue turnValue = message.value(QStringLiteral("turn"));
    if (!turnValue.isUndefined() && !turnValue.isNull() && !turnValue.isDouble()) {
        malformed(QStringLiteral("turn must be a number"));
        return;
    }
    if (!m_turn || m_turn->isFinished())
        return; // nothing running: a stop racing the natural end of a turn is not an error
    if (turnValue.isDouble() && turnValue.toInt() != m_turn->turnNo())
        return; // an older turn: already over
    interruptTurn(played, true, sinceStop);
}

void ChatSession::interruptTurn(std::optional<qint64> playedMs, bool notifyClient, const QElapsedTimer &sinceStop)
{
    if (!m_turn)
        return;
    TurnPipeline *turn = m_turn;
    m_turn = nullptr;
    turn->interrupt(playedMs, notifyClient, sinceStop);
}

void ChatSession::stopCurrentTurn()
{
    QElapsedTimer sinceStop;
    sinceStop.start();
    if (m_turn && !m_turn->isFinished())
        interruptTurn(std::nullopt, true, sinceStop);
}

void ChatSession::handleAudioStart(const QJsonObject &message)
{
    if (!m_gateway.services().asr) {
        sendError(chat::kErrAsrUnavailable, QStringLiteral("speech input is not configured on this server (asr.base_url); type your message instead"));
        return;
    }
    const QString format = message.value(QStringLiteral("format")).toString(QStringLiteral("pcm_s16le"));
    const int rate = message.value(QStringLiteral("sample_rate")).toInt(16000);
    if (format != QLatin1String("pcm_s16le") || rate < kMinAudioRate || rate > kMaxAudioRate) {
        malformed(QStringLiteral("audio_start needs format \"pcm_s16le\" and a sample_rate of %1..%2").arg(kMinAudioRate).arg(kMaxAudioRate));
        return;
    }
    m_recording = true;
    m_recordRate = rate;
    m_recorded.clear();
}

void ChatSession::onBinary(const QByteArray &message)
{
    m_keepAlive->seen();
    if (m_phase != Phase::Ready) {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
        return;
    }
    CorrelationScope scope(correlationBase());
    if (!m_recording) {
        malformed(QStringLiteral("binary messages are speech input: send audio_start first"));
        return;
    }
    const ChatSettings &chat = m_gateway.services().config->chat;
    m_recorded += message;
    if (m_recorded.size() > chat.maxAudioInputBytes || wav::durationMs(m_recorded.size(), m_recordRate) > qint64(chat.maxAudioInputSeconds) * 1000) {
        m_recording = false;
        m_recorded.clear();
        sendError(chat::kErrTooLarge, QStringLiteral("speech input is limited to %1 seconds").arg(chat.maxAudioInputSeconds));
    }
}

void ChatSession::handleAudioEnd()
{
    if (!m_recording) {
        malformed(QStringLiteral("audio_end without audio_start"));
        return;
    }
    m_recording = false;
    const QByteArray pcm = std::exchange(m_recorded, QByteArray());
    AsrProvider *asr = m_gateway.services().asr;
    if (!asr) {
        sendError(chat::kErrAsrUnavailable, QStringLiteral("speech input is not configured on this server"));
        return;
    }
    if (m_asrJob)
        m_asrJob->cancel();
    AsrJob *job = asr->transcribe(pcm, m_recordRate, correlationBase(), this);
    m_asrJob = job;
    connect(job, &AsrJob::finished, this, [this, job](const QString &text) {
        job->deleteLater();
        CorrelationScope scope(correlationBase());
        sendJson({{QStringLiteral("type"), chat::kTranscript}, {QStringLiteral("text"), text}, {QStringLiteral("final"), true}});
        const QString trimmed = text.trimmed();
        if (trimmed.isEmpty())
            return;
        startTurn(trimmed.left(m_gateway.services().config->chat.maxTextChars), QString());
    });
    connect(job, &AsrJob::failed, this, [this, job](const UpstreamError &error) {
        job->deleteLater();
        QJsonObject extra;
        if (error.retryAfterMs >= 0)
            extra.insert(QStringLiteral("retry_after_ms"), error.retryAfterMs);
        sendError(chat::kErrAsrUnavailable, QStringLiteral("speech recognition failed (%1)").arg(UpstreamError::kindName(error.kind)), extra);
    });
}

void ChatSession::malformed(const QString &message)
{
    ++m_malformed;
    sendError(chat::kErrBadRequest, message);
    if (m_malformed >= m_gateway.services().config->chat.maxMalformed)
        close(chat::kCloseAbuse, QStringLiteral("too many malformed messages"));
}

void ChatSession::sendError(const QString &code, const QString &message, const QJsonObject &extra)
{
    QJsonObject o = extra;
    o.insert(QStringLiteral("type"), chat::kError);
    o.insert(QStringLiteral("code"), code);
    o.insert(QStringLiteral("message"), message);
    sendJson(o);
}

// ---- the sender -----------------------------------------------------------------------------

void ChatSession::turnEvent(int turn, const QString &type, QJsonObject fields)
{
    if (turn <= m_closedTurn)
        return;                         // turn_end already sent: nothing of that turn any more
    if (turn == m_stoppedTurn && type != chat::kTurnEnd)
        return;                         // after stopped: only turn_end
    if (type == chat::kStopped)
        m_stoppedTurn = turn;
    if (type == chat::kTurnEnd)
        m_closedTurn = turn;
    if (type == chat::kTextDelta || type == chat::kSentence)
        markSpeaking(turn);
    fields.insert(QStringLiteral("type"), type);
    fields.insert(QStringLiteral("turn"), turn);
    sendJson(fields);
    if (type == chat::kTurnEnd) { // admin: last TTFT / first audio, and the feed's turn_ended
        const QJsonObject stats = fields.value(QStringLiteral("stats")).toObject();
        m_lastTtftMs = stats.value(QStringLiteral("ttft_ms")).toInteger(-1);
        m_lastFirstAudioMs = stats.value(QStringLiteral("first_audio_ms")).toInteger(-1);
        emit m_gateway.turnEnded(m_sessionId, m_userId, turn, fields.value(QStringLiteral("status")).toString(), stats);
    }
}

void ChatSession::markSpeaking(int turn)
{
    if (m_speaking)
        return;
    m_speaking = true;
    emit m_gateway.turnSpeaking(m_sessionId, m_userId, turn); // admin: thinking -> speaking
}

void ChatSession::turnStored(int turn, qint64 turnId)
{
    if (turn > m_closedTurn) // admin: read by the feed's turn_ended and GET sessions
        m_lastTurnId = turnId;
}

void ChatSession::turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm)
{
    if (turn <= m_closedTurn || turn == m_stoppedTurn)
        return;
    markSpeaking(turn);
    if (m_jsonAudio) {
        QJsonArray volumes;
        for (float v : wav::volumeEnvelope(pcm, sampleRate))
            volumes.append(std::round(double(v) * 1000.0) / 1000.0);
        sendJson({{QStringLiteral("type"), chat::kAudio},
                  {QStringLiteral("turn"), turn},
                  {QStringLiteral("sentence"), sentence},
                  {QStringLiteral("seq"), seq},
                  {QStringLiteral("sample_rate"), sampleRate},
                  {QStringLiteral("last"), last},
                  {QStringLiteral("pcm"), QString::fromLatin1(pcm.toBase64())},
                  {QStringLiteral("volumes"), volumes}});
        return;
    }
    chat::AudioFrameHeader header;
    header.turn = quint32(turn);
    header.sentence = quint16(sentence);
    header.seq = quint16(seq);
    header.sampleRate = quint32(sampleRate);
    header.last = last;
    sendBinary(chat::encodeAudioFrame(header, pcm));
}

void ChatSession::sendJson(const QJsonObject &object)
{
    if (!m_socket || m_phase == Phase::Closed)
        return;
    m_socket->sendTextMessage(QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact)));
    checkBackpressure();
}

void ChatSession::sendBinary(const QByteArray &bytes)
{
    if (!m_socket || m_phase == Phase::Closed)
        return;
    m_socket->sendBinaryMessage(bytes);
    checkBackpressure();
}

void ChatSession::checkBackpressure()
{
    if (!m_socket || m_phase == Phase::Closed)
        return;
    if (m_socket->bytesToWrite() > m_gateway.services().config->limits.wsMaxSendQueueBytes) {
        CorrelationScope scope(correlationBase());
        qCWarning(lcWs) << "slow consumer:" << m_socket->bytesToWrite() << "bytes queued; closing";
        close(chat::kCloseSlowConsumer, QStringLiteral("send queue over its limit"));
    }
}

void ChatSession::close(int code, const QString &reason)
{
    if (m_phase == Phase::Closed)
        return;
    m_phase = Phase::Closed;
    m_keepAlive->stop();
    if (m_turn && !m_turn->isFinished()) {
        TurnPipeline *turn = m_turn;
        m_turn = nullptr;
        turn->interrupt(std::nullopt, false, QElapsedTimer());
    }
    if (!m_socket)
        return;
    m_socket->close(QWebSocketProtocol::CloseCode(code), reason);
    QPointer<QWebSocket> socket = m_socket;
    QTimer::singleShot(kAbortAfterCloseMs, this, [socket]() {
        if (socket && socket->state() != QAbstractSocket::UnconnectedState)
            socket->abort();
    });
}

void ChatSession::onDisconnected()
{
    CorrelationScope scope(correlationBase());
    if (m_phase != Phase::Closed) {
        m_phase = Phase::Closed;
        m_keepAlive->stop();
        if (m_turn && !m_turn->isFinished()) {
            qCInfo(lcWs) << "client went away during a turn";
            TurnPipeline *turn = m_turn;
            m_turn = nullptr;
            turn->interrupt(std::nullopt, false, QElapsedTimer());
        }
    }
    if (m_asrJob)
        m_asrJob->cancel();
    m_gateway.sessionGone(this);
    deleteLater();
}

} // namespace tianyi
