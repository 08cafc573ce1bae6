#pragma once
// One chat socket, whatever its wire format (a ChatWire: tianyi's protocol on "/ws", others on
// their own paths): authentication, admission, the turns (queued chats, barge-in), speech input,
// keep-alive, limits, and the ONE sender of the socket. The socket lives as long as its login: it
// is closed with 4001 when its access token expires unless the client sent a fresh one before. The
// sender enforces guarantee 2 of the protocol: once a turn's `stopped` was sent, only its `turn_end`
// may follow; once its `turn_end` was sent, nothing of it at all; the wire sees only what passed.
// Hands-free listening (ListeningSession) is part of the session: while it listens, binary frames
// are its microphone, and each turn stays open until the client has (by the server's estimate,
// PlaybackClock) played her voice, so that a voice barge-in during that playback is a real stop
// that stores only what was heard, and duck / unduck / stopped never follow the turn's turn_end.

#include "dialog/speechinput.h"
#include "auth/authguard.h"
#include "dialog/chatwire.h"
#include "dialog/listeningsession.h"
#include "dialog/playbackclock.h"
#include "dialog/turnpipeline.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

class QWebSocket;

namespace tianyi {

class ChatGateway;
class SpeechInput;
class WebSocketPeer;

class ChatSession : public QObject, public TurnSink, private ListeningHost
{
    Q_OBJECT
public:
    enum class Phase { AwaitingAuth, Authenticating, Ready, Closed };
    enum class State { Idle, Thinking, Speaking };

    ChatSession(ChatGateway &gateway, QWebSocket *socket, std::unique_ptr<ChatWire> wire, QObject *parent = nullptr);
    ~ChatSession() override;

    QString sessionId() const { return m_sessionId; }
    qint64 userId() const { return m_userId; }
    // The login of the access token the socket was last authenticated with (empty: an older token).
    const QString &loginId() const { return m_loginId; }
    QString username() const { return m_username; }
    Phase phase() const { return m_phase; }
    State state() const;
    static QString stateName(State state);
    int currentTurn() const;            // 0 when idle
    const QString &nickname() const { return m_nickname; }
    qint64 tokenExpiresAt() const;      // epoch seconds
    const TurnServices &services() const;
    int ttsSampleRate() const;          // the rate the TTS scheduler announces
    // The conversation the session's turns are stored under (turns.session_id): the session id
    // until a wire starts a new one.
    const QString &conversationId() const { return m_conversationId; }
    // What the operator sees of a session.
    qint64 openedAtMs() const { return m_openedAtMs; }          // when it was admitted (0 before)
    QString userAgent() const { return m_userAgent; }           // of the handshake, if sent
    QString device() const { return m_device; }                 // ?device= of the handshake, if sent
    int turnCount() const { return m_turnCounter; }
    qint64 lastTtftMs() const { return m_lastTtftMs; }          // of the last ended turn; -1 none
    // The last assembled prompt as JSON for admins (empty: none yet); serialized only when asked for.
    QJsonObject lastPrompt() const { return m_lastPrompt ? m_lastPrompt->toJson() : QJsonObject(); }
    qint64 lastFirstAudioMs() const { return m_lastFirstAudioMs; }
    qint64 lastTurnId() const { return m_lastTurnId; }          // stored id of the last ended turn; 0 none/unknown

    // Admin / shutdown.
    void stopCurrentTurn();
    void close(int code, const QString &reason);

    // The verbs a wire calls for its client's messages.
    void authenticate(const QString &token);
    void startAuthDeadline();           // chat.auth_timeout_ms for a first-message authentication
    // A fresh access token of the same account on an open socket: the socket lives on past the old one's expiry.
    void reauthenticate(const QString &token);
    // A chat message (text already trimmed and non-empty): too long answers too_large.
    void chat(const QString &text, const QString &clientMsgId);
    // Barge-in: stops the running turn (of number `turn` when given), storing what was heard
    // (playedMs of its audio when given, else the sentences whose audio was fully sent).
    void stop(std::optional<qint64> playedMs, std::optional<int> turn);
    // The client has played turn `turn`'s audio (wires that hold turns until playback).
    void playbackComplete(int turn);
    void speechStart(const QJsonObject &audioStart);
    void speechAppend(const QByteArray &pcm);
    void speechFinish();
    // Hands-free listening: listen_start {sample_rate, format} answers `listening` or an error;
    // listen_stop ends it (an utterance in progress is still recognized).
    void listenStart(const QJsonObject &message);
    void listenStop();
    bool listening() const { return m_listening && m_listening->isListening(); }
    // Later turns are stored under a new conversation id (a wire's "new chat").
    void startNewConversation();
    // A protocol violation: answered with bad_request; closes after chat.max_malformed.
    void malformed(const QString &message);
    void sendError(const QString &code, const QString &message, const QJsonObject &extra = {});
    // Raw sends of the wire (dropped after the close).
    void sendJson(const QJsonObject &object);
    void sendBinary(const QByteArray &bytes);

