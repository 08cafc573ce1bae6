#pragma once
// Liveness of one server-side WebSocket: pings every interval and reports when the peer has been
// silent (no pong, no message) for longer than the timeout; and, for sockets that authenticate with a
// first message, the deadline for that message. Shared by the chat sessions and the admin feed.

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>

class QWebSocket;

namespace tianyi {

class WebSocketKeepAlive : public QObject
{
    Q_OBJECT
public:
    WebSocketKeepAlive(QWebSocket *socket, int pingIntervalMs, int silenceTimeoutMs, QObject *parent);

    void seen();                          // a message arrived: the peer is alive
    void startAuthDeadline(int ms);
    void stopAuthDeadline();
    void stop();                          // no more pings or deadlines (closing)

signals:
    void silent(qint64 silentForMs);      // close the socket
    void authDeadlinePassed();

private:
    QPointer<QWebSocket> m_socket;
    QTimer m_pingTimer;
    QTimer m_authTimer;
    QElapsedTimer m_sinceSeen;
    int m_timeoutMs;
};

} // namespace tianyi
