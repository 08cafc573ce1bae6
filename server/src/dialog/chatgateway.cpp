#include "dialog/chatgateway.h"

#include "base/config.h"
#include "base/logging.h"
#include "dialog/chatsession.h"
#include "dialog/listeningsession.h"
#include "prompt/promptcontextcache.h"
#include "memory/memoryservice.h"
#include "metrics/metrics.h"

#include <tianyi/chatprotocol.h>

#include <QDateTime>
#include <QWebSocket>
#include <QWebSocketServer>

namespace tianyi {

namespace {
constexpr qint64 kRateWindowMs = 60 * 1000;
const QString kSessionsGauge = QStringLiteral("tianyi_chat_sessions");
} // namespace

ChatGateway::ChatGateway(const TurnServices &services, QObject *parent)
    : QObject(parent)
    , m_services(services)
{
    Q_ASSERT_X(m_services.missingPart().isEmpty(), "ChatGateway", "a required part of TurnServices is missing");
    Metrics &metrics = *m_services.metrics;
    metrics.declareGauge(kSessionsGauge, QStringLiteral("Open chat sessions (authenticated sockets)."));
    metrics.declareCounter(QStringLiteral("tianyi_chat_turns_total"), QStringLiteral("Finished chat turns, by status."));
    metrics.declareHistogram(QStringLiteral("tianyi_chat_ttft_seconds"), QStringLiteral("Time from a chat message to the first reply text."),
                             Metrics::latencyBuckets());
    metrics.declareHistogram(QStringLiteral("tianyi_chat_first_audio_seconds"),
                             QStringLiteral("Time from a chat message to the first audio chunk sent."), Metrics::latencyBuckets());
    metrics.declareHistogram(QStringLiteral("tianyi_chat_stop_seconds"),
                             QStringLiteral("Time from receiving a stop to everything of the turn being cancelled."), Metrics::latencyBuckets());
    ListeningSession::declareMetrics(metrics);
    publishSessions();
}

ChatGateway::~ChatGateway()
{
    // Sessions go before the services they use (the composition root destroys those after us).
    const auto sessions = m_sessions;
    for (ChatSession *s : sessions) {
        s->close(chat::kCloseServerShutdown, QStringLiteral("server shutting down"));
    }
    const auto children = findChildren<ChatSession *>(QString(), Qt::FindDirectChildrenOnly);
    for (ChatSession *s : children)
        delete s;
}

int ChatGateway::closeSessionsOf(qint64 userId, int code, const QString &reason)
{
    return closeSessionsWhere([userId](const ChatSession &s) { return s.userId() == userId; }, code, reason);
}

int ChatGateway::closeSessionsOfLogin(qint64 userId, const QString &loginId, int code, const QString &reason)
{
    if (loginId.isEmpty())
        return 0;
    return closeSessionsWhere([&](const ChatSession &s) { return s.userId() == userId && s.loginId() == loginId; }, code, reason);
}

int ChatGateway::closeSessionsWhere(const std::function<bool(const ChatSession &)> &matches, int code, const QString &reason)
{
    int n = 0;
    const QList<ChatSession *> all = sessions();
    for (ChatSession *s : all) {
        if (matches(*s)) {
            s->close(code, reason);
            ++n;
        }
    }
    return n;
}

void ChatGateway::attach(QWebSocketServer *server, ChatWireFactory wires)
{
    connect(server, &QWebSocketServer::newConnection, this, [this, server, wires = std::move(wires)]() { accept(server, wires); });
}

void ChatGateway::accept(QWebSocketServer *server, const ChatWireFactory &wires)
{
    while (server->hasPendingConnections()) {
        QWebSocket *socket = server->nextPendingConnection();
        if (!socket)
            break;
        auto *session = new ChatSession(*this, socket, wires(), this);
        m_sessions.insert(session);
    }
}

QList<ChatSession *> ChatGateway::sessions() const
{
    return m_admitted.keys();
}

void ChatGateway::closeAll(int code, const QString &reason)
{
    const auto sessions = m_sessions;
    for (ChatSession *s : sessions)
        s->close(code, reason);
}

bool ChatGateway::admitSession(ChatSession *session, qint64 userId)
{
    int &count = m_perUser[userId];
    if (count >= m_services.config->chat.maxSessionsPerUser) {
        if (count == 0)
            m_perUser.remove(userId);
        return false;
    }
    if (++count == 1) {
        // The user's first session: their turns' context and memory vectors are loaded before
        // they send anything, so a turn's request need not wait for storage.
        m_services.contexts->acquire(userId);
        m_services.memory->preload(userId);
    }
    m_admitted.insert(session, userId);
    publishSessions();
    return true;
}

void ChatGateway::sessionGone(ChatSession *session)
{
    m_sessions.remove(session);
    const auto it = m_admitted.find(session);
    if (it == m_admitted.end())
        return;
    const qint64 userId = it.value();
    m_admitted.erase(it);
    if (--m_perUser[userId] <= 0) {
        m_perUser.remove(userId);
        m_services.contexts->release(userId);
    }
    publishSessions();
    emit sessionClosed(session->sessionId(), userId, session->username());
}

std::optional<qint64> ChatGateway::admitTurn(qint64 userId)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 windowStart = now - kRateWindowMs;
    if (m_turnTimes.size() > 10000) { // forget users with no turn in the window
        for (auto it = m_turnTimes.begin(); it != m_turnTimes.end();) {
            if (it->empty() || it->back() <= windowStart)
                it = m_turnTimes.erase(it);
            else
                ++it;
        }
    }
    auto &window = m_turnTimes[userId];
    while (!window.empty() && window.front() <= windowStart)
        window.pop_front();
    const int limit = m_services.config->chat.turnsPerMinute;
    if (limit > 0 && int(window.size()) >= limit)
        return std::max<qint64>(1, window.front() + kRateWindowMs - now);
    window.push_back(now);
    return std::nullopt;
}

void ChatGateway::publishSessions()
{
    m_services.metrics->setGauge(kSessionsGauge, {}, double(m_admitted.size()));
}

} // namespace tianyi