    // TurnSink: the one place that writes turn events to the socket.
    void turnEvent(int turn, const QString &type, QJsonObject fields) override;
    void turnStored(int turn, qint64 turnId) override;
    void markSpeaking(int turn); // the first reply text or audio of the turn (once per turn)
    void turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm) override;
    void turnPrompt(const AssembledPrompt &prompt) override { m_lastPrompt = prompt; }
    void turnSynthesized(int turn) override;

private:
    // The token's principal, or nullopt after closing the socket with 4001 (bad, expired, wrong key).
    std::optional<Principal> verifyToken(const QString &token);
    // Reads the account behind a verified token on the storage thread (disabled or deleted: refused).
    void checkAccount(const Principal &principal, std::function<void(const QString &refusal, const QString &username, const QString &nickname)> done);
    void onText(const QString &message);
    void onBinary(const QByteArray &message);
    void onDisconnected();
    void refuse(const std::optional<SpeechInput::Refusal> &refusal);
    void startTurn(const QString &text, const QString &clientMsgId);
    void beginTurn(const QString &text, const QString &clientMsgId);
    void startQueuedChat();
    void interruptTurn(std::optional<qint64> playedMs, bool notifyClient, const QElapsedTimer &sinceStop, const QString &reason = {});
    // A turn held for the client's playback while listening ends when that playback has (by the
    // estimate) ended, unless a voice has ducked it: then when the duck is resolved.
    void releaseHeldTurn();
    qint64 monotonicMs() const { return m_monotonic.elapsed(); }

    // ListeningHost.
    void listenEvent(const QString &type, const QJsonObject &fields) override;
    void listenError(const QString &code, const QString &message, const QJsonObject &extra) override;
    int bargeableTurn() const override;
    bool herVoiceAudible() const override;
    void duck(int turn) override;
    void unduck(int turn) override;
    void stopByVoice(int turn) override;
    void utteranceFinal(const QString &text) override;
    QString listeningCorrelationId() const override { return correlationBase(); }
    QString correlationBase() const;

    ChatGateway &m_gateway;
    std::unique_ptr<ChatWire> m_wire;
    WebSocketPeer *m_peer = nullptr;   // child: the socket, its limits, pings and auth deadline
    SpeechInput *m_speech = nullptr;   // child: push-to-talk recording and its ASR job
    ListeningSession *m_listening = nullptr; // child, from the first listen_start: hands-free listening
    // listen_start toggles a microphone stream (voice processing state): at most this many a minute.
    static constexpr int kMaxListenStartsPerMinute = 30;
    static constexpr qint64 kListenStartWindowMs = 60 * 1000;
    std::deque<qint64> m_listenStarts;  // monotonic ms of the last minute's listen_starts
    QElapsedTimer m_monotonic;
    PlaybackClock m_playback;           // her voice on the client, estimated
    QTimer m_releaseTimer;              // releases m_heldTurn at the estimated end of its playback
    int m_heldTurn = 0;                 // all its audio sent, open until played
    QString m_sessionId;
    QString m_conversationId;
    Phase m_phase = Phase::AwaitingAuth;
    qint64 m_userId = 0;
    QString m_username;
    QString m_loginId;
    QString m_nickname;
    bool m_admitted = false;
    int m_malformed = 0;

    // A chat that arrives while the previous turn's turn_end still waits for that turn to be stored
    // (see TurnPipeline::ended) starts right after that turn_end, so turns stay in order.
    struct QueuedChat {
        QString text;
        QString clientMsgId;
    };
    static constexpr int kMaxQueuedChats = 4;
    static constexpr int kQueuedChatsRetryAfterMs = 1000; // when that queue is full: rate_limited
    std::deque<QueuedChat> m_queuedChats;

    QPointer<TurnPipeline> m_turn;
    int m_turnCounter = 0;
    int m_closedTurn = 0;               // turn_end sent for this turn and all before
    int m_stoppedTurn = 0;              // stopped sent: only its turn_end may follow
    bool m_speaking = false;

    // Seen by admins.
    qint64 m_openedAtMs = 0;
    QString m_userAgent;
    QString m_device;
    qint64 m_lastTtftMs = -1;
    std::optional<AssembledPrompt> m_lastPrompt; // bounded by the prompt budgets
    qint64 m_lastFirstAudioMs = -1;
    qint64 m_lastTurnId = 0;
};

} // namespace tianyi
