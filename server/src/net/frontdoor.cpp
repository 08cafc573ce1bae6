#include "net/frontdoor.h"

#include "base/logging.h"
#include "metrics/metrics.h"
#include "net/httpconnection.h"

#include <QTcpSocket>
#include <QWebSocketServer>
#include <chrono>

namespace tianyi {

FrontDoor::FrontDoor(const LimitSettings &limits, Router &router, Metrics &metrics, QObject *parent)
    : QTcpServer(parent)
    , m_limits(limits)
    , m_proxies(limits.trustedProxies)
    , m_router(router)
    , m_metrics(metrics)
{
    // Qt listens with a queue of 50 pending connections: a burst of reconnecting clients (a server
    // restart, 10,000 sessions opening) overflowed it and each dropped SYN cost its client a 1 s
    // retransmit (docs/benchmarks.md). The kernel caps this at net.core.somaxconn.
    setListenBacklogSize(kListenBacklog);
    m_metrics.declareCounter(QStringLiteral("tianyi_http_requests_total"), QStringLiteral("HTTP requests by route pattern and status."));
    m_metrics.declareHistogram(QStringLiteral("tianyi_http_request_duration_seconds"),
                               QStringLiteral("Time from a complete request to its response, by route pattern."), Metrics::latencyBuckets());
    m_metrics.declareCounter(QStringLiteral("tianyi_connections_refused_total"), QStringLiteral("Connections refused at the front door, by reason."));
    m_metrics.declareCounter(QStringLiteral("tianyi_http_reads_paused_total"),
                             QStringLiteral("Times a connection's next request was held back because its unsent responses exceeded limits.max_unsent_bytes."));
    m_metrics.declareCounter(QStringLiteral("tianyi_http_stalled_aborts_total"),
                             QStringLiteral("HTTP connections aborted because their pending output made no progress for the idle timeout."));
    m_metrics.declareGaugeCallback(QStringLiteral("tianyi_http_unsent_bytes"), QStringLiteral("Response bytes queued on HTTP connections, not yet sent."),
                                   [this]() { return QList<QPair<Labels, double>>{{{}, double(unsentHttpBytes())}}; });
    m_metrics.declareGaugeCallback(QStringLiteral("tianyi_open_connections"), QStringLiteral("Open TCP connections (HTTP and WebSocket)."),
                                   [this]() { return QList<QPair<Labels, double>>{{{}, double(m_open)}}; });
}

FrontDoor::~FrontDoor()
{
    close();
    // Our sockets and connections are children; they go with us. Unhook the guards first so the
    // bookkeeping does not run on a half-destroyed FrontDoor.
    for (QTcpSocket *s : std::as_const(m_sockets))
        for (QObject *guard : s->children())
            disconnect(guard, &QObject::destroyed, this, nullptr);
}

QWebSocketServer *FrontDoor::addWebSocketEndpoint(const QString &path)
{
    auto *server = new QWebSocketServer(QStringLiteral("tianyi"), QWebSocketServer::NonSecureMode, this);
    server->setHandshakeTimeout(std::chrono::milliseconds(m_limits.wsHandshakeTimeoutMs));
    m_wsEndpoints.insert(path, server);
    return server;
}

qint64 FrontDoor::unsentHttpBytes() const
{
    qint64 n = 0;
    for (HttpConnection *c : m_http)
        n += c->unsentBytes();
    return n;
}

int FrontDoor::busyHttpConnections() const
{
    int n = 0;
    for (HttpConnection *c : m_http)
        if (c->busy())
            ++n;
    return n;
}

void FrontDoor::incomingConnection(qintptr descriptor)
{
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        return;
    }
    const QHostAddress peer = canonicalAddress(socket->peerAddress());
    // A trusted proxy's connection is counted per client once its first request names one.
    const QString ip = m_proxies.contains(peer) ? QString() : addressLimitKey(peer);
    if (m_open >= m_limits.maxConnections) {
        m_metrics.increment(QStringLiteral("tianyi_connections_refused_total"), {{QStringLiteral("reason"), QStringLiteral("total")}});
        refuse(socket, QStringLiteral("the server has too many open connections"));
        return;
    }
    if (!ip.isEmpty() && m_perIp.value(ip) >= m_limits.maxConnectionsPerIp) {
        m_metrics.increment(QStringLiteral("tianyi_connections_refused_total"), {{QStringLiteral("reason"), QStringLiteral("per_ip")}});
        refuse(socket, QStringLiteral("too many open connections from your address"));
        return;
    }
    track(socket, ip);
    // Small frames (text_delta, stopped, turn_end) must leave at once. With Nagle's algorithm a small
    // write behind unacknowledged audio waits for the peer's delayed ACK: ~35-40 ms measured on stop.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);

