// The front door: one port, its limits, and the error shape of everything it answers.
#include "httpclient.h"
#include "metrics/metrics.h"
#include "net/frontdoor.h"
#include "net/router.h"
#include "testserver.h"

#include <QSignalSpy>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

class TestFrontDoor : public QObject
{
    Q_OBJECT

private slots:
    void healthzAnswersJson()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const HttpResult r = http.get(QStringLiteral("/healthz"));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
        QVERIFY(!r.header("X-Request-Id").isEmpty());
    }

    void readyzChecksTheDatabase()
    {
        TestServer server;
        QVERIFY(server.started());
        const HttpResult r = HttpClient(server.baseUrl()).get(QStringLiteral("/readyz"));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(QStringLiteral("checks")).toObject().value(QStringLiteral("database")).toString(), QStringLiteral("ok"));
        // With no upstream configured, every service is a named built-in.
        const QJsonObject providers = r.json().value(QStringLiteral("providers")).toObject();
        for (const char *service : {"llm", "tts", "embedding"}) {
            const QJsonObject p = providers.value(QLatin1String(service)).toObject();
            QVERIFY2(p.value(QStringLiteral("built_in")).toBool(), service);
            QVERIFY(!p.value(QStringLiteral("provider")).toString().isEmpty());
        }
        QVERIFY(providers.value(QStringLiteral("asr")).toObject().value(QStringLiteral("provider")).toString().startsWith(QStringLiteral("none")));
    }

    void readyzNamesTheRealClientsWhenConfigured()
    {
        TestServer server([](Config &c) {
            c.llm.baseUrl = QStringLiteral("http://127.0.0.1:9/v1");
            c.embedding.baseUrl = QStringLiteral("http://127.0.0.1:9/v1");
        });
        QVERIFY2(server.started(), qPrintable(server.error()));
        const QJsonObject providers = HttpClient(server.baseUrl()).get(QStringLiteral("/readyz")).json().value(QStringLiteral("providers")).toObject();
        QCOMPARE(providers.value(QStringLiteral("llm")).toObject().value(QStringLiteral("built_in")).toBool(), false);
        QCOMPARE(providers.value(QStringLiteral("embedding")).toObject().value(QStringLiteral("built_in")).toBool(), false);
        QCOMPARE(providers.value(QStringLiteral("tts")).toObject().value(QStringLiteral("built_in")).toBool(), true);
    }

    void rootServesAPageForBrowsers()
    {
        TestServer server;
        const HttpResult r = HttpClient(server.baseUrl()).get(QStringLiteral("/"));
        QCOMPARE(r.status, 200);
        QVERIFY(r.header("Content-Type").startsWith("text/html"));
        QVERIFY(r.body.contains("tianyi"));
    }

    void unknownRouteIs404Json()
    {
        TestServer server;
        const HttpResult r = HttpClient(server.baseUrl()).get(QStringLiteral("/no/such/thing"));
        QCOMPARE(r.status, 404);
        QCOMPARE(r.errorCode(), QStringLiteral("not_found"));
    }

    void wrongMethodIs405WithAllow()
    {
        TestServer server;
        const HttpResult r = HttpClient(server.baseUrl()).request("DELETE", QStringLiteral("/healthz"));
        QCOMPARE(r.status, 405);
        QCOMPARE(r.errorCode(), QStringLiteral("method_not_allowed"));
        QCOMPARE(r.header("Allow"), QByteArray("GET"));
    }

    void metricsCountRequestsByRouteAndStatus()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        http.get(QStringLiteral("/healthz"));
        http.get(QStringLiteral("/healthz"));
        http.get(QStringLiteral("/nope"));
        const HttpResult r = http.get(QStringLiteral("/metrics"));
        QCOMPARE(r.status, 200);
        QVERIFY(r.header("Content-Type").startsWith("text/plain"));
        QVERIFY2(r.body.contains("tianyi_http_requests_total{route=\"/healthz\",status=\"200\"} 2"), r.body.constData());
        QVERIFY(r.body.contains("tianyi_http_requests_total{route=\"not_found\",status=\"404\"} 1"));
        QVERIFY(r.body.contains("tianyi_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2"));
        QVERIFY(r.body.contains("# TYPE tianyi_open_connections gauge"));
    }

    void oversizeBodyIs413BeforeTheBodyIsRead()
    {
        TestServer server([](Config &c) { c.limits.maxBodyBytes = 1024; });
        // Announce 50 MB but send only the head: the answer must come without waiting for the body.
        const RawExchange ex = rawExchange(server.port(),
                                           "POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           "Content-Length: 52428800\r\n\r\n{\"username\":");
        QVERIFY(ex.closedByServer);
        QCOMPARE(ex.status(), 413);
        QVERIFY(ex.received.contains("\"code\":\"too_large\""));
        QVERIFY(ex.received.contains("\r\nX-Request-Id: r")); // the refusal's log line can be found
    }

    void hugeHeadersAre431()
    {
        TestServer server([](Config &c) { c.limits.maxHeaderBytes = 4096; });
        const QByteArray big(10000, 'a');
        const RawExchange ex = rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
        QVERIFY(ex.closedByServer);
        QCOMPARE(ex.status(), 431);
        QVERIFY(ex.received.contains("\r\nX-Request-Id: r"));
    }

    void malformedRequestLineIs400()
    {
        TestServer server;
        const RawExchange ex = rawExchange(server.port(), "HELLO THERE\r\n\r\n");
        QVERIFY(ex.closedByServer);
        QCOMPARE(ex.status(), 400);
        QVERIFY(ex.received.contains("\"error\""));
    }

    void chunkedBodyIsRefusedClearly()
    {
        TestServer server;
        const RawExchange ex = rawExchange(server.port(), "POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        QCOMPARE(ex.status(), 501);
    }

    void silentConnectionIsClosedByIdleTimeout()
    {
        TestServer server([](Config &c) { c.limits.idleTimeoutMs = 300; });
        // Sends nothing at all; the server must close it (the helper waits far longer than the timeout).
        const RawExchange ex = rawExchange(server.port(), {}, 10000);
        QVERIFY(ex.closedByServer);
        QVERIFY(ex.received.isEmpty());
    }

    void partialRequestGets408()
    {
        TestServer server([](Config &c) { c.limits.idleTimeoutMs = 300; });
        const RawExchange ex = rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n", 10000);
        QVERIFY(ex.closedByServer);
        QCOMPARE(ex.status(), 408);
    }

    void keepAliveServesSeveralRequests()
    {
        TestServer server;
        const RawExchange ex = rawExchange(server.port(),
                                           "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QVERIFY(ex.closedByServer);
        QCOMPARE(ex.received.count("HTTP/1.1 200 OK"), 2);
    }

    void perIpConnectionCapRefusesWith503()
    {
        TestServer server([](Config &c) { c.limits.maxConnectionsPerIp = 2; });
        QTcpSocket a, b;
        a.connectToHost(QStringLiteral("127.0.0.1"), server.port());
        b.connectToHost(QStringLiteral("127.0.0.1"), server.port());
        QVERIFY(a.waitForConnected(5000) && b.waitForConnected(5000));
        QTRY_COMPARE(server.app().frontDoor().openConnections(), 2);
        const RawExchange third = rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        QCOMPARE(third.status(), 503);
        QVERIFY(third.received.contains("too_many_connections"));
        a.abort();
        QTRY_COMPARE(server.app().frontDoor().openConnections(), 1);
        const RawExchange fourth = rawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QCOMPARE(fourth.status(), 200);
    }

    void webSocketUpgradeSharesThePort()
    {
        TestServer server;
        QWebSocketServer *endpoint = server.app().frontDoor().addWebSocketEndpoint(QStringLiteral("/ws-test"));
        QList<QWebSocket *> accepted;
        connect(endpoint, &QWebSocketServer::newConnection, this, [&]() {
            QWebSocket *s = endpoint->nextPendingConnection();
            connect(s, &QWebSocket::textMessageReceived, s, [s](const QString &m) { s->sendTextMessage(QStringLiteral("echo:") + m); });
            accepted << s;
        });
        QWebSocket client;
        QSignalSpy received(&client, &QWebSocket::textMessageReceived);
        connect(&client, &QWebSocket::connected, this, [&]() { client.sendTextMessage(QStringLiteral("hi")); });
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws-test").arg(server.port())));
        QVERIFY(received.wait(10000));
        QCOMPARE(received.first().first().toString(), QStringLiteral("echo:hi"));
        // Plain HTTP still works on the same port meanwhile.
        QCOMPARE(HttpClient(server.baseUrl()).get(QStringLiteral("/healthz")).status, 200);
        client.close();
        qDeleteAll(accepted); // nextPendingConnection() hands ownership to the caller
    }

    void closedWebSocketsLeaveTheConnectionCount()
    {
        // QWebSocket disconnects every signal of its transport socket; the count must still drop.
        TestServer server;
        QWebSocketServer *endpoint = server.app().frontDoor().addWebSocketEndpoint(QStringLiteral("/ws-test"));
        connect(endpoint, &QWebSocketServer::newConnection, this, [endpoint]() {
            QWebSocket *s = endpoint->nextPendingConnection();
            connect(s, &QWebSocket::disconnected, s, &QObject::deleteLater);
        });
        for (int round = 0; round < 3; ++round) {
            QWebSocket client;
            QSignalSpy opened(&client, &QWebSocket::connected);
            client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws-test").arg(server.port())));
            QVERIFY(opened.wait(10000));
            QTRY_COMPARE(server.app().frontDoor().openConnections(), 1);
            client.close();
            QTRY_COMPARE(server.app().frontDoor().openConnections(), 0);
        }
    }

    void invalidWebSocketHandshakeIsRefused()
    {
        TestServer server;
        server.app().frontDoor().addWebSocketEndpoint(QStringLiteral("/ws-test"));
        // An upgrade without Sec-WebSocket-Key: the endpoint refuses it and closes the connection.
        const RawExchange ex = rawExchange(server.port(), "GET /ws-test HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 10000);
        QVERIFY(ex.closedByServer);
        QVERIFY2(!ex.received.contains(" 101 "), ex.received.constData()); // never switched protocols
        QTRY_COMPARE(server.app().frontDoor().openConnections(), 0);
    }

    void stalledUpgradeRequestIsDropped()
    {
        TestServer server([](Config &c) { c.limits.idleTimeoutMs = 300; });
        server.app().frontDoor().addWebSocketEndpoint(QStringLiteral("/ws-test"));
        // The upgrade request never completes: the front door's request deadline drops it.
        const RawExchange ex = rawExchange(server.port(), "GET /ws-test HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n", 10000);
        QVERIFY(ex.closedByServer);
        QTRY_COMPARE(server.app().frontDoor().openConnections(), 0);
    }

    void gracefulShutdownStopsAccepting()
    {
        TestServer server;
        const quint16 port = server.port();
        server.stop();
        QTcpSocket s;
        s.connectToHost(QStringLiteral("127.0.0.1"), port);
        QVERIFY(!s.waitForConnected(2000));
    }
};

QTEST_GUILESS_MAIN(TestFrontDoor)
#include "tst_frontdoor.moc"
