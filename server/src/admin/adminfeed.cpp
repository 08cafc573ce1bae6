#include "admin/adminfeed.h"

#include "admin/adminservice.h"
#include "base/config.h"
#include "base/logging.h"
#include "dialog/chatgateway.h"
#include "dialog/chatsession.h"
#include "net/websocketpeer.h"

#include <tianyi/chatprotocol.h>

#include <QDateTime>
#include <QJsonDocument>
#include <QUrlQuery>
#include <QWebSocket>
#include <QWebSocketServer>
#include <algorithm>

namespace tianyi {

namespace {
constexpr int kMaxIncomingBytes = 64 * 1024; // admins send auth and ping only

QString nowIso()
{
    return AdminService::isoUtc(QDateTime::currentMSecsSinceEpoch());
}
} // namespace

// ---- one admin socket -----------------------------------------------------------------------

AdminFeedClient::AdminFeedClient(AdminFeed &feed, QWebSocket *socket, QObject *parent)
    : QObject(parent)
    , m_feed(feed)
{
    const Config &cfg = feed.config();
    const QString token = QUrlQuery(socket->requestUrl()).queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
    m_peer = new WebSocketPeer(socket, {kMaxIncomingBytes, cfg.limits.wsMaxSendQueueBytes, cfg.chat.pingIntervalMs, cfg.chat.pongTimeoutMs}, this);
    connect(m_peer, &WebSocketPeer::textReceived, this, &AdminFeedClient::onText);
    connect(m_peer, &WebSocketPeer::binaryReceived, this, [this](const QByteArray &) {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
    });
    connect(m_peer, &WebSocketPeer::disconnected, this, &AdminFeedClient::onDisconnected);
    connect(m_peer, &WebSocketPeer::silent, this, [this](qint64) { close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("no pong")); });
    connect(m_peer, &WebSocketPeer::authDeadlinePassed, this, [this]() {
        if (m_phase == Phase::AwaitingAuth)
            close(chat::kCloseUnauthorized, QStringLiteral("no auth message in time"));
    });
    // Like a chat socket, the feed lives as long as its admin's access token unless renewed by `auth`.
    connect(m_peer, &WebSocketPeer::tokenExpired, this, [this]() {
        close(chat::kCloseUnauthorized, QStringLiteral("the access token expired; send {\"type\":\"auth\"} with a fresh one before it does"));
    });
    connect(m_peer, &WebSocketPeer::slowConsumer, this, [this](qint64 queued) {
        qCWarning(lcWs) << "slow admin feed consumer:" << queued << "bytes queued; closing";
        close(chat::kCloseSlowConsumer, QStringLiteral("send queue over its limit"));
    });

    if (!token.isEmpty())
        authenticate(token);
    else
        m_peer->startAuthDeadline(cfg.chat.authTimeoutMs);
}

AdminFeedClient::~AdminFeedClient()
{
    m_feed.clientGone(this);
}

void AdminFeedClient::authenticate(const QString &token)
{
    m_peer->stopAuthDeadline();
    m_phase = Phase::Authenticating;
    QPointer<AdminFeedClient> self(this);
    m_feed.admin().authorize(token.toUtf8(), [self](Outcome<Principal> who) {
        if (!self || self->m_phase == Phase::Closed)
            return;
        if (!who.ok()) {
            self->refuse(who.error());
            return;
        }
        self->m_userId = who.value().userId;
        self->m_phase = Phase::Ready;
        self->m_peer->armTokenExpiry(who.value().expiresAt);
        AdminService &admin = self->m_feed.admin();
        self->send({{QStringLiteral("type"), QStringLiteral("hello")},
                    {QStringLiteral("protocol"), chat::kProtocolVersion},
                    {QStringLiteral("at"), nowIso()},
                    {QStringLiteral("user_id"), self->m_userId},
                    {QStringLiteral("token_expires_at"), self->m_peer->tokenExpiresAt()},
                    {QStringLiteral("sessions"), admin.sessionsJson()},
                    {QStringLiteral("queues"), admin.queuesJson()}});
        if (self->m_phase != Phase::Ready) // dropped by that first send
            return;
        self->m_feed.clientReady(self);
        qCInfo(lcWs) << "admin feed opened for user" << self->m_userId;
    });
}

