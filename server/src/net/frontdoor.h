#pragma once
// The one listening port. Counts connections (total and per client address), gives HTTP connections
// their limits, and hands WebSocket upgrades for registered paths to a QWebSocketServer, which keeps
// its own handshake timeout.
//
// Per-address counting: a connection is counted under its TCP peer from accept, except a peer in
// server.trusted_proxies, which carries many clients: its connection is counted under the client the
// proxy names in a request head while that request is handled (a proxy reuses its idle connections
// for anyone) and for good once it is upgraded to a WebSocket; never under the proxy's own address.

#include "base/config.h"
#include "net/clientaddress.h"
#include "net/router.h"

#include <QHash>
#include <QPointer>
#include <QSet>
#include <QTcpServer>

class QWebSocketServer;

namespace tianyi {

class HttpConnection;
class Metrics;

class FrontDoor : public QTcpServer
{
    Q_OBJECT
public:
    static constexpr int kListenBacklog = 4096;

    FrontDoor(const LimitSettings &limits, Router &router, Metrics &metrics, QObject *parent = nullptr);
    ~FrontDoor() override;

    // Upgrades of GET `path` go to a QWebSocketServer created here; its newConnection signal
    // delivers the handshaken sockets. The server is owned by the FrontDoor.
    QWebSocketServer *addWebSocketEndpoint(const QString &path);

    int openConnections() const { return m_open; }
    // Open connections counted under this client address (its /64 for IPv6; tests, diagnostics).
    int connectionsFrom(const QHostAddress &client) const { return m_perIp.value(addressLimitKey(client)); }
    // Response bytes queued on all HTTP connections and not yet taken by the kernel.
    qint64 unsentHttpBytes() const;
    int busyHttpConnections() const;

    // Shutdown, in order: stop accepting; let idle HTTP connections go; later abort what is left.
    void stopAccepting();
    void closeIdleHttpConnections();
    void abortAll();

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    void refuse(QTcpSocket *socket, const QString &message);
    void track(QTcpSocket *socket, const QString &key);
    // Moves the socket's count to `client`; false (and no move) when that address is at its limit.
    bool admit(QTcpSocket *socket, const QHostAddress &client);
    void countPerIp(const QString &key, int delta);

    const LimitSettings &m_limits;
    const TrustedProxies m_proxies;
    Router &m_router;
    Metrics &m_metrics;
    QHash<QString, QWebSocketServer *> m_wsEndpoints;
    QHash<QString, int> m_perIp;          // addressLimitKey() of a client -> open connections
    QHash<QTcpSocket *, QString> m_keyOf; // socket -> the address it is counted under ("" = not per address)
    QSet<HttpConnection *> m_http;
    QSet<QTcpSocket *> m_sockets;
    int m_open = 0;
};

} // namespace tianyi
