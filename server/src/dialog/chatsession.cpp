#include "dialog/chatsession.h"

#include "auth/accountservice.h"
#include "base/config.h"
#include "base/logging.h"
#include "dialog/chatgateway.h"
#include "dialog/ttsscheduler.h"
#include "net/websocketpeer.h"
#include "prompt/personacard.h"
#include "storage/database.h"
#include "storage/userrepository.h"

#include <QDateTime>
#include <algorithm>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkRequest>
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
    , m_sessionId(QUuid::createUuid().toString(QUuid::WithoutBraces).left(8))
{
    const Config &cfg = *m_gateway.services().config;
    const QUrlQuery query(socket->requestUrl());
    m_userAgent = QString::fromUtf8(socket->request().rawHeader("User-Agent")).left(256);
    m_device = query.queryItemValue(QStringLiteral("device"), QUrl::FullyDecoded).left(64);
    m_jsonAudio = query.queryItemValue(QStringLiteral("audio")) == QLatin1String("json");
    const QString token = query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);

    m_peer = new WebSocketPeer(socket, {cfg.limits.wsMaxMessageBytes, cfg.limits.wsMaxSendQueueBytes, cfg.chat.pingIntervalMs, cfg.chat.pongTimeoutMs}, this);
    connect(m_peer, &WebSocketPeer::textReceived, this, &ChatSession::onText);
    connect(m_peer, &WebSocketPeer::binaryReceived, this, &ChatSession::onBinary);
    connect(m_peer, &WebSocketPeer::disconnected, this, &ChatSession::onDisconnected);
    connect(m_peer, &WebSocketPeer::silent, this, [this](qint64 ms) {
        qCInfo(lcWs).noquote() << correlationBase() << "no pong for" << ms << "ms: closing";
        close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("no pong"));
    });
    connect(m_peer, &WebSocketPeer::authDeadlinePassed, this, [this]() {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("no auth message in time"));
    });
    connect(m_peer, &WebSocketPeer::slowConsumer, this, [this](qint64 queued) {
        CorrelationScope scope(correlationBase());
        qCWarning(lcWs) << "slow consumer:" << queued << "bytes queued; closing";
        close(chat::kCloseSlowConsumer, QStringLiteral("send queue over its limit"));
    });

    connect(m_peer, &WebSocketPeer::tokenExpired, this, [this]() {
        CorrelationScope scope(correlationBase());
        qCInfo(lcWs) << "access token expired: closing";
        close(chat::kCloseUnauthorized, QStringLiteral("the access token expired; send {\"type\":\"auth\"} with a fresh one before it does"));
    });

    m_speech = new SpeechInput(m_gateway.services().asr, cfg.chat, this);
    connect(m_speech, &SpeechInput::transcribed, this, [this](const QString &text) {
        CorrelationScope scope(correlationBase());
        sendJson({{QStringLiteral("type"), chat::kTranscript}, {QStringLiteral("text"), text}, {QStringLiteral("final"), true}});
        const QString trimmed = text.trimmed();
        if (!trimmed.isEmpty())
            startTurn(trimmed.left(m_gateway.services().config->chat.maxTextChars), QString());
    });
    connect(m_speech, &SpeechInput::failed, this, [this](const QString &code, const QString &message, const QJsonObject &extra) {
        sendError(code, message, extra);
    });

    if (!token.isEmpty())
        authenticate(token);
    else
        m_peer->startAuthDeadline(cfg.chat.authTimeoutMs);
}

ChatSession::~ChatSession()
{
    if (m_turn && !m_turn->isFinished())
        m_turn->interrupt(std::nullopt, false, QElapsedTimer());
    m_speech->cancel();
    m_gateway.sessionGone(this);
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

void ChatSession::checkAccount(const Principal &principal,
                               std::function<void(const QString &refusal, const QString &username, const QString &nickname)> done)
{
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
        [this, done = std::move(done)](DbResult<AccountInfo> result) {
            if (m_phase == Phase::Closed)
                return;
            if (!result.ok()) {
                close(QWebSocketProtocol::CloseCodeAbnormalDisconnection, QStringLiteral("storage unavailable"));
                return;
            }
            const AccountInfo &info = *result.value;
            done(info.ok ? QString() : (info.why.isEmpty() ? QStringLiteral("account refused") : info.why), info.username, info.nickname);
        });
}