void AdminFeedClient::refuse(const HttpError &e)
{
    const bool forbidden = e.kind == HttpError::Kind::Forbidden || e.kind == HttpError::Kind::AccountDisabled;
    const QString reason = forbidden ? QStringLiteral("admin role required: %1").arg(e.message) : e.message;
    close(forbidden ? AdminFeed::kCloseForbidden : chat::kCloseUnauthorized, reason.isEmpty() ? QStringLiteral("invalid token") : reason.left(120));
}

void AdminFeedClient::onText(const QString &message)
{
    if (m_phase == Phase::Closed || m_phase == Phase::Authenticating)
        return;
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8());
    const QJsonObject object = doc.object();
    const QString type = object.value(QStringLiteral("type")).toString();
    if (m_phase == Phase::AwaitingAuth) {
        const QString token = object.value(QStringLiteral("token")).toString();
        if (type != chat::kAuth || token.isEmpty()) {
            close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
            return;
        }
        authenticate(token);
        return;
    }
    if (type == chat::kAuth) {
        renew(object.value(QStringLiteral("token")).toString());
        return;
    }
    if (type == chat::kPing)
        send({{QStringLiteral("type"), chat::kPong}});
    else
        send({{QStringLiteral("type"), chat::kError},
              {QStringLiteral("code"), chat::kErrBadRequest},
              {QStringLiteral("message"), QStringLiteral("the admin feed only takes auth and ping; use the HTTP API for actions")}});
}

// A fresh access token of the same admin on the open feed: it lives on past the old token's expiry.
// Anything else (another account, no longer an enabled admin, a bad token) closes it.
void AdminFeedClient::renew(const QString &token)
{
    QPointer<AdminFeedClient> self(this);
    m_feed.admin().authorize(token.toUtf8(), [self](Outcome<Principal> who) {
        if (!self || self->m_phase != Phase::Ready)
            return;
        if (!who.ok()) {
            self->refuse(who.error());
            return;
        }
        if (who.value().userId != self->m_userId) {
            self->close(chat::kCloseUnauthorized, QStringLiteral("the token is of another account"));
            return;
        }
        self->m_peer->armTokenExpiry(std::max(who.value().expiresAt, self->m_peer->tokenExpiresAt()));
        self->send({{QStringLiteral("type"), chat::kAuthenticated}, {QStringLiteral("token_expires_at"), self->m_peer->tokenExpiresAt()}});
    });
}

// Sends an event (an empty one only checks the queue). Over the cap: the admin is dropped.
void AdminFeedClient::send(const QJsonObject &event)
{
    if (m_phase == Phase::Closed)
        return;
    if (event.isEmpty())
        m_peer->checkBackpressure();
    else
        m_peer->sendJson(event);
}

void AdminFeedClient::close(int code, const QString &reason)
{
    if (m_phase == Phase::Closed)
        return;
    m_phase = Phase::Closed;
    m_feed.clientGone(this);
    m_peer->close(code, reason);
}

void AdminFeedClient::onDisconnected()
{
    m_phase = Phase::Closed;
    m_feed.clientGone(this);
    deleteLater();
}

// ---- the feed -------------------------------------------------------------------------------

