#pragma once
// One server-side WebSocket as its owner (a chat session, an admin feed client) uses it: incoming
// size limits, sending with a cap on the unsent bytes (a slow consumer is reported, never waited
// for), keep-alive pings with a silence timeout, the deadline for a first-message `auth`, the end of
// the access token the peer authenticated with, and a close with a code that aborts a peer which does
// not finish the closing handshake.
//
// Qt's QWebSocket has an unbounded send queue, no keep-alive and a 2 GiB default message size:
// every socket the server accepts goes through this class so none of that is forgotten.

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QWebSocket>

class QJsonObject;


namespace tianyi {

class WebSocketPeer : public QObject
{
    Q_OBJECT
public:
    struct Limits {
        qint64 maxIncomingBytes = 64 * 1024; // per frame and per message
        qint64 maxSendQueueBytes = 0;        // unsent bytes beyond this: slowConsumer()
        int pingIntervalMs = 15000;
        int silenceTimeoutMs = 45000;        // no pong and no message for this long: silent()
    };
    static constexpr int kAbortAfterCloseMs = 5000; // a peer that does not finish the closing handshake

    // Takes ownership of the socket.
    WebSocketPeer(QWebSocket *socket, const Limits &limits, QObject *parent);
    ~WebSocketPeer() override;

    QWebSocket *socket() const { return m_socket; }
    bool isClosed() const { return m_closed; }

    // Both drop what is sent after close(); both check the send queue afterwards.
    void sendJson(const QJsonObject &object);
    void sendBinary(const QByteArray &bytes);
    // Reports slowConsumer() when the unsent bytes are over the cap (also used after bytesWritten).
    void checkBackpressure();
    // Idempotent: stops pings and deadlines, starts the closing handshake, aborts after kAbortAfterCloseMs.
    void close(int code, const QString &reason);

    void startAuthDeadline(int ms);
    void stopAuthDeadline();

    // The socket lives as long as the access token it was authenticated with: tokenExpired() at
    // expiresAtS (epoch seconds; at once if that has passed). Arming again moves the end (a renewed token).
    void armTokenExpiry(qint64 expiresAtS);
    qint64 tokenExpiresAt() const { return m_tokenExpiresAtS; }

signals:
    // Every message counts as a sign of life before these are emitted.
    void textReceived(const QString &message);
    void binaryReceived(const QByteArray &message);
    void disconnected();
    void silent(qint64 silentForMs);
    void authDeadlinePassed();
    void tokenExpired();
    void slowConsumer(qint64 queuedBytes);

private:
    void seen() { m_sinceSeen.restart(); }

    QPointer<QWebSocket> m_socket;
    Limits m_limits;
    QTimer m_pingTimer;
    QTimer m_authTimer;
    QTimer m_tokenTimer;
    qint64 m_tokenExpiresAtS = 0;
    QElapsedTimer m_sinceSeen;
    bool m_closed = false;
};

} // namespace tianyi
