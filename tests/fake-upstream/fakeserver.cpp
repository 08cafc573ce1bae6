#include "fakeserver.h"

#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QUrl>
#include <memory>

namespace tianyi::fake {

namespace {

constexpr int kMaxHeadBytes = 64 * 1024;
constexpr qsizetype kMaxRecordedBodyChars = 64 * 1024;

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

// Per-connection parse state, kept beside the socket.
class ConnectionState : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    QByteArray buffer;
    QPointer<FakeExchange> current;
    bool closing = false;
};

ConnectionState *stateOf(QTcpSocket *socket)
{
    return socket->findChild<ConnectionState *>(QString(), Qt::FindDirectChildrenOnly);
}

// Parses one complete request from the front of buffer. Returns 1 when parsed (and removed from
// buffer), 0 when more bytes are needed, -1 when the request is broken.
int parseRequest(QByteArray &buffer, FakeRequest &out, bool &keepAlive)
{
    const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return buffer.size() > kMaxHeadBytes ? -1 : 0;
    const QList<QByteArray> lines = buffer.left(headEnd).split('\n');
    const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
    if (requestLine.size() != 3)
        return -1;
    FakeRequest req;
    req.method = requestLine[0];
    const QByteArray target = requestLine[1];
    const QByteArray version = requestLine[2];
    for (int i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            continue;
        req.headers.append({line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed()});
    }
    qsizetype bodyStart = headEnd + 4;
    QByteArray body;
    qsizetype consumed = 0;
    if (req.header("transfer-encoding").toLower().contains("chunked")) {
        qsizetype pos = bodyStart;
        for (;;) {
            const qsizetype eol = buffer.indexOf("\r\n", pos);
            if (eol < 0)
                return 0;
            bool ok = false;
            const qsizetype size = buffer.mid(pos, eol - pos).split(';').value(0).trimmed().toLongLong(&ok, 16);
            if (!ok || size < 0)
                return -1;
            if (size == 0) {
                const qsizetype end = buffer.indexOf("\r\n\r\n", eol);
                if (end < 0)
                    return 0;
                consumed = end + 4;
                break;
            }
            if (buffer.size() < eol + 2 + size + 2)
                return 0;
            body += buffer.mid(eol + 2, size);
            pos = eol + 2 + size + 2;
        }
    } else {
        bool ok = true;
        const QByteArray cl = req.header("content-length");
        const qsizetype length = cl.isEmpty() ? 0 : cl.toLongLong(&ok);
        if (!ok || length < 0)
            return -1;
        if (buffer.size() < bodyStart + length)
            return 0;
        body = buffer.mid(bodyStart, length);
        consumed = bodyStart + length;
    }
    req.body = body;
    buffer.remove(0, consumed);

    const qsizetype q = target.indexOf('?');
    req.path = QUrl::fromPercentEncoding(q < 0 ? target : target.left(q));
    if (q >= 0)
        req.query = QUrlQuery(QString::fromUtf8(target.mid(q + 1)));
    const QByteArray connection = req.header("connection").toLower();
    keepAlive = version == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive");
    out = std::move(req);
    return 1;
}

QJsonObject recordOf(const FakeRequest &req, const QString &fault)
{
    QJsonObject headers;
    for (const auto &h : req.headers)
        headers.insert(QString::fromLatin1(h.first), QString::fromUtf8(h.second));
    QJsonObject o;
    o.insert(QStringLiteral("method"), QString::fromLatin1(req.method));
    o.insert(QStringLiteral("path"), req.path);
    o.insert(QStringLiteral("query"), req.query.toString(QUrl::FullyDecoded));
    o.insert(QStringLiteral("fault"), fault);
    o.insert(QStringLiteral("headers"), headers);
    o.insert(QStringLiteral("bodySize"), double(req.body.size()));
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(req.body, &err);
    if (!req.body.isEmpty() && err.error == QJsonParseError::NoError)
        o.insert(QStringLiteral("body"), doc.isObject() ? QJsonValue(doc.object()) : QJsonValue(doc.array()));
    else
        o.insert(QStringLiteral("body"), QString::fromUtf8(req.body.left(kMaxRecordedBodyChars)));
    return o;
}

} // namespace

QByteArray FakeRequest::header(const QByteArray &lowerName) const
{
    for (const auto &h : headers) {
        if (h.first == lowerName)
            return h.second;
    }
    return {};
}

// ---------------------------------------------------------------------------------------------

FakeExchange::FakeExchange(FakeServer *server, QTcpSocket *socket, FakeRequest request, QString fault)
    : QObject(socket), m_server(server), m_socket(socket), m_request(std::move(request)), m_fault(std::move(fault))
{
}

