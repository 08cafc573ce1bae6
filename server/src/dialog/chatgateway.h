#pragma once
// The chat socket endpoint "/ws": accepts handshaken sockets from the FrontDoor, owns the sessions,
// the global TTS scheduler and what every turn shares; enforces the per-user limits (sessions per
// user, turns per minute across devices) and records the chat metrics.

#include "app/config.h"
#include "dialog/personacard.h"
#include "dialog/turnpipeline.h"

#include <QHash>
#include <QJsonObject> // admin: turnEnded stats
#include <QObject>
#include <QPointer>
#include <QSet>
#include <deque>
#include <memory>
#include <optional>

class QWebSocketServer;

namespace tianyi {

class AccountService;
class AsrProvider;
class AudioStore;
class ChatSession;
class Database;
class Metrics;
class PromptContextCache;
class TtsScheduler;

struct ChatServices {
    const Config *config = nullptr;
    Database *db = nullptr;
    Metrics *metrics = nullptr;
    AccountService *accounts = nullptr;
    LlmProvider *llm = nullptr;
    TtsProvider *tts = nullptr;
    AsrProvider *asr = nullptr;            // null: speech input answers asr_unavailable
    const TtsVoiceBook *voices = nullptr;
    AudioStore *audio = nullptr;           // null: synthesized audio is not kept
};

class ChatGateway : public QObject
{
    Q_OBJECT
public:
    // Loads the persona card (chat.persona); nullptr with *error when the server must not start.
    static std::unique_ptr<ChatGateway> create(const ChatServices &services, QString *error);
    ChatGateway(const ChatServices &services, PersonaCard persona, QObject *parent = nullptr);
    ~ChatGateway() override;

    // Takes the sockets of a QWebSocketServer (FrontDoor::addWebSocketEndpoint("/ws")).
    void attach(QWebSocketServer *server);
    void setAudioStore(AudioStore *store) { m_env.audio = store; }
    void setKnowledge(const KnowledgeBase *knowledge) { m_env.knowledge = knowledge; } // knowledge: before the first turn
    // The parent of the attached QWebSocketServer (the FrontDoor, which owns the TCP sockets).

    const ChatServices &services() const { return m_services; }
    const PersonaCard &persona() const { return m_persona; }
    const TurnEnvironment &turnEnvironment() const { return m_env; }
    TtsScheduler &ttsScheduler() { return *m_scheduler; }
    // The per-user prompt context of users with an open session (changes are announced to it).
    PromptContextCache &promptContexts() { return *m_contexts; }

    int sessionCount() const { return int(m_sessions.size()); }
    int sessionCount(qint64 userId) const { return m_perUser.value(userId); }
    QList<ChatSession *> sessions() const;
    // Closes every session (server shutdown: 1001).
    void closeAll(int code, const QString &reason);
    // Closes every session of one user (disabled or deleted account); returns how many.
    int closeSessionsOf(qint64 userId, int code, const QString &reason);

    // Session bookkeeping (ChatSession calls these).
    bool admitSession(ChatSession *session, qint64 userId);  // false: the user's session limit is reached
    void sessionGone(ChatSession *session);
    // Per-user turn rate limit across devices: nullopt = allowed (and counted), else retry_after_ms.
    std::optional<qint64> admitTurn(qint64 userId);
    quint64 nextTurnKey() { return ++m_turnKeys; }
    // The sample rate announced in hello: the built-in synthesizer's, else the last one a TTS
    // backend reported (GPT-SoVITS v2: 32000 until then). Every audio chunk carries its own rate.
    int announcedSampleRate() const { return m_sampleRate; }
    void noteSampleRate(int rate) { if (rate > 0) m_sampleRate = rate; }

signals:
    // admin: the live feed (/ws/admin) follows these. Closed sessions and ended turns carry values,
    // not the session: they may be emitted while the session is being destroyed.
    void sessionOpened(tianyi::ChatSession *session);
    void sessionClosed(const QString &sessionId, qint64 userId, const QString &username);
    void turnStarted(tianyi::ChatSession *session, int turn, const QString &userText);
    // The turn's first reply text or audio went out: the session is speaking, no longer thinking.
    void turnSpeaking(const QString &sessionId, qint64 userId, int turn);
    void turnEnded(const QString &sessionId, qint64 userId, int turn, const QString &status, const QJsonObject &stats);

private:
    void accept(QWebSocketServer *server);
    void publishSessions();

    ChatServices m_services;
    PersonaCard m_persona;
    TtsScheduler *m_scheduler = nullptr;
    PromptContextCache *m_contexts = nullptr; // child
    TurnEnvironment m_env;
    QSet<ChatSession *> m_sessions;
    QHash<ChatSession *, qint64> m_admitted;
    QHash<qint64, int> m_perUser;
    QHash<qint64, std::deque<qint64>> m_turnTimes;   // per user, ms of the turns of the last minute
    quint64 m_turnKeys = 0;
    int m_sampleRate = 32000;
};

} // namespace tianyi