std::optional<Principal> ChatSession::verifyToken(const QString &token)
{
    const auto outcome = m_gateway.services().accounts->guard().authenticateToken(token.toUtf8());
    if (outcome.ok())
        return outcome.value();
    close(chat::kCloseUnauthorized, outcome.error().message.isEmpty() ? QStringLiteral("invalid token") : outcome.error().message);
    return std::nullopt;
}

void ChatSession::authenticate(const QString &token)
{
    m_peer->stopAuthDeadline();
    m_phase = Phase::Authenticating;
    const std::optional<Principal> verified = verifyToken(token);
    if (!verified)
        return;
    const Principal principal = *verified;
    checkAccount(principal, [this, principal](const QString &refusal, const QString &username, const QString &nickname) {
        if (!refusal.isEmpty()) {
            close(chat::kCloseUnauthorized, refusal);
            return;
        }
        m_userId = principal.userId;
        m_username = username;
        m_loginId = principal.loginId;
        m_nickname = nickname;
        m_openedAtMs = QDateTime::currentMSecsSinceEpoch();
        if (!m_gateway.admitSession(this, m_userId)) {
            close(chat::kCloseTooManySessions, QStringLiteral("too many sessions for this user"));
            return;
        }
        m_admitted = true;
        m_phase = Phase::Ready;
        m_peer->armTokenExpiry(principal.expiresAt);
        const PersonaCard &persona = *m_gateway.services().persona;
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
                  {QStringLiteral("token_expires_at"), m_peer->tokenExpiresAt()},
                  {QStringLiteral("persona"), personaHello(persona, m_gateway.services().config->web, emotions)},
                  {QStringLiteral("speech_input"), m_gateway.services().asr != nullptr},
                  {QStringLiteral("audio"), QJsonObject{{QStringLiteral("format"), QStringLiteral("pcm_s16le")},
                                                        {QStringLiteral("sample_rate"), m_gateway.ttsScheduler().announcedSampleRate()},
                                                        {QStringLiteral("mode"), m_jsonAudio ? QStringLiteral("json") : QStringLiteral("binary")},
                                                        {QStringLiteral("channels"), 1}}}});
        CorrelationScope scope(correlationBase());
        qCInfo(lcWs).noquote() << "session opened for" << m_username << (m_jsonAudio ? "(json audio)" : "(binary audio)");
        emit m_gateway.sessionOpened(this);
    });
}

void ChatSession::reauthenticate(const QString &token)
{
    const std::optional<Principal> verified = verifyToken(token);
    if (!verified)
        return;
    const Principal principal = *verified;
    if (principal.userId != m_userId) {
        close(chat::kCloseUnauthorized, QStringLiteral("the token is of another account"));
        return;
    }
    checkAccount(principal, [this, principal](const QString &refusal, const QString &, const QString &) {
        if (!refusal.isEmpty()) {
            close(chat::kCloseUnauthorized, refusal);
            return;
        }
        // A token of another login of the same account moves the socket to that login, with that
        // token's expiry; within one login the later expiry wins (renewals may arrive out of order).
        const bool sameLogin = principal.loginId == m_loginId;
        m_loginId = principal.loginId;
        m_peer->armTokenExpiry(sameLogin ? std::max(principal.expiresAt, m_peer->tokenExpiresAt()) : principal.expiresAt);
        sendJson({{QStringLiteral("type"), chat::kAuthenticated}, {QStringLiteral("token_expires_at"), m_peer->tokenExpiresAt()}});
    });
}

void ChatSession::onText(const QString &message)
{
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
        refuse(m_speech->start(message));
    } else if (type == chat::kAudioEnd) {
        refuse(m_speech->finish(correlationBase()));
    } else if (type == chat::kAuth) {
        const QJsonValue token = message.value(QStringLiteral("token"));
        if (!token.isString() || token.toString().isEmpty())
            malformed(QStringLiteral("auth needs a \"token\""));
        else
            reauthenticate(token.toString());
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
    if (m_closedTurn < m_turnCounter) { // the previous turn's turn_end waits for its store
        if (int(m_queuedChats.size()) >= kMaxQueuedChats) {
            sendError(chat::kErrRateLimited, QStringLiteral("too many messages; try again in a moment"),
                      {{QStringLiteral("retry_after_ms"), kQueuedChatsRetryAfterMs}});
            return;
        }
        m_queuedChats.push_back({text, clientMsgId});
        return;
    }
    beginTurn(text, clientMsgId);
}