FakeExchange::~FakeExchange() = default;

int FakeExchange::intOption(const QByteArray &headerName, int fallback) const
{
    bool ok = false;
    const int v = m_request.header(headerName.toLower()).trimmed().toInt(&ok);
    return ok ? v : fallback;
}

bool FakeExchange::clientGone() const
{
    return m_gone || !m_socket || m_socket->state() != QAbstractSocket::ConnectedState;
}

void FakeExchange::reply(int status, const QByteArray &contentType, const QByteArray &body,
                         const QList<QPair<QByteArray, QByteArray>> &headers)
{
    if (m_started || clientGone())
        return;
    m_started = true;
    const ConnectionState *state = stateOf(m_socket);
    const bool keepAlive = state && !state->closing;
    QByteArray head = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    if (!contentType.isEmpty())
        head += "Content-Type: " + contentType + "\r\n";
    head += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    for (const auto &h : headers)
        head += h.first + ": " + h.second + "\r\n";
    head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    m_socket->write(head + body);
    m_socket->flush();
    finishReply(keepAlive);
}

void FakeExchange::beginChunked(int status, const QByteArray &contentType, const QList<QPair<QByteArray, QByteArray>> &headers)
{
    if (m_started || clientGone())
        return;
    m_started = true;
    const ConnectionState *state = stateOf(m_socket);
    const bool keepAlive = state && !state->closing;
    QByteArray head = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    if (!contentType.isEmpty())
        head += "Content-Type: " + contentType + "\r\n";
    head += "Transfer-Encoding: chunked\r\n";
    for (const auto &h : headers)
        head += h.first + ": " + h.second + "\r\n";
    head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    m_socket->write(head);
    m_socket->flush();
}

void FakeExchange::writeChunk(const QByteArray &data)
{
    if (!m_started || m_ended || data.isEmpty() || clientGone())
        return;
    m_socket->write(QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n");
    m_socket->flush();
}

void FakeExchange::endChunked()
{
    if (!m_started || m_ended || clientGone())
        return;
    m_socket->write("0\r\n\r\n");
    m_socket->flush();
    const ConnectionState *state = stateOf(m_socket);
    finishReply(state && !state->closing);
}

void FakeExchange::writeRaw(const QByteArray &bytes)
{
    if (m_ended || clientGone())
        return;
    m_started = true;
    m_socket->write(bytes);
    m_socket->flush();
}

void FakeExchange::cut()
{
    if (m_ended)
        return;
    m_ended = true;
    if (m_socket) {
        if (ConnectionState *state = stateOf(m_socket))
            state->closing = true;
        m_socket->abort();
    }
    deleteLater();
}

void FakeExchange::onSocketGone()
{
    if (m_gone)
        return;
    m_gone = true;
    if (!m_ended) {
        m_ended = true;
        m_server->noteEarlyClose();
        emit clientDisconnected();
    }
}

void FakeExchange::finishReply(bool keepAlive)
{
    m_ended = true;
    if (m_socket)
        m_server->exchangeEnded(m_socket, keepAlive);
    deleteLater();
}

// ---------------------------------------------------------------------------------------------

FakeServer::FakeServer(FakeOptions options, QObject *parent) : QTcpServer(parent), m_options(std::move(options))
{
    setListenBacklogSize(4096); // as the server's FrontDoor: bursts of connections must not lose SYNs
    registerControlRoutes(*this);
}

FakeServer::~FakeServer()
{
    // Sockets are children of the server; make sure no exchange reports into a half-destroyed server.
    const auto sockets = findChildren<QTcpSocket *>();
    for (QTcpSocket *s : sockets) {
        s->disconnect(this);
        if (ConnectionState *state = stateOf(s); state && state->current)
            state->current->m_ended = true;
    }
}

void FakeServer::route(const QByteArray &method, const QString &path, Handler handler)
{
    m_routes.append({{method.toUpper(), path}, std::move(handler)});
}

QJsonArray FakeServer::recorded() const
{
    return m_recorded;
}

void FakeServer::clearRecorded()
{
    m_recorded = QJsonArray();
}

int FakeServer::recordedCount(const QString &path) const
{
    if (path.isEmpty())
        return int(m_recorded.size());
    int n = 0;
    for (const QJsonValue &v : m_recorded) {
        if (v.toObject().value(QStringLiteral("path")).toString().endsWith(path))
            ++n;
    }
    return n;
}

QString FakeServer::baseUrl() const
{
    return QStringLiteral("http://127.0.0.1:%1").arg(serverPort());
}

void FakeServer::incomingConnection(qintptr handle)
{
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(handle)) {
        delete socket;
        return;
    }
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    new ConnectionState(socket);
    connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
    connect(socket, &QTcpSocket::disconnected, this, [socket] {
        if (ConnectionState *state = stateOf(socket); state && state->current)
            state->current->onSocketGone();
        socket->deleteLater();
    });
}