AdminFeed::AdminFeed(AdminService &admin, ChatGateway &chat, const Config &config, QObject *parent)
    : QObject(parent)
    , m_admin(admin)
    , m_chat(chat)
    , m_config(config)
{
    auto type = [](const char *name) { return QString::fromLatin1(name); };
    connect(&m_chat, &ChatGateway::sessionOpened, this, [this, type](ChatSession *session) {
        broadcast({{QStringLiteral("type"), type("session_opened")}, {QStringLiteral("session"), AdminService::sessionJson(*session)}});
    });
    connect(&m_chat, &ChatGateway::sessionClosed, this, [this, type](const QString &sessionId, qint64 userId, const QString &username) {
        broadcast({{QStringLiteral("type"), type("session_closed")},
                   {QStringLiteral("session_id"), sessionId},
                   {QStringLiteral("user_id"), userId},
                   {QStringLiteral("username"), username}});
    });
    connect(&m_chat, &ChatGateway::turnStarted, this, [this, type](ChatSession *session, int turn, const QString &userText) {
        broadcast({{QStringLiteral("type"), type("turn_started")},
                   {QStringLiteral("session_id"), session->sessionId()},
                   {QStringLiteral("user_id"), session->userId()},
                   {QStringLiteral("username"), session->username()},
                   {QStringLiteral("turn"), turn},
                   {QStringLiteral("user_text"), userText}});
    });
    connect(&m_chat, &ChatGateway::turnSpeaking, this, [this, type](const QString &sessionId, qint64 userId, int turn) {
        broadcast({{QStringLiteral("type"), type("turn_speaking")},
                   {QStringLiteral("session_id"), sessionId},
                   {QStringLiteral("user_id"), userId},
                   {QStringLiteral("turn"), turn}});
    });
    connect(&m_chat, &ChatGateway::turnEnded, this,
            [this, type](const QString &sessionId, qint64 userId, int turn, const QString &status, const QJsonObject &stats) {
                // The stored turn's id lets the operator open it (GET /api/v1/admin/turns/{id}).
                auto storedTurnIdOf = [this](const QString &id) {
                    const ChatSession *s = m_admin.findSession(id);
                    return s && s->lastTurnId() > 0 ? QJsonValue(s->lastTurnId()) : QJsonValue(QJsonValue::Null);
                };
                broadcast({{QStringLiteral("type"), type("turn_ended")},
                           {QStringLiteral("session_id"), sessionId},
                           {QStringLiteral("user_id"), userId},
                           {QStringLiteral("turn"), turn},
                           {QStringLiteral("status"), status},
                           {QStringLiteral("stats"), stats},
                           {QStringLiteral("turn_id"), storedTurnIdOf(sessionId)}});
            });
    connect(&m_admin, &AdminService::usersChanged, this, [this, type](const QJsonObject &user, const QString &change) {
        broadcast({{QStringLiteral("type"), type("users_changed")}, {QStringLiteral("change"), change}, {QStringLiteral("user"), user}});
        // A disabled admin loses the feed at once, as the HTTP API.
        const qint64 id = user.value(QStringLiteral("id")).toInteger();
        if (change == QLatin1String("disabled")) {
            const QList<AdminFeedClient *> clients = m_clients;
            for (AdminFeedClient *c : clients)
                if (c->userId() == id)
                    c->close(kCloseForbidden, QStringLiteral("admin role required: this account is disabled"));
        }
    });
    m_queuesTimer.setInterval(kQueuesIntervalMs);
    connect(&m_queuesTimer, &QTimer::timeout, this, [this, type]() {
        broadcast({{QStringLiteral("type"), type("queues")}, {QStringLiteral("queues"), m_admin.queuesJson()}});
    });
}

AdminFeed::~AdminFeed()
{
    m_queuesTimer.stop();
    const QList<AdminFeedClient *> clients = findChildren<AdminFeedClient *>(QString(), Qt::FindDirectChildrenOnly);
    for (AdminFeedClient *c : clients)
        c->close(chat::kCloseServerShutdown, QStringLiteral("server shutting down"));
    for (AdminFeedClient *c : clients)
        delete c;
    m_clients.clear();
}

void AdminFeed::attach(QWebSocketServer *server)
{
    connect(server, &QWebSocketServer::newConnection, this, [this, server]() { accept(server); });
}

void AdminFeed::accept(QWebSocketServer *server)
{
    while (server->hasPendingConnections()) {
        QWebSocket *socket = server->nextPendingConnection();
        if (!socket)
            break;
        new AdminFeedClient(*this, socket, this);
    }
}

void AdminFeed::closeAll(int code, const QString &reason)
{
    const QList<AdminFeedClient *> clients = findChildren<AdminFeedClient *>(QString(), Qt::FindDirectChildrenOnly);
    for (AdminFeedClient *c : clients)
        c->close(code, reason);
}

int AdminFeed::adminCount() const
{
    return int(m_clients.size());
}

void AdminFeed::clientReady(AdminFeedClient *client)
{
    if (!m_clients.contains(client))
        m_clients.append(client);
    if (!m_queuesTimer.isActive())
        m_queuesTimer.start();
}

void AdminFeed::clientGone(AdminFeedClient *client)
{
    m_clients.removeAll(client);
    if (m_clients.isEmpty())
        m_queuesTimer.stop();
}

void AdminFeed::broadcast(QJsonObject event)
{
    if (m_clients.isEmpty())
        return;
    if (!event.contains(QStringLiteral("at")))
        event.insert(QStringLiteral("at"), nowIso());
    // A client may be dropped (slow) while sending: iterate over a copy.
    const QList<AdminFeedClient *> clients = m_clients;
    for (AdminFeedClient *c : clients)
        c->send(event);
}

} // namespace tianyi
