#include "dialog/chatsession.h"

#include "auth/accountservice.h"
#include "base/config.h"
#include "base/logging.h"
#include "dialog/chatgateway.h"
#include "dialog/listeningsession.h"
#include "dialog/ttsscheduler.h"
#include "net/websocketpeer.h"
#include "prompt/personacard.h"
#include "storage/database.h"
#include "storage/userrepository.h"

#include <QDateTime>
#include <algorithm>
#include <limits>
#include <utility>
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

// Session and conversation ids: short (they appear in logs and correlation ids), random.
QString newShortId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces).left(8);
}

struct AccountInfo {
    bool ok = false;
    QString why;
    QString username;
    QString nickname;
};
} // namespace

ChatSession::ChatSession(ChatGateway &gateway, QWebSocket *socket, std::unique_ptr<ChatWire> wire, QObject *parent)
    : QObject(parent)
    , m_gateway(gateway)
    , m_wire(std::move(wire))
    , m_sessionId(newShortId())
    , m_conversationId(m_sessionId)
{
    const Config &cfg = *m_gateway.services().config;
    const QUrlQuery query(socket->requestUrl());
    m_userAgent = QString::fromUtf8(socket->request().rawHeader("User-Agent")).left(256);
    m_device = query.queryItemValue(QStringLiteral("device"), QUrl::FullyDecoded).left(64);
    if (m_device.isEmpty())
        m_device = m_wire->clientName();
    m_wire->bind(*this);

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

    m_monotonic.start();
    m_releaseTimer.setSingleShot(true);
    connect(&m_releaseTimer, &QTimer::timeout, this, &ChatSession::releaseHeldTurn);

    m_speech = new SpeechInput(m_gateway.services().asr, cfg.chat, this);
    connect(m_speech, &SpeechInput::transcribed, this, [this](const QString &text) {
        CorrelationScope scope(correlationBase());
        if (m_phase == Phase::Closed)
            return;
        m_wire->transcript(text);
        const QString trimmed = text.trimmed();
        if (!trimmed.isEmpty())
            startTurn(trimmed.left(m_gateway.services().config->chat.maxTextChars), QString());
    });
    connect(m_speech, &SpeechInput::failed, this, [this](const QString &code, const QString &message, const QJsonObject &extra) {
        sendError(code, message, extra);
    });

    m_wire->opened(*socket);
}

ChatSession::~ChatSession()
{
    if (m_turn && !m_turn->isFinished())
        m_turn->interrupt(std::nullopt, false, QElapsedTimer());
    m_speech->cancel();
    if (m_listening)
        m_listening->cancel();
    m_gateway.sessionGone(this);
}

QString ChatSession::correlationBase() const
{
    return QStringLiteral("%1#%2").arg(m_userId).arg(m_sessionId);
}

qint64 ChatSession::tokenExpiresAt() const
{
    return m_peer->tokenExpiresAt();
}

const TurnServices &ChatSession::services() const
{
    return m_gateway.services();
}

int ChatSession::ttsSampleRate() const
{
    return m_gateway.ttsScheduler().announcedSampleRate();
}

void ChatSession::startAuthDeadline()
{
    m_peer->startAuthDeadline(m_gateway.services().config->chat.authTimeoutMs);
}

void ChatSession::startNewConversation()
{
    m_conversationId = newShortId();
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
    // Device tokens (long-lived, carried in URLs) open only the wires of clients that cannot log in.
    const AuthGuard &guard = m_gateway.services().accounts->guard();
    const QByteArray bytes = token.toUtf8();
    const auto outcome = m_wire->acceptsDeviceTokens() ? guard.authenticateDeviceOrAccessToken(bytes) : guard.authenticateToken(bytes);
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
        m_wire->hello();
        CorrelationScope scope(correlationBase());
        qCInfo(lcWs).noquote() << "session opened for" << m_username;
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
        m_wire->authenticated(m_peer->tokenExpiresAt());
    });
}

void ChatSession::onText(const QString &message)
{
    if (m_phase == Phase::Closed)
        return;
    std::optional<CorrelationScope> scope;
    if (m_phase == Phase::Ready)
        scope.emplace(correlationBase());
    m_wire->text(message);
}

void ChatSession::chat(const QString &text, const QString &clientMsgId)
{
    const int maxChars = m_gateway.services().config->chat.maxTextChars;
    if (text.size() > maxChars) {
        sendError(chat::kErrTooLarge, QStringLiteral("the text is longer than %1 characters").arg(maxChars));
        return;
    }
    startTurn(text, clientMsgId);
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
    auto *turn = new TurnPipeline(m_gateway.services(), *this, m_userId, m_conversationId, turnNo, m_gateway.nextTurnKey(), text,
                                  correlationId, this);
    m_turn = turn;
    if (m_wire->holdsTurnsUntilPlayback() || listening())
        turn->holdUntilPlayback();
    connect(turn, &TurnPipeline::ended, this, [turn](const QString &) { turn->deleteLater(); });
    turn->start();
}

