#include "net/httpconnection.h"

#include "base/logging.h"
#include "metrics/metrics.h"
#include "net/httprequesthead.h"

#include <atomic>

namespace tianyi {

namespace {

QString nextRequestId()
{
    static std::atomic<quint64> counter{0};
    return QStringLiteral("r%1").arg(++counter, 6, 36, QLatin1Char('0'));
}

} // namespace

// ---- Responder ----

Responder::Responder(HttpConnection *connection, quint64 serial)
    : m_state(std::make_shared<State>())
{
    m_state->connection = connection;
    m_state->serial = serial;
    m_state->started.start();
}

void Responder::send(HttpResponse response) const
{
    if (!m_state || m_state->answered)
        return;
    m_state->answered = true;
    if (m_state->connection)
        m_state->connection->respond(m_state->serial, response, m_state->route, m_state->started.nsecsElapsed());
}

bool Responder::answered() const
{
    return m_state && m_state->answered;
}

bool Responder::clientConnected() const
{
    return m_state && m_state->connection;
}

void Responder::setRoute(const QString &route) const
{
    if (m_state)
        m_state->route = route;
}

Responder::State::~State()
{
    if (!answered && connection) {
        qCWarning(lcHttp) << "request dropped without an answer on route" << route;
        connection->respond(serial, HttpResponse::error(500, QStringLiteral("internal"), QStringLiteral("the request was not answered")),
                            route, started.nsecsElapsed());
    }
}

// ---- HttpConnection ----

HttpConnection::HttpConnection(QTcpSocket *socket, const LimitSettings &limits, const TrustedProxies &proxies, Metrics &metrics,
                               RequestHandler handler, UpgradeFilter isUpgradePath, ClientAdmission admit, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_limits(limits)
    , m_proxies(proxies)
    , m_metrics(metrics)
    , m_handler(std::move(handler))
    , m_isUpgradePath(std::move(isUpgradePath))
    , m_admit(std::move(admit))
{
    m_socket->setParent(this);
    // Qt stops reading from the kernel once this much is buffered: a fast sender is throttled by TCP
    // instead of growing our memory. Enough for one maximal request.
    m_socket->setReadBufferSize(qint64(m_limits.maxHeaderBytes) + m_limits.maxBodyBytes + 4096);
    m_requestTimer.setSingleShot(true);
    connect(&m_requestTimer, &QTimer::timeout, this, &HttpConnection::onRequestTimeout);
    // Pending output must move: a client that takes none of it for the idle timeout is aborted, not
    // disconnected gracefully (a graceful close waits for the unsent bytes, i.e. forever).
    m_stallTimer.setSingleShot(true);
    connect(&m_stallTimer, &QTimer::timeout, this, &HttpConnection::onOutputStalled);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &HttpConnection::onBytesWritten);
    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, [this]() {
        m_state = State::Gone;
        m_requestTimer.stop();
        m_stallTimer.stop();
        emit finished();
    });
    startWaitingForRequest();
    if (m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &HttpConnection::onReadyRead, Qt::QueuedConnection);
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::startWaitingForRequest()
{
    m_state = State::ReadingHead;
    m_request = HttpRequest();
    m_requestId.clear();
    m_requestTimer.start(m_limits.idleTimeoutMs);
    if (m_admit)
        m_admit(QHostAddress()); // no client until the next request head names one
}

bool HttpConnection::outputBacklogged() const
{
    return m_socket->bytesToWrite() > m_limits.maxUnsentBytes;
}

void HttpConnection::onReadyRead()
{
    if (m_state == State::ReadingHead && outputBacklogged()) {
        // A client that pipelines requests but does not read the answers would make us queue
        // responses without end. Its next request waits (in the kernel, which throttles it by TCP)
        // until it takes its responses.
        if (!m_readingPaused)
            m_metrics.increment(QStringLiteral("tianyi_http_reads_paused_total"));
        m_readingPaused = true;
        return;
    }
    if (m_state == State::ReadingHead) {
        if (!readHead())
            return;
    }
    if (m_state == State::ReadingBody)
        readBody();
}

bool HttpConnection::readHead()
{
    const qint64 available = m_socket->bytesAvailable();
    if (available <= 0)
        return false;
    const QByteArray peeked = m_socket->peek(qMin<qint64>(available, qint64(m_limits.maxHeaderBytes) + 4));
    HttpHeadParse head = parseRequestHead(peeked, m_limits.maxHeaderBytes);
    if (head.outcome == HttpHeadParse::Outcome::Incomplete)
        return false;
    if (head.outcome == HttpHeadParse::Outcome::Refused) {
        failAndClose(head.refusal.status, head.refusal.code, head.refusal.message);
        return false;
    }
    HttpRequest &req = head.request;
    req.peer = canonicalAddress(m_socket->peerAddress());
    req.requestId = nextRequestId();
    req.forwardedFor = m_proxies.forwardedClient(req.peer, req.headers);
    // Counted by the client's address from now on (behind a proxy: the forwarded one).
    if (m_admit && !m_admit(req.clientAddress())) {
        failAndClose(503, QStringLiteral("too_many_connections"), QStringLiteral("too many open connections from your address"));
        return false;
    }

    // A WebSocket upgrade goes to its endpoint with the handshake bytes still unread.
    if (req.method == "GET" && req.header("upgrade").toLower().contains("websocket") && m_isUpgradePath && m_isUpgradePath(req.path)) {
        release(req.path);
        return false;
    }

    m_socket->read(head.headBytes); // consume the head
    const HttpBodyFraming framing = frameRequestBody(req, head.http10, m_limits.maxBodyBytes);
    m_keepAlive = framing.keepAlive;
    m_bodyLength = framing.bodyLength;
    if (framing.refused) {
        m_request = req;
        failAndClose(framing.refusal.status, framing.refusal.code, framing.refusal.message);
        return false;
    }
    m_request = req;
    m_requestId = req.requestId;
    m_method = QString::fromLatin1(req.method);
    m_state = State::ReadingBody;
    if (m_bodyLength > m_socket->bytesAvailable() && req.header("expect").toLower() == "100-continue")
        m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
    return true;
}

void HttpConnection::readBody()
{
    if (m_socket->bytesAvailable() < m_bodyLength)
        return;
    m_request.body = m_socket->read(m_bodyLength);
    dispatch();
}

void HttpConnection::dispatch()
{
    m_state = State::Handling;
    m_requestTimer.stop();
    ++m_serial;
    Responder responder(this, m_serial);
    CorrelationScope scope(m_request.requestId);
    m_handler(std::move(m_request), responder);
}

void HttpConnection::respond(quint64 serial, const HttpResponse &response, const QString &route, qint64 elapsedNs)
{
    if (m_state != State::Handling || serial != m_serial)
        return;
    m_metrics.increment(QStringLiteral("tianyi_http_requests_total"),
                        {{QStringLiteral("route"), route}, {QStringLiteral("status"), QString::number(response.status)}});
    m_metrics.observe(QStringLiteral("tianyi_http_request_duration_seconds"), {{QStringLiteral("route"), route}}, double(elapsedNs) / 1e9);
    {
        // The access log names the route pattern, never the raw target (a query may carry a token).
        CorrelationScope scope(m_requestId);
        if (response.status >= 500)
            qCWarning(lcHttp).noquote() << m_method << route << "->" << response.status << QStringLiteral("(%1 ms)").arg(double(elapsedNs) / 1e6, 0, 'f', 2);
        else
            qCDebug(lcHttp).noquote() << m_method << route << "->" << response.status << QStringLiteral("(%1 ms)").arg(double(elapsedNs) / 1e6, 0, 'f', 2);
    }
    const bool keepAlive = m_keepAlive && !m_closeAfterResponse && !response.closeConnection;
    write(response, keepAlive);
    if (!keepAlive) {
        m_state = State::Closing;
        m_socket->disconnectFromHost();
        return;
    }
    startWaitingForRequest();
    if (m_socket->bytesAvailable() > 0) // a pipelined request is already here
        QMetaObject::invokeMethod(this, &HttpConnection::onReadyRead, Qt::QueuedConnection);
}

void HttpConnection::write(const HttpResponse &response, bool keepAlive)
{
    QByteArray out;
    out.reserve(256 + response.body.size());
    out += "HTTP/1.1 " + QByteArray::number(response.status) + ' ' + httpReasonPhrase(response.status) + "\r\n";
    if (response.status != 204 && response.status != 304)
        out += "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n";
    if (!response.contentType.isEmpty() && !response.body.isEmpty())
        out += "Content-Type: " + response.contentType + "\r\n";
    out += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    if (!m_requestId.isEmpty())
        out += "X-Request-Id: " + m_requestId.toLatin1() + "\r\n";
    out += "Cache-Control: no-store\r\n";
    // Every answer (API JSON, files, errors) is only what its Content-Type says, and leaks no URL.
    out += "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";
    for (const auto &h : response.headers)
        out += h.first + ": " + h.second + "\r\n";
    out += "\r\n";
    out += response.body;
    m_socket->write(out);
    if (!m_stallTimer.isActive())
        m_stallTimer.start(m_limits.idleTimeoutMs);
}

void HttpConnection::onBytesWritten()
{
    if (m_socket->bytesToWrite() == 0)
        m_stallTimer.stop();
    else
        m_stallTimer.start(m_limits.idleTimeoutMs); // progress: the client is reading
    if (m_readingPaused && !outputBacklogged()) {
        m_readingPaused = false;
        if (m_state == State::ReadingHead && m_socket->bytesAvailable() > 0)
            QMetaObject::invokeMethod(this, &HttpConnection::onReadyRead, Qt::QueuedConnection);
    }
}

void HttpConnection::onOutputStalled()
{
    if (m_state == State::Gone || m_socket->bytesToWrite() == 0)
        return;
    qCInfo(lcHttp) << "aborted a connection from" << m_socket->peerAddress().toString() << "that took none of its"
                   << m_socket->bytesToWrite() << "pending bytes for" << m_limits.idleTimeoutMs << "ms";
    m_metrics.increment(QStringLiteral("tianyi_http_stalled_aborts_total"));
    m_socket->abort();
}

qint64 HttpConnection::unsentBytes() const
{
    return m_socket && m_state != State::Gone ? m_socket->bytesToWrite() : 0;
}

void HttpConnection::failAndClose(int status, const QString &code, const QString &message)
{
    // A refusal before the request was handed on has no id yet; it gets one so the client's
    // X-Request-Id finds this log line like any other answer's.
    if (m_requestId.isEmpty())
        m_requestId = nextRequestId();
    CorrelationScope scope(m_requestId);
    qCInfo(lcHttp) << "refused request from" << m_socket->peerAddress().toString() << status << code;
    m_metrics.increment(QStringLiteral("tianyi_http_requests_total"),
                        {{QStringLiteral("route"), QStringLiteral("front_door")}, {QStringLiteral("status"), QString::number(status)}});
    write(HttpResponse::error(status, code, message), false);
    m_state = State::Closing;
    m_requestTimer.stop();
    m_socket->disconnectFromHost();
}

void HttpConnection::onRequestTimeout()
{
    if (m_readingPaused)
        return; // waiting for the client to read its responses: the stall timer decides
    if (m_state == State::ReadingHead && m_socket->bytesAvailable() == 0) {
        // An idle keep-alive connection (or one that never spoke): close quietly.
        m_state = State::Closing;
        m_socket->disconnectFromHost();
        return;
    }
    if (m_state == State::ReadingHead || m_state == State::ReadingBody)
        failAndClose(408, QStringLiteral("timeout"), QStringLiteral("the request was not received in time"));
}

void HttpConnection::closeWhenIdle()
{
    m_closeAfterResponse = true;
    if (m_state == State::ReadingHead || m_state == State::ReadingBody) {
        m_state = State::Closing;
        m_requestTimer.stop();
        m_socket->disconnectFromHost();
    }
}

void HttpConnection::abort()
{
    if (m_socket && m_state != State::Gone)
        m_socket->abort();
}

void HttpConnection::release(const QString &path)
{
    m_requestTimer.stop();
    m_stallTimer.stop();
    QTcpSocket *socket = m_socket;
    disconnect(socket, nullptr, this, nullptr);
    socket->setParent(nullptr);
    socket->setReadBufferSize(0);
    m_socket = nullptr;
    m_state = State::Gone;
    emit upgradeRequested(socket, path);
    emit finished();
}

} // namespace tianyi
