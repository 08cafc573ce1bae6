// Attacks on the front door over loopback against the real server: clients that pipeline without
// reading, trickle their request, frame their body ambiguously (request smuggling), or claim
// another address; and the headers that keep the web client's page to itself.
#include "httpclient.h"
#include "net/clientaddress.h"
#include "net/frontdoor.h"
#include "testserver.h"

#include <QFile>
#include <QNetworkRequest>
#include <QSignalSpy>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {

// The value of an unlabelled metric, -1 when it is not there.
double metricValue(TestServer &server, const QByteArray &name)
{
    const QByteArray text = HttpClient(server.baseUrl()).get(QStringLiteral("/metrics")).body;
    for (const QByteArray &line : text.split('\n'))
        if (line.startsWith(name + ' '))
            return line.mid(name.size() + 1).toDouble();
    return -1;
}

// Everything a raw socket receives until the server closes it (the server runs on this event loop).
QByteArray receiveUntilClosed(QTcpSocket &s)
{
    QByteArray all;
    QObject::connect(&s, &QTcpSocket::readyRead, &s, [&]() { all += s.readAll(); });
    (void)QTest::qWaitFor([&]() { return s.state() == QAbstractSocket::UnconnectedState; }, 20000);
    QObject::disconnect(&s, &QTcpSocket::readyRead, &s, nullptr);
    return all + s.readAll();
}

// Sends one request on a kept-alive raw socket and returns the status of its answer (0: none).
int exchange(QTcpSocket &s, const QByteArray &request)
{
    s.readAll();
    s.write(request);
    QByteArray got;
    (void)QTest::qWaitFor([&]() {
        got += s.readAll();
        return got.contains("\r\n\r\n");
    }, 10000);
    return got.startsWith("HTTP/1.1 ") ? got.mid(9, 3).toInt() : 0;
}

// A raw connection from the test, with an optional source address on the loopback net (127.0.0.0/8).
std::unique_ptr<QTcpSocket> connectRaw(quint16 port, const QString &from = {})
{
    auto s = std::make_unique<QTcpSocket>();
    if (!from.isEmpty())
        s->bind(QHostAddress(from));
    s->connectToHost(QStringLiteral("127.0.0.1"), port);
    if (!s->waitForConnected(5000))
        return nullptr;
    return s;
}

} // namespace

class TestHostileClients : public QObject
{
    Q_OBJECT

private slots:
    // One socket pipelines thousands of requests for the largest page file and never reads. The
    // server must stop reading its requests while the unsent answers exceed limits.max_unsent_bytes
    // (so memory stays at the cap plus one response) and abort it once no output moves for the idle
    // timeout -- not disconnect it gracefully, which would wait for the unread bytes for ever.
    void pipeliningWithoutReadingIsCappedThenAborted()
    {
        constexpr qint64 kCap = 64 * 1024;
        TestServer server([](Config &c) {
            c.limits.idleTimeoutMs = 1000;
            c.limits.maxUnsentBytes = kCap;
        });
        QVERIFY2(server.started(), qPrintable(server.error()));
        QFile appJs(QStringLiteral(":/web/app.js"));
        QVERIFY(appJs.open(QIODevice::ReadOnly));
        const qint64 oneResponse = appJs.size() + 1024; // body + head
        FrontDoor &door = server.app().frontDoor();

        qint64 maxUnsent = 0;
        QTimer sampler;
        connect(&sampler, &QTimer::timeout, this, [&]() { maxUnsent = qMax(maxUnsent, door.unsentHttpBytes()); });
        sampler.start(5);

        QTcpSocket attacker;
        attacker.setReadBufferSize(1); // Qt stops reading from the kernel: the client "never reads"
        attacker.connectToHost(QStringLiteral("127.0.0.1"), server.port());
        QVERIFY(attacker.waitForConnected(5000));
        constexpr int kRequests = 5000; // unthrottled: ~170 MB of answers queued in the server
        QByteArray pipeline;
        for (int i = 0; i < kRequests; ++i)
            pipeline += "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n";
        attacker.write(pipeline);

        // Held back (over and over, as the kernel takes a little more now and then) ...
        QTRY_VERIFY_WITH_TIMEOUT(metricValue(server, "tianyi_http_reads_paused_total") >= 1, 20000);
        // ... then aborted by the stall deadline (1 s without progress; the client never closes).
        QTRY_COMPARE_WITH_TIMEOUT(door.openConnections(), 0, 20000);
        QCOMPARE(door.unsentHttpBytes(), 0);
        QCOMPARE(metricValue(server, "tianyi_http_stalled_aborts_total"), 1.0);
        sampler.stop();
        QVERIFY2(maxUnsent <= kCap + oneResponse, qPrintable(QStringLiteral("held %1 bytes unsent").arg(maxUnsent)));
    }

