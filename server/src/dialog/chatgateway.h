#pragma once
// The chat socket endpoints ("/ws", and other clients' protocols on their paths): accepts handshaken sockets from the FrontDoor, owns the sessions,
// the global TTS scheduler and what every turn shares; enforces the per-user limits (sessions per
// user, turns per minute across devices) and records the chat metrics.

#include "dialog/chatwire.h"
#include "dialog/turnservices.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

class QWebSocketServer;

namespace tianyi {

class ChatSession;
class PromptContextCache;
class TtsScheduler;

class ChatGateway : public QObject
{
    Q_OBJECT
public:
    // Every required part of services must be set (TurnServices::missingPart()).
    explicit ChatGateway(const TurnServices &services, QObject *parent = nullptr);
    ~ChatGateway() override;

    // Takes the sockets of a QWebSocketServer (FrontDoor::addWebSocketEndpoint("/ws")); each
    // becomes a session speaking the wire format the factory makes.
    void attach(QWebSocketServer *server, ChatWireFactory wires);

    const TurnServices &services() const { return m_services; }
    TtsScheduler &ttsScheduler() { return *m_services.tts; }
    // The per-user prompt context of users with an open session (changes are announced to it).
    PromptContextCache &promptContexts() { return *m_services.contexts; }

    int sessionCount() const { return int(m_sessions.size()); }
    int sessionCount(qint64 userId) const { return m_perUser.value(userId); }
    QList<ChatSession *> sessions() const;
    // Closes every session (server shutdown: 1001).
    void closeAll(int code, const QString &reason);
    // Closes every session of one user (disabled or deleted account); returns how many.
    int closeSessionsOf(qint64 userId, int code, const QString &reason);
    // Closes the sockets authenticated with access tokens of one login of the user.
    int closeSessionsOfLogin(qint64 userId, const QString &loginId, int code, const QString &reason);

    // Session bookkeeping (ChatSession calls these).
    bool admitSession(ChatSession *session, qint64 userId);  // false: the user's session limit is reached
    void sessionGone(ChatSession *session);
    // Per-user turn rate limit across devices: nullopt = allowed (and counted), else retry_after_ms.
    std::optional<qint64> admitTurn(qint64 userId);
    quint64 nextTurnKey() { return ++m_turnKeys; }

signals:
    // The live admin feed (/ws/admin) follows these. Closed sessions and ended turns carry values,
    // not the session: they may be emitted while the session is being destroyed.
    void sessionOpened(tianyi::ChatSession *session);
    void sessionClosed(const QString &sessionId, qint64 userId, const QString &username);
    void turnStarted(tianyi::ChatSession *session, int turn, const QString &userText);
    // The turn's first reply text or audio went out: the session is speaking, no longer thinking.
    void turnSpeaking(const QString &sessionId, qint64 userId, int turn);
    void turnEnded(const QString &sessionId, qint64 userId, int turn, const QString &status, const QJsonObject &stats);

private:
    int closeSessionsWhere(const std::function<bool(const ChatSession &)> &matches, int code, const QString &reason);
    void accept(QWebSocketServer *server, const ChatWireFactory &wires);
    void publishSessions();

    TurnServices m_services;
    QSet<ChatSession *> m_sessions;
    QHash<ChatSession *, qint64> m_admitted;
    QHash<qint64, int> m_perUser;
    QHash<qint64, std::deque<qint64>> m_turnTimes;   // per user, ms of the turns of the last minute
    quint64 m_turnKeys = 0;
};

} // namespace tianyi
