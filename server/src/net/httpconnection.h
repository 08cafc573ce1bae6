#pragma once
// One HTTP/1.1 connection: reads a request within the front-door limits, hands it to the
// request handler, writes the response, keeps the connection alive or closes it.
// Limits are checked on peeked bytes, so a WebSocket upgrade can be handed over untouched.

#include "base/config.h"
#include "net/clientaddress.h"
#include "net/httpmessage.h"
#include "net/responder.h"

#include <QObject>
#include <QTcpSocket>
#include <QTimer>
#include <functional>

namespace tianyi {

class Metrics;

class HttpConnection : public QObject
{
    Q_OBJECT
public:
    using RequestHandler = std::function<void(HttpRequest, Responder)>;
    using UpgradeFilter = std::function<bool(const QString &path)>;
    // Told the client address of every request head (and upgrade); false refuses it (503, close).
    // A null address: the connection is between requests.
    using ClientAdmission = std::function<bool(const QHostAddress &client)>;

    HttpConnection(QTcpSocket *socket, const LimitSettings &limits, const TrustedProxies &proxies, Metrics &metrics,
                   RequestHandler handler, UpgradeFilter isUpgradePath, ClientAdmission admit, QObject *parent);
    ~HttpConnection() override;

    // A request is being handled (counts as in-flight work at shutdown).
    bool busy() const { return m_state == State::Handling; }
    // Shutdown: close now if between requests, else after the current response.
    void closeWhenIdle();
    void abort();
    // Response bytes queued for this connection and not yet handed to the kernel.
    qint64 unsentBytes() const;

    // Called by Responder.
    void respond(quint64 serial, const HttpResponse &response, const QString &route, qint64 elapsedNs);

signals:
    // The socket now belongs to the receiver; it has not been read from.
    void upgradeRequested(QTcpSocket *socket, const QString &path);
    void finished();

private:
    enum class State { ReadingHead, ReadingBody, Handling, Closing, Gone };

    void onReadyRead();
    bool readHead();
    void readBody();
    void dispatch();
    void failAndClose(int status, const QString &code, const QString &message);
    void write(const HttpResponse &response, bool keepAlive);
    void startWaitingForRequest();
    void onRequestTimeout();
    bool outputBacklogged() const;
    void onBytesWritten();
    void onOutputStalled();
    void release(const QString &path);

    QTcpSocket *m_socket;
    const LimitSettings &m_limits;
    const TrustedProxies &m_proxies;
    Metrics &m_metrics;
    RequestHandler m_handler;
    UpgradeFilter m_isUpgradePath;
    ClientAdmission m_admit;
    QTimer m_requestTimer;
    QTimer m_stallTimer;       // runs while output is pending; restarted by every write progress
    bool m_readingPaused = false;
    State m_state = State::ReadingHead;
    HttpRequest m_request;
    QString m_requestId; // kept apart: m_request is moved into the handler
    QString m_method;
    qint64 m_bodyLength = 0;
    bool m_keepAlive = true;
    bool m_closeAfterResponse = false;
    quint64 m_serial = 0;
};

} // namespace tianyi