    // A client that reads slowly but keeps reading is not cut off: all its answers arrive.
    void pipeliningClientThatReadsGetsEveryAnswer()
    {
        TestServer server([](Config &c) { c.limits.maxUnsentBytes = 64 * 1024; });
        QTcpSocket client;
        client.connectToHost(QStringLiteral("127.0.0.1"), server.port());
        QVERIFY(client.waitForConnected(5000));
        constexpr int kRequests = 50;
        QByteArray pipeline;
        for (int i = 0; i < kRequests; ++i)
            pipeline += "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n";
        pipeline += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        client.write(pipeline);
        const QByteArray all = receiveUntilClosed(client);
        QCOMPARE(all.count("HTTP/1.1 200 OK"), kRequests + 1);
    }

    // Slowloris: a request head trickled a byte at a time still has to be complete within the
    // idle timeout from its first byte; the trickle does not extend it.
    void trickledRequestHeadHitsTheDeadline()
    {
        TestServer server([](Config &c) { c.limits.idleTimeoutMs = 500; });
        QTcpSocket s;
        s.connectToHost(QStringLiteral("127.0.0.1"), server.port());
        QVERIFY(s.waitForConnected(5000));
        const QByteArray head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + QByteArray(400, 'a') + "\r\n\r\n";
        int sent = 0;
        QTimer trickle;
        connect(&trickle, &QTimer::timeout, this, [&]() {
            if (sent < head.size() && s.state() == QAbstractSocket::ConnectedState)
                s.write(head.mid(sent++, 1));
        });
        trickle.start(20); // the whole head would take 8 s
        QByteArray received;
        connect(&s, &QTcpSocket::readyRead, this, [&]() { received += s.readAll(); });
        QTRY_COMPARE_WITH_TIMEOUT(s.state(), QAbstractSocket::UnconnectedState, 20000);
        trickle.stop();
        QVERIFY2(sent < head.size(), "closed before the head was complete");
        QVERIFY2(received.startsWith("HTTP/1.1 408"), received.constData());
        QTRY_COMPARE(server.app().frontDoor().openConnections(), 0);
    }

    // Ambiguous body framing is how a request is smuggled past a proxy that reads it differently:
    // each is refused with 400 and the connection closed.
    void ambiguousBodyFramingIs400AndClosed_data()
    {
        QTest::addColumn<QByteArray>("framing");
        QTest::newRow("plus sign") << QByteArray("Content-Length: +2\r\n");
        QTest::newRow("minus zero") << QByteArray("Content-Length: -0\r\n");
        QTest::newRow("inner space") << QByteArray("Content-Length: 1 2\r\n");
        QTest::newRow("leading zero") << QByteArray("Content-Length: 02\r\n");
        QTest::newRow("many zeros") << QByteArray("Content-Length: 0000000000000000000002\r\n");
        QTest::newRow("hex") << QByteArray("Content-Length: 0x2\r\n");
        QTest::newRow("list") << QByteArray("Content-Length: 2, 2\r\n");
        QTest::newRow("vertical tab") << QByteArray("Content-Length: \v2\r\n");
        QTest::newRow("empty") << QByteArray("Content-Length: \r\n");
        QTest::newRow("duplicate, equal") << QByteArray("Content-Length: 2\r\nContent-Length: 2\r\n");
        QTest::newRow("duplicate, different") << QByteArray("Content-Length: 2\r\nContent-Length: 40\r\n");
        QTest::newRow("with chunked") << QByteArray("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n");
        QTest::newRow("with chunked, reversed") << QByteArray("Transfer-Encoding: chunked\r\nContent-Length: 2\r\n");
        QTest::newRow("bare CR in a value") << QByteArray("X-Note: a\rContent-Length: 2\r\n");
    }

    void ambiguousBodyFramingIs400AndClosed()
    {
        QFETCH(QByteArray, framing);
        TestServer server;
        // Followed by a second request that a lenient reading would take from the "body".
        const RawExchange ex = rawExchange(server.port(), "POST /healthz HTTP/1.1\r\nHost: x\r\n" + framing
                                                              + "\r\n{}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(ex.closedByServer);
        QCOMPARE(ex.status(), 400);
        QCOMPARE(ex.received.count("HTTP/1.1 "), 1); // nothing after it was read as a request
    }

    // What the rules still accept: optional whitespace around the value, and zero.
    void plainContentLengthIsAccepted_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::newRow("plain") << QByteArray("2");
        QTest::newRow("spaces and tabs around") << QByteArray(" \t2 ");
    }