    auto isUpgradePath = [this](const QString &path) { return m_wsEndpoints.contains(path); };
    auto handler = [this](HttpRequest request, Responder responder) { m_router.dispatch(std::move(request), responder); };
    auto admit = [this, socket](const QHostAddress &client) { return this->admit(socket, client); };
    auto *connection = new HttpConnection(socket, m_limits, m_proxies, m_metrics, handler, isUpgradePath, admit, this);
    m_http.insert(connection);
    connect(connection, &HttpConnection::upgradeRequested, this, [this](QTcpSocket *s, const QString &path) {
        QWebSocketServer *endpoint = m_wsEndpoints.value(path);
        s->setParent(this);
        if (endpoint)
            endpoint->handleConnection(s); // QWebSocketServer answers the handshake (or its errors) itself
        else
            s->abort();
    });
    connect(connection, &HttpConnection::finished, this, [this, connection]() {
        m_http.remove(connection);
        connection->deleteLater();
    });
}

void FrontDoor::track(QTcpSocket *socket, const QString &key)
{
    ++m_open;
    countPerIp(key, +1);
    m_sockets.insert(socket);
    m_keyOf.insert(socket, key);
    // Counted until the socket object is gone, whoever owns it by then (HTTP or WebSocket). We watch
    // a guard child, not the socket itself: QWebSocket calls disconnect() on its transport socket,
    // which would cut a connection to the socket's own destroyed() signal, but not the guard's.
    auto *guard = new QObject(socket);
    connect(guard, &QObject::destroyed, this, [this, socket]() {
        m_sockets.remove(socket);
        --m_open;
        countPerIp(m_keyOf.take(socket), -1);
    });
}

bool FrontDoor::admit(QTcpSocket *socket, const QHostAddress &client)
{
    const QString current = m_keyOf.value(socket);
    if (client.isNull()) {
        // Between requests. A proxy's idle connection is nobody's: it may carry anyone's next request.
        if (m_proxies.contains(socket->peerAddress())) {
            countPerIp(current, -1);
            m_keyOf.insert(socket, QString());
        }
        return true;
    }
    const QString key = addressLimitKey(client);
    if (key == current)
        return true;
    if (m_perIp.value(key) >= m_limits.maxConnectionsPerIp) {
        m_metrics.increment(QStringLiteral("tianyi_connections_refused_total"), {{QStringLiteral("reason"), QStringLiteral("per_ip")}});
        qCInfo(lcHttp) << "refused a request from" << key << "via" << socket->peerAddress().toString() << ": too many open connections from that address";
        return false;
    }
    countPerIp(current, -1);
    countPerIp(key, +1);
    m_keyOf.insert(socket, key);
    return true;
}

void FrontDoor::countPerIp(const QString &key, int delta)
{
    if (key.isEmpty())
        return;
    if ((m_perIp[key] += delta) <= 0)
        m_perIp.remove(key);
}

void FrontDoor::refuse(QTcpSocket *socket, const QString &message)
{
    qCInfo(lcHttp) << "refused connection from" << socket->peerAddress().toString() << ":" << message;
    const HttpResponse r = HttpResponse::error(503, QStringLiteral("too_many_connections"), message);
    socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: "
                  + QByteArray::number(r.body.size()) + "\r\n\r\n" + r.body);
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    socket->disconnectFromHost();
    if (socket->state() == QAbstractSocket::UnconnectedState)
        socket->deleteLater();
}

void FrontDoor::stopAccepting()
{
    close();
}

void FrontDoor::closeIdleHttpConnections()
{
    for (HttpConnection *c : std::as_const(m_http))
        c->closeWhenIdle();
}

void FrontDoor::abortAll()
{
    for (HttpConnection *c : std::as_const(m_http))
        c->abort();
    for (QTcpSocket *s : std::as_const(m_sockets))
        s->abort();
}

} // namespace tianyi