void ChatSession::stop(std::optional<qint64> playedMs, std::optional<int> turn)
{
    QElapsedTimer sinceStop;
    sinceStop.start();
    if (!m_turn || m_turn->isFinished())
        return; // nothing running: a stop racing the natural end of a turn is not an error
    if (turn && *turn != m_turn->turnNo())
        return; // an older turn: already over
    interruptTurn(playedMs, true, sinceStop);
}

void ChatSession::playbackComplete(int turn)
{
    if (m_turn && !m_turn->isFinished() && m_turn->turnNo() == turn)
        m_turn->playbackComplete();
}

void ChatSession::interruptTurn(std::optional<qint64> playedMs, bool notifyClient, const QElapsedTimer &sinceStop, const QString &reason)
{
    if (!m_turn)
        return;
    TurnPipeline *turn = m_turn;
    m_turn = nullptr;
    if (!playedMs && m_listening && !m_wire->holdsTurnsUntilPlayback()) {
        // A listening client's turns stay open while it plays them, so "the sentences whose audio
        // was sent" would store what it never heard: the playback estimate says what it did.
        playedMs = m_playback.playedMs(turn->turnNo(), monotonicMs());
    }
    turn->interrupt(playedMs, notifyClient, sinceStop, reason);
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
    if (m_phase == Phase::Closed)
        return;
    std::optional<CorrelationScope> scope;
    if (m_phase == Phase::Ready)
        scope.emplace(correlationBase());
    m_wire->binary(message);
}

void ChatSession::speechStart(const QJsonObject &audioStart)
{
    if (listening()) {
        sendError(chat::kErrSpeechInputBusy, QStringLiteral("the microphone is listening hands-free; send listen_stop before push-to-talk"));
        return;
    }
    refuse(m_speech->start(audioStart));
}

void ChatSession::speechAppend(const QByteArray &pcm)
{
    if (listening()) {
        m_listening->append(pcm);
        return;
    }
    if (m_listening && !m_speech->isRecording())
        return; // frames still in flight after listening ended (listen_stop, a cap): not malformed
    refuse(m_speech->append(pcm));
}

void ChatSession::speechFinish()
{
    if (listening())
        return; // the end of a push-to-talk recording that was refused while listening
    refuse(m_speech->finish(correlationBase()));
}

void ChatSession::listenStart(const QJsonObject &message)
{
    const TurnServices &services = m_gateway.services();
    if (!services.asr) {
        sendError(chat::kErrAsrUnavailable,
                  QStringLiteral("speech input is not configured on this server (asr.base_url); type your message instead"));
        return; // SpeechInput ignores every binary frame without an ASR provider
    }
    if (listening()) {
        sendError(chat::kErrAlreadyListening, QStringLiteral("already listening; send listen_stop first to start again"));
        return;
    }
    if (m_speech->isRecording()) {
        sendError(chat::kErrSpeechInputBusy, QStringLiteral("a push-to-talk recording is open; send audio_end before listen_start"));
        return;
    }
    const QString format = message.value(QStringLiteral("format")).toString(QStringLiteral("pcm_s16le"));
    const int rate = message.value(QStringLiteral("sample_rate")).toInt(ListeningSession::kSampleRate);
    if (format != QLatin1String("pcm_s16le") || rate != ListeningSession::kSampleRate) {
        m_speech->dropLateFrames(); // the microphone may already be streaming
        sendError(chat::kErrUnsupportedAudio, QStringLiteral("listening needs sample_rate %1 and format \"pcm_s16le\" (mono)")
                                                    .arg(ListeningSession::kSampleRate));
        return;
    }
    const qint64 now = monotonicMs();
    while (!m_listenStarts.empty() && m_listenStarts.front() <= now - kListenStartWindowMs)
        m_listenStarts.pop_front();
    if (int(m_listenStarts.size()) >= kMaxListenStartsPerMinute) {
        m_speech->dropLateFrames();
        sendError(chat::kErrRateLimited, QStringLiteral("listening was started too often; try again in a moment"),
                  {{QStringLiteral("retry_after_ms"), std::max<qint64>(1, m_listenStarts.front() + kListenStartWindowMs - now)}});
        return;
    }
    m_listenStarts.push_back(now);
    if (!m_listening)
        m_listening = new ListeningSession(*this, *services.asr, *services.config, services.metrics, this);
    m_listening->start();
    if (m_turn && !m_turn->isFinished() && !m_wire->holdsTurnsUntilPlayback())
        m_turn->holdUntilPlayback(); // her voice now playing can be interrupted by voice too
    const VoiceSettings &voice = services.config->voice;
    listenEvent(chat::kListening, {{QStringLiteral("vad"), QJsonObject{{QStringLiteral("endpointing_ms"), voice.endpointingMs},
                                                                        {QStringLiteral("interruption_min_ms"), voice.interruptionMinMs}}}});
}

void ChatSession::listenStop()
{
    if (listening())
        m_listening->stop();
}

// ---- listening ----------------------------------------------------------------------------