    void plainContentLengthIsAccepted()
    {
        QFETCH(QByteArray, value);
        TestServer server;
        const RawExchange ex = rawExchange(server.port(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length:" + value
                                                              + "\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QCOMPARE(ex.status(), 405); // the route exists for GET: the request was understood
        QCOMPARE(ex.received.count("HTTP/1.1 200 OK"), 1); // and the next one read after exactly 2 bytes
    }

    void forwardedClientParsing_data()
    {
        QTest::addColumn<QStringList>("trusted");
        QTest::addColumn<QString>("peer");
        QTest::addColumn<QByteArray>("headers"); // "name: value" lines
        QTest::addColumn<QString>("client");     // empty: the peer is the client
        const QStringList loopback{QStringLiteral("127.0.0.1"), QStringLiteral("::1")};
        QTest::newRow("untrusted peer: header ignored") << loopback << "192.0.2.9" << QByteArray("x-forwarded-for: 203.0.113.7") << "";
        QTest::newRow("xff") << loopback << "127.0.0.1" << QByteArray("x-forwarded-for: 203.0.113.7") << "203.0.113.7";
        QTest::newRow("xff: right-most wins over a spoofed left") << loopback << "127.0.0.1"
                                                                  << QByteArray("x-forwarded-for: 1.2.3.4, 203.0.113.7") << "203.0.113.7";
        QTest::newRow("xff: trusted hops skipped") << QStringList{QStringLiteral("10.0.0.0/8"), QStringLiteral("127.0.0.1")} << "127.0.0.1"
                                                   << QByteArray("x-forwarded-for: 1.2.3.4, 203.0.113.7, 10.1.2.3") << "203.0.113.7";
        QTest::newRow("xff: two header lines are one list") << loopback << "127.0.0.1"
                                                            << QByteArray("x-forwarded-for: 1.2.3.4\nx-forwarded-for: 203.0.113.8") << "203.0.113.8";
        QTest::newRow("xff with port") << loopback << "127.0.0.1" << QByteArray("x-forwarded-for: 203.0.113.7:5555") << "203.0.113.7";
        QTest::newRow("xff ipv6") << loopback << "::1" << QByteArray("x-forwarded-for: 2001:db8::17") << "2001:db8::17";
        QTest::newRow("ipv4-mapped peer") << loopback << "::ffff:127.0.0.1" << QByteArray("x-forwarded-for: 203.0.113.7") << "203.0.113.7";
        QTest::newRow("xff garbage: the proxy") << loopback << "127.0.0.1" << QByteArray("x-forwarded-for: 203.0.113.7, nonsense") << "";
        QTest::newRow("forwarded") << loopback << "127.0.0.1" << QByteArray("forwarded: for=203.0.113.7;proto=http") << "203.0.113.7";
        QTest::newRow("forwarded ipv6 quoted with port") << loopback << "127.0.0.1"
                                                         << QByteArray("forwarded: for=1.2.3.4, For=\"[2001:db8:cafe::17]:4711\"") << "2001:db8:cafe::17";
        QTest::newRow("forwarded unknown: the proxy") << loopback << "127.0.0.1" << QByteArray("forwarded: for=unknown") << "";
        QTest::newRow("xff preferred over forwarded") << loopback << "127.0.0.1"
                                                      << QByteArray("forwarded: for=1.2.3.4\nx-forwarded-for: 203.0.113.7") << "203.0.113.7";
        QTest::newRow("no header") << loopback << "127.0.0.1" << QByteArray() << "";
        QTest::newRow("nobody trusted") << QStringList() << "127.0.0.1" << QByteArray("x-forwarded-for: 203.0.113.7") << "";
    }

    void forwardedClientParsing()
    {
        QFETCH(QStringList, trusted);
        QFETCH(QString, peer);
        QFETCH(QByteArray, headers);
        QFETCH(QString, client);
        QList<QPair<QByteArray, QByteArray>> list;
        for (const QByteArray &line : headers.split('\n'))
            if (!line.isEmpty())
                list.append({line.left(line.indexOf(':')), line.mid(line.indexOf(':') + 1).trimmed()});
        const QHostAddress got = TrustedProxies(trusted).forwardedClient(QHostAddress(peer), list);
        QCOMPARE(got.isNull() ? QString() : got.toString(), client);
    }

    // Behind a trusted proxy (here: connections from 127.0.0.1) the per-IP limit counts the
    // forwarded client, not the proxy: a client's open WebSocket and its requests in progress.
    void perIpLimitCountsTheForwardedClient()
    {
        TestServer server([](Config &c) {
            c.limits.maxConnectionsPerIp = 1;
            c.limits.trustedProxies = {QStringLiteral("127.0.0.1")};
        });
        FrontDoor &door = server.app().frontDoor();
        QWebSocketServer *endpoint = door.addWebSocketEndpoint(QStringLiteral("/ws-test"));
        QList<QWebSocket *> accepted;
        connect(endpoint, &QWebSocketServer::newConnection, this, [&]() { accepted << endpoint->nextPendingConnection(); });
        const QHostAddress alice(QStringLiteral("203.0.113.7"));
        QWebSocket socket;
        QSignalSpy opened(&socket, &QWebSocket::connected);
        QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws-test").arg(server.port())));
        request.setRawHeader("X-Forwarded-For", "203.0.113.7");
        socket.open(request);
        QVERIFY(opened.wait(10000));
        QTRY_COMPARE(door.connectionsFrom(alice), 1);
        QCOMPARE(door.connectionsFrom(QHostAddress(QStringLiteral("127.0.0.1"))), 0); // the proxy is nobody's client

        // The same client through another proxy connection: over the limit.
        const RawExchange again = rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n");
        QCOMPARE(again.status(), 503);
        QVERIFY(again.closedByServer);

        // Other clients through one kept-alive proxy connection, one after the other: each is
        // counted while its request runs, and the idle connection is nobody's.
        auto proxyConnection = connectRaw(server.port());
        QVERIFY(proxyConnection);
        for (const QByteArray &client : {QByteArray("203.0.113.8"), QByteArray("203.0.113.9"), QByteArray("2001:db8::5")}) {
            QCOMPARE(exchange(*proxyConnection, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + client + "\r\n\r\n"), 200);
            QCOMPARE(door.connectionsFrom(QHostAddress(QString::fromLatin1(client))), 0);
        }
        // IPv6 clients count by /64: another address of the same network is the same client.
        QWebSocket v6socket;
        QSignalSpy v6opened(&v6socket, &QWebSocket::connected);
        request.setRawHeader("X-Forwarded-For", "2001:db8:0:1::10");
        v6socket.open(request);
        QVERIFY(v6opened.wait(10000));
        QTRY_COMPARE(door.connectionsFrom(QHostAddress(QStringLiteral("2001:db8:0:1::ffff"))), 1);
        QCOMPARE(rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 2001:db8:0:1:aaaa::1\r\n\r\n").status(), 503);
        QCOMPARE(rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 2001:db8:0:2::10\r\nConnection: close\r\n\r\n").status(), 200);

        socket.close();
        v6socket.close();
        qDeleteAll(accepted);
        QTRY_COMPARE(door.connectionsFrom(alice), 0);
        QCOMPARE(rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n").status(), 200);
    }

    // From a peer that is not a trusted proxy, the headers mean nothing: a client cannot pick an
    // address to dodge its limits (or to lock somebody else out).
    void untrustedPeerCannotClaimAnAddress()
    {
        TestServer server([](Config &c) {
            c.limits.maxConnectionsPerIp = 1;
            c.limits.trustedProxies = {QStringLiteral("127.0.0.2")};
        });
        FrontDoor &door = server.app().frontDoor();
        auto first = connectRaw(server.port(), QStringLiteral("127.0.0.1"));
        QVERIFY(first);
        QCOMPARE(exchange(*first, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.7\r\n\r\n"), 200);
        QCOMPARE(door.connectionsFrom(QHostAddress(QStringLiteral("127.0.0.1"))), 1);
        QCOMPARE(door.connectionsFrom(QHostAddress(QStringLiteral("203.0.113.7"))), 0);
        const RawExchange second = rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n");
        QCOMPARE(second.status(), 503);
    }

    // The page may run only this server's scripts and may not be framed; nothing is MIME-sniffed.
    void webClientCarriesSecurityHeaders()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        for (const QString &path : {QStringLiteral("/"), QStringLiteral("/app.js")}) {
            const HttpResult page = http.get(path);
            QCOMPARE(page.status, 200);
            const QByteArray csp = page.header("Content-Security-Policy");
            QVERIFY2(csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), csp.constData());
            QVERIFY2(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), csp.constData()); // no Live2D mount here
            QCOMPARE(page.header("X-Frame-Options"), QByteArray("DENY"));
            QCOMPARE(page.header("X-Content-Type-Options"), QByteArray("nosniff"));
            QCOMPARE(page.header("Referrer-Policy"), QByteArray("no-referrer"));
        }
        for (const QString &path : {QStringLiteral("/healthz"), QStringLiteral("/no/such/thing")})
            QCOMPARE(http.get(path).header("X-Content-Type-Options"), QByteArray("nosniff"));
    }
};

QTEST_GUILESS_MAIN(TestHostileClients)
#include "tst_hostileclients.moc"
