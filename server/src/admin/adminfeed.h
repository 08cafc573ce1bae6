#pragma once
// The live feed "/ws/admin" for the operator app: authentication like the chat socket (?token= or
// a first {"type":"auth","token"} message), admin role only (bad token: close 4001; valid token of
// a non-admin or disabled account: close 4003). The feed lives as long as the admin's access token
// (`hello.token_expires_at`; then 4001) unless a fresh token of the same admin arrives in another
// `auth` message (answered `authenticated`). After `hello` (with a snapshot of sessions and
// queues) it pushes session_opened / session_closed, turn_started / turn_ended (with stats),
// queues every second and users_changed. Each socket's send queue is capped
// (limits.ws_max_send_queue_bytes): a slow admin is dropped with 4004, never waited for.

#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QElapsedTimer>

class QWebSocket;
class QWebSocketServer;

namespace tianyi {

class WebSocketPeer;
class AdminService;
class ChatGateway;
class AdminFeed;
struct Config;
struct HttpError;

class AdminFeedClient : public QObject
{
    Q_OBJECT
public:
    enum class Phase { AwaitingAuth, Authenticating, Ready, Closed };

    AdminFeedClient(AdminFeed &feed, QWebSocket *socket, QObject *parent = nullptr);
    ~AdminFeedClient() override;

    Phase phase() const { return m_phase; }
    qint64 userId() const { return m_userId; }  // the admin, once authenticated
    void send(const QJsonObject &event);
    void close(int code, const QString &reason);

private:
    void authenticate(const QString &token);
    void renew(const QString &token);
    // Closes for a refused token: 4003 for a valid token of a non-admin or disabled account, else 4001.
    void refuse(const HttpError &error);
    void onText(const QString &message);
    void onDisconnected();

    AdminFeed &m_feed;
    WebSocketPeer *m_peer = nullptr; // child: the socket, its limits, pings and auth deadline
    Phase m_phase = Phase::AwaitingAuth;
    qint64 m_userId = 0;
};

class AdminFeed : public QObject
{
    Q_OBJECT
public:
    static constexpr int kCloseForbidden = 4003;   // a valid token, but not of an enabled admin
    static constexpr int kQueuesIntervalMs = 1000;

    AdminFeed(AdminService &admin, ChatGateway &chat, const Config &config, QObject *parent = nullptr);
    ~AdminFeed() override;

    // Takes the sockets of FrontDoor::addWebSocketEndpoint("/ws/admin").
    void attach(QWebSocketServer *server);
    // Server shutdown.
    void closeAll(int code, const QString &reason);
    int adminCount() const;          // authenticated sockets

    AdminService &admin() { return m_admin; }
    const Config &config() const { return m_config; }

    // AdminFeedClient calls these.
    void clientReady(AdminFeedClient *client);
    void clientGone(AdminFeedClient *client);

private:
    void accept(QWebSocketServer *server);
    void broadcast(QJsonObject event);

    AdminService &m_admin;
    ChatGateway &m_chat;
    const Config &m_config;
    QList<AdminFeedClient *> m_clients;   // every socket, authenticated or not
    QTimer m_queuesTimer;
};

} // namespace tianyi