void ChatSession::startQueuedChat()
{
    if (m_phase != Phase::Ready || m_queuedChats.empty() || m_closedTurn < m_turnCounter)
        return;
    const QueuedChat next = m_queuedChats.front();
    m_queuedChats.pop_front();
    CorrelationScope scope(correlationBase());
    beginTurn(next.text, next.clientMsgId);
    if (!m_queuedChats.empty()) {
        // A later chat was already waiting: it stops this turn at once, as it would have on arrival.
        QElapsedTimer sinceStop;
        sinceStop.start();
        interruptTurn(std::nullopt, true, sinceStop);
    }
}

void ChatSession::beginTurn(const QString &text, const QString &clientMsgId)
{
    const int turnNo = ++m_turnCounter;
    const QString correlationId = QStringLiteral("%1#%2").arg(correlationBase()).arg(turnNo);
    QJsonObject start{{QStringLiteral("correlation_id"), correlationId}, {QStringLiteral("user_text"), text}};
    if (!clientMsgId.isEmpty())
        start.insert(QStringLiteral("client_msg_id"), clientMsgId);
    m_speaking = false;
    turnEvent(turnNo, chat::kTurnStart, start);
    emit m_gateway.turnStarted(this, turnNo, text);
    auto *turn = new TurnPipeline(m_gateway.services(), *this, m_userId, m_sessionId, turnNo, m_gateway.nextTurnKey(), text,
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

void ChatSession::onBinary(const QByteArray &message)
{
    if (m_phase != Phase::Ready) {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
        return;
    }
    CorrelationScope scope(correlationBase());
    refuse(m_speech->append(message));
}

void ChatSession::refuse(const std::optional<SpeechInput::Refusal> &refusal)
{
    if (!refusal)
        return;
    if (refusal->malformed)
        malformed(refusal->message);
    else
        sendError(refusal->code, refusal->message);
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
    if (type == chat::kTurnEnd) { // the last TTFT / first audio for admins, and the feed's turn_ended
        const QJsonObject stats = fields.value(QStringLiteral("stats")).toObject();
        m_lastTtftMs = stats.value(QStringLiteral("ttft_ms")).toInteger(-1);
        m_lastFirstAudioMs = stats.value(QStringLiteral("first_audio_ms")).toInteger(-1);
        emit m_gateway.turnEnded(m_sessionId, m_userId, turn, fields.value(QStringLiteral("status")).toString(), stats);
        if (!m_queuedChats.empty()) // not from inside the ending turn's own call
            QMetaObject::invokeMethod(this, &ChatSession::startQueuedChat, Qt::QueuedConnection);
    }
}

void ChatSession::markSpeaking(int turn)
{
    if (m_speaking)
        return;
    m_speaking = true;
    emit m_gateway.turnSpeaking(m_sessionId, m_userId, turn); // thinking -> speaking
}

void ChatSession::turnStored(int turn, qint64 turnId)
{
    if (turn > m_closedTurn) // read by the admin feed's turn_ended and GET sessions
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
    if (m_phase != Phase::Closed)
        m_peer->sendBinary(chat::encodeAudioFrame(header, pcm));
}

void ChatSession::sendJson(const QJsonObject &object)
{
    if (m_phase != Phase::Closed)
        m_peer->sendJson(object);
}

void ChatSession::close(int code, const QString &reason)
{
    if (m_phase == Phase::Closed)
        return;
    m_phase = Phase::Closed;
    m_queuedChats.clear();
    if (m_turn && !m_turn->isFinished()) {
        TurnPipeline *turn = m_turn;
        m_turn = nullptr;
        turn->interrupt(std::nullopt, false, QElapsedTimer());
    }
    m_peer->close(code, reason);
}

void ChatSession::onDisconnected()
{
    CorrelationScope scope(correlationBase());
    if (m_phase != Phase::Closed) {
        m_phase = Phase::Closed;
        m_queuedChats.clear();
        if (m_turn && !m_turn->isFinished()) {
            qCInfo(lcWs) << "client went away during a turn";
            TurnPipeline *turn = m_turn;
            m_turn = nullptr;
            turn->interrupt(std::nullopt, false, QElapsedTimer());
        }
    }
    m_speech->cancel();
    m_gateway.sessionGone(this);
    deleteLater();
}

} // namespace tianyi
