#pragma once
// One chat socket: authentication (a first {"type":"auth"} message, or ?token= for older clients),
// hello, the client messages (chat, stop, audio_start/binary/audio_end, ping, auth with a fresh token),
// keep-alive, limits, and the ONE sender of the socket. The socket lives as long as its login: it
// is closed with 4001 when its access token expires unless the client sent a fresh one before. The sender enforces guarantee 2 of the protocol: once a turn's `stopped` was sent,
// only its `turn_end` may follow; once its `turn_end` was sent, nothing of it at all.

#include "dialog/speechinput.h"
#include "auth/authguard.h"
#include "dialog/turnpipeline.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <deque>
#include <functional>
#include <optional>

class QWebSocket;

namespace tianyi {

class ChatGateway;
class SpeechInput;
class WebSocketPeer;

class ChatSession : public QObject, public TurnSink
{
    Q_OBJECT
public:
    enum class Phase { AwaitingAuth, Authenticating, Ready, Closed };
    enum class State { Idle, Thinking, Speaking };

    ChatSession(ChatGateway &gateway, QWebSocket *socket, QObject *parent = nullptr);
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
    bool jsonAudio() const { return m_jsonAudio; }
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

    // TurnSink: the one place that writes turn events to the socket.
    void turnEvent(int turn, const QString &type, QJsonObject fields) override;
    void turnStored(int turn, qint64 turnId) override;
    void markSpeaking(int turn); // the first reply text or audio of the turn (once per turn)
    void turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm) override;
    void turnPrompt(const AssembledPrompt &prompt) override { m_lastPrompt = prompt; }

private:
    // The token's principal, or nullopt after closing the socket with 4001 (bad, expired, wrong key).
    std::optional<Principal> verifyToken(const QString &token);
    void authenticate(const QString &token);
    // A fresh access token of the same account on an open socket: the socket lives on past the old one's expiry.
    void reauthenticate(const QString &token);
    // Reads the account behind a verified token on the storage thread (disabled or deleted: refused).
    void checkAccount(const Principal &principal, std::function<void(const QString &refusal, const QString &username, const QString &nickname)> done);
    void onText(const QString &message);
    void onBinary(const QByteArray &message);
    void onDisconnected();
    void handleMessage(const QJsonObject &message);
    void handleChat(const QJsonObject &message);
    void handleStop(const QJsonObject &message);
    void refuse(const std::optional<SpeechInput::Refusal> &refusal);
    void startTurn(const QString &text, const QString &clientMsgId);
    void beginTurn(const QString &text, const QString &clientMsgId);
    void startQueuedChat();
    void interruptTurn(std::optional<qint64> playedMs, bool notifyClient, const QElapsedTimer &sinceStop);
    void malformed(const QString &message);
    void sendError(const QString &code, const QString &message, const QJsonObject &extra = {});
    void sendJson(const QJsonObject &object);
    QString correlationBase() const;

    ChatGateway &m_gateway;
    WebSocketPeer *m_peer = nullptr;   // child: the socket, its limits, pings and auth deadline
    SpeechInput *m_speech = nullptr;   // child: push-to-talk recording and its ASR job
    QString m_sessionId;
    Phase m_phase = Phase::AwaitingAuth;
    bool m_jsonAudio = false;
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
