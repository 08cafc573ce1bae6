#pragma once
// The one listening port. Counts connections (total and per IP), gives HTTP connections their
// limits, and hands WebSocket upgrades for registered paths to a QWebSocketServer, which keeps
// its own handshake timeout.

#include "base/config.h"
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
    int busyHttpConnections() const;

    // Shutdown, in order: stop accepting; let idle HTTP connections go; later abort what is left.
    void stopAccepting();
    void closeIdleHttpConnections();
    void abortAll();

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    void refuse(QTcpSocket *socket, const QString &message);
    void track(QTcpSocket *socket);

    const LimitSettings &m_limits;
    Router &m_router;
    Metrics &m_metrics;
    QHash<QString, QWebSocketServer *> m_wsEndpoints;
    QHash<QString, int> m_perIp;
    QSet<HttpConnection *> m_http;
    QSet<QTcpSocket *> m_sockets;
    int m_open = 0;
};

} // namespace tianyi