void FakeServer::onReadyRead(QTcpSocket *socket)
{
    ConnectionState *state = stateOf(socket);
    if (!state)
        return;
    state->buffer += socket->readAll();
    while (!state->current && !state->closing) {
        FakeRequest request;
        bool keepAlive = true;
        const int r = parseRequest(state->buffer, request, keepAlive);
        if (r == 0)
            return;
        if (r < 0) {
            state->closing = true;
            socket->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket->disconnectFromHost();
            return;
        }
        if (!keepAlive)
            state->closing = true;

        QStringList faults;
        static const QString prefix = QStringLiteral("/fault/");
        if (request.path.startsWith(prefix)) {
            const qsizetype slash = request.path.indexOf(QLatin1Char('/'), prefix.size());
            faults << request.path.mid(prefix.size(), slash < 0 ? -1 : slash - prefix.size());
            request.path = slash < 0 ? QStringLiteral("/") : request.path.mid(slash);
        }
        const QByteArray headerFault = request.header("x-fake-fault");
        if (!headerFault.isEmpty())
            faults << QString::fromUtf8(headerFault);
        dispatch(socket, std::move(request), faults.join(QLatin1Char(',')));
    }
}

void FakeServer::dispatch(QTcpSocket *socket, FakeRequest request, QString fault)
{
    if (!request.path.startsWith(QLatin1String("/_fake/"))) {
        m_recorded.append(recordOf(request, fault));
        emit requestRecorded();
    }
    const Handler *handler = nullptr;
    bool pathKnown = false;
    // Exact path first, then a route that is a suffix of the path (base URLs like http://x/v1).
    for (int pass = 0; pass < 2 && !handler; ++pass) {
        for (const auto &r : m_routes) {
            const QString &rp = r.first.second;
            const bool match = pass == 0 ? request.path == rp : (request.path.endsWith(rp) && rp.startsWith(QLatin1Char('/')));
            if (!match)
                continue;
            pathKnown = true;
            if (r.first.first == request.method) {
                handler = &r.second;
                break;
            }
        }
    }
    auto *exchange = new FakeExchange(this, socket, std::move(request), std::move(fault));
    ConnectionState *state = stateOf(socket);
    state->current = exchange;
    if (handler) {
        (*handler)(exchange);
        return;
    }
    const int status = pathKnown ? 405 : 404;
    exchange->reply(status, "application/json",
                    QJsonDocument(QJsonObject{{QStringLiteral("error"),
                                               QJsonObject{{QStringLiteral("message"), QStringLiteral("no such route in the fake upstream")},
                                                           {QStringLiteral("type"), QStringLiteral("invalid_request_error")},
                                                           {QStringLiteral("param"), QJsonValue::Null},
                                                           {QStringLiteral("code"), status == 404 ? QStringLiteral("not_found") : QStringLiteral("method_not_allowed")}}}})
                        .toJson(QJsonDocument::Compact));
}

void FakeServer::noteEarlyClose()
{
    ++m_disconnectsSeen;
    emit clientClosedEarly();
}

void FakeServer::exchangeEnded(QTcpSocket *socket, bool keepAlive)
{
    ConnectionState *state = stateOf(socket);
    if (!state)
        return;
    state->current = nullptr;
    if (!keepAlive || state->closing) {
        state->closing = true;
        socket->disconnectFromHost();
        return;
    }
    if (!state->buffer.isEmpty()) {
        // A request already waiting on this connection (pipelining): handle it from the event loop.
        QMetaObject::invokeMethod(this, [this, s = QPointer<QTcpSocket>(socket)] {
            if (s)
                onReadyRead(s);
        }, Qt::QueuedConnection);
    }
}

void registerControlRoutes(FakeServer &server)
{
    FakeServer *s = &server;
    server.route("GET", QStringLiteral("/_fake/requests"), [s](FakeExchange *ex) {
        ex->reply(200, "application/json", QJsonDocument(s->recorded()).toJson(QJsonDocument::Compact));
    });
    server.route("DELETE", QStringLiteral("/_fake/requests"), [s](FakeExchange *ex) {
        s->clearRecorded();
        ex->reply(204, QByteArray(), QByteArray());
    });
}

} // namespace tianyi::fake

#include "fakeserver.moc"
