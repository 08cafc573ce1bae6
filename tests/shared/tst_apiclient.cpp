// ApiClient against the real server in-process: register, login, refresh, profile, logout, and
// the errors a client must surface (taken name, bad password, bad token, server down).
#include "testserver.h"
#include "tianyi/apiclient.h"

#include <QTcpServer>
#include <QtTest>
#include <optional>

using namespace tianyi;
using namespace tianyi::client;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");

// Runs one call and waits for its callback.
template <typename Call>
std::optional<ApiResult> run(Call call)
{
    std::optional<ApiResult> result;
    call([&result](const ApiResult &r) { result = r; });
    if (!QTest::qWaitFor([&]() { return result.has_value(); }, 30000))
        return std::nullopt;
    return result;
}
} // namespace

class TestApiClient : public QObject
{
    Q_OBJECT

private slots:
    void accountLifecycle()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        ApiClient api(QUrl(server.baseUrl()));

        auto reg = run([&](auto done) { api.registerUser(QStringLiteral("carol"), kPassword, QStringLiteral("Carol"), done); });
        QVERIFY(reg);
        QCOMPARE(reg->status, 201);
        QVERIFY(reg->ok());
        const QJsonObject user = reg->json.value(QStringLiteral("user")).toObject();
        QCOMPARE(user.value(QStringLiteral("username")).toString(), QStringLiteral("carol"));
        QCOMPARE(user.value(QStringLiteral("nickname")).toString(), QStringLiteral("Carol"));

        auto again = run([&](auto done) { api.registerUser(QStringLiteral("carol"), kPassword, {}, done); });
        QVERIFY(again);
        QCOMPARE(again->status, 409);
        QVERIFY(again->error);
        QCOMPARE(again->error->code, QStringLiteral("username_taken"));
        QVERIFY(again->describe().contains(QStringLiteral("username_taken")));
        QVERIFY(again->describe().contains(QStringLiteral("409")));

        auto weak = run([&](auto done) { api.registerUser(QStringLiteral("dave"), QStringLiteral("123"), {}, done); });
        QVERIFY(weak);
        QCOMPARE(weak->status, 400);
        QCOMPARE(weak->error->code, QStringLiteral("weak_password"));

        auto wrong = run([&](auto done) { api.login(QStringLiteral("carol"), QStringLiteral("not the password"), done); });
        QVERIFY(wrong);
        QVERIFY(!wrong->ok());
        QVERIFY(wrong->reachedServer());
        QVERIFY(wrong->error);
        QCOMPARE(wrong->error->code, QStringLiteral("invalid_grant"));

        auto login = run([&](auto done) { api.login(QStringLiteral("carol"), kPassword, done); });
        QVERIFY(login);
        QCOMPARE(login->status, 200);
        const std::optional<Tokens> tokens = Tokens::fromJson(login->json);
        QVERIFY(tokens);
        QCOMPARE(tokens->tokenType, QStringLiteral("Bearer"));
        QVERIFY(tokens->expiresIn > 0);
        QVERIFY(!tokens->refreshToken.isEmpty());
        QCOMPARE(Tokens::fromJson(tokens->toJson())->accessToken, tokens->accessToken);

        auto profile = run([&](auto done) { api.getProfile(tokens->accessToken, done); });
        QVERIFY(profile);
        QCOMPARE(profile->status, 200);
        QCOMPARE(profile->json.value(QStringLiteral("nickname")).toString(), QStringLiteral("Carol"));

        auto anonymous = run([&](auto done) { api.getProfile(QStringLiteral("not-a-token"), done); });
        QVERIFY(anonymous);
        QCOMPARE(anonymous->status, 401);
        QCOMPARE(anonymous->error->code, QStringLiteral("unauthorized"));

        auto refreshed = run([&](auto done) { api.refresh(tokens->refreshToken, done); });
        QVERIFY(refreshed);
        QCOMPARE(refreshed->status, 200);
        const std::optional<Tokens> rotated = Tokens::fromJson(refreshed->json);
        QVERIFY(rotated);
        QVERIFY(rotated->refreshToken != tokens->refreshToken);

        auto reused = run([&](auto done) { api.refresh(tokens->refreshToken, done); });
        QVERIFY(reused);
        QCOMPARE(reused->status, 400);
        QCOMPARE(reused->error->code, QStringLiteral("invalid_grant"));

        auto logout = run([&](auto done) { api.logout(rotated->refreshToken, done); });
        QVERIFY(logout);
        QVERIFY(logout->ok());
    }

    void serverDown()
    {
        quint16 port = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            port = probe.serverPort();
        }
        ApiClient api(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
        auto r = run([&](auto done) { api.login(QStringLiteral("x"), QStringLiteral("y"), done); });
        QVERIFY(r);
        QCOMPARE(r->status, 0);
        QVERIFY(!r->reachedServer());
        QVERIFY(!r->ok());
        QVERIFY(!r->networkError.isEmpty());
        QCOMPARE(r->describe(), r->networkError);
    }

    void oversizedAnswerIsAborted()
    {
        // A server that answers with a body larger than the cap: the client aborts instead of buffering.
        QTcpServer fake;
        QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
        connect(&fake, &QTcpServer::newConnection, &fake, [&fake]() {
            QTcpSocket *s = fake.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s]() {
                s->readAll();
                s->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n");
                s->write(QByteArray(200000, ' '));
            });
        });
        ApiClient api(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(fake.serverPort())));
        api.setMaxResponseBytes(1000);
        auto r = run([&](auto done) { api.getProfile(QStringLiteral("t"), done); });
        QVERIFY(r);
        QCOMPARE(r->status, 0);
        QVERIFY(r->networkError.contains(QStringLiteral("larger")));
    }

    void callbacksAreDroppedWhenTheClientIsGone()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        bool called = false;
        {
            ApiClient api(QUrl(server.baseUrl()));
            api.login(QStringLiteral("nobody"), kPassword, [&called](const ApiResult &) { called = true; });
        }
        // Let the server finish the request; the callback must never run.
        auto r = run([&](auto done) {
            ApiClient *other = new ApiClient(QUrl(server.baseUrl()), this);
            other->registerUser(QStringLiteral("erin"), kPassword, {}, [other, done](const ApiResult &res) {
                other->deleteLater();
                done(res);
            });
        });
        QVERIFY(r);
        QCOMPARE(r->status, 201);
        QVERIFY(!called);
    }
};

QTEST_GUILESS_MAIN(TestApiClient)
#include "tst_apiclient.moc"