void ChatSession::listenEvent(const QString &type, const QJsonObject &fields)
{
    if (m_phase != Phase::Closed)
        m_wire->listenEvent(type, fields);
}

void ChatSession::listenError(const QString &code, const QString &message, const QJsonObject &extra)
{
    sendError(code, message, extra);
}

int ChatSession::bargeableTurn() const
{
    return m_turn && !m_turn->isFinished() && m_speaking ? m_turn->turnNo() : 0;
}

bool ChatSession::herVoiceAudible() const
{
    return bargeableTurn() != 0 || m_playback.audible(monotonicMs());
}

void ChatSession::duck(int turn)
{
    turnEvent(turn, chat::kDuck, {});
}

void ChatSession::unduck(int turn)
{
    turnEvent(turn, chat::kUnduck, {});
    releaseHeldTurn(); // its playback may have ended while it was ducked
}

void ChatSession::stopByVoice(int turn)
{
    QElapsedTimer sinceStop;
    sinceStop.start();
    if (!m_turn || m_turn->isFinished() || m_turn->turnNo() != turn)
        return; // stopped otherwise meanwhile
    // Only what the client played by now is stored: the estimate, since the client cannot say.
    interruptTurn(m_playback.playedMs(turn, monotonicMs()), true, sinceStop, chat::kStopReasonVoice);
}

void ChatSession::utteranceFinal(const QString &text)
{
    startTurn(text.left(m_gateway.services().config->chat.maxTextChars), QString());
}

void ChatSession::releaseHeldTurn()
{
    if (m_heldTurn == 0 || m_releaseTimer.isActive())
        return;
    if (m_listening && m_listening->duckedTurn() == m_heldTurn)
        return; // unduck or stopped decides
    const int held = std::exchange(m_heldTurn, 0);
    if (m_turn && !m_turn->isFinished() && m_turn->turnNo() == held)
        m_turn->playbackComplete();
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
    if (m_phase != Phase::Closed)
        m_wire->error(code, message, extra);
}

// ---- the sender -----------------------------------------------------------------------------

void ChatSession::turnEvent(int turn, const QString &type, QJsonObject fields)
{
    if (turn <= m_closedTurn)
        return;                         // turn_end already sent: nothing of that turn any more
    if (turn == m_stoppedTurn && type != chat::kTurnEnd)
        return;                         // after stopped: only turn_end
    if (type == chat::kStopped) {
        m_stoppedTurn = turn;
        m_playback.flushed(monotonicMs()); // the client stops her voice at once
    }
    if (type == chat::kTurnEnd)
        m_closedTurn = turn;
    if (type == chat::kTextDelta || type == chat::kSentence)
        markSpeaking(turn);
    if (m_phase != Phase::Closed)
        m_wire->turnEvent(turn, type, fields);
    if (type == chat::kTurnEnd) { // the last TTFT / first audio for admins, and the feed's turn_ended
        const QJsonObject stats = fields.value(QStringLiteral("stats")).toObject();
        m_lastTtftMs = stats.value(QStringLiteral("ttft_ms")).toInteger(-1);
        m_lastFirstAudioMs = stats.value(QStringLiteral("first_audio_ms")).toInteger(-1);
        emit m_gateway.turnEnded(m_sessionId, m_userId, turn, fields.value(QStringLiteral("status")).toString(), stats);
        if (!m_queuedChats.empty()) // not from inside the ending turn's own call
            QMetaObject::invokeMethod(this, &ChatSession::startQueuedChat, Qt::QueuedConnection);
    }
}

void ChatSession::turnSynthesized(int turn)
{
    if (turn <= m_closedTurn || turn == m_stoppedTurn || m_phase == Phase::Closed)
        return;
    if (m_wire->holdsTurnsUntilPlayback()) {
        m_wire->turnSynthesized(turn);
        return;
    }
    // Held while listening: open until the client has played it (estimated).
    m_heldTurn = turn;
    m_releaseTimer.start(int(std::clamp<qint64>(m_playback.audibleUntilMs() - monotonicMs(), 0, std::numeric_limits<int>::max())));
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
    if (m_phase == Phase::Closed)
        return;
    m_playback.audioSent(turn, wav::durationMs(pcm.size(), sampleRate > 0 ? sampleRate : 16000), monotonicMs());
    m_wire->turnAudio(turn, sentence, seq, sampleRate, last, pcm);
}

void ChatSession::sendJson(const QJsonObject &object)
{
    if (m_phase != Phase::Closed)
        m_peer->sendJson(object);
}

void ChatSession::sendBinary(const QByteArray &bytes)
{
    if (m_phase != Phase::Closed)
        m_peer->sendBinary(bytes);
}

void ChatSession::close(int code, const QString &reason)
{
    if (m_phase == Phase::Closed)
        return;
    m_phase = Phase::Closed;
    m_queuedChats.clear();
    if (m_listening)
        m_listening->cancel();
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
    if (m_listening)
        m_listening->cancel();
    m_gateway.sessionGone(this);
    deleteLater();
}

} // namespace tianyi
