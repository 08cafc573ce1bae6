// Device tokens and the list of logins, over real HTTP and real sockets against the in-process
// server: a device token needs the current password, is refused everywhere but the device endpoint
// (HTTP API, /ws, /ws/admin), is listed and revocable by its owner only, ends with the account's
// token generation, and never reaches the log.
#include "auth/accountservice.h"
#include "auth/authguard.h"
#include "auth/jwt.h"
#include "auth/logins.h"
#include "authtest.h"
#include "chattestclient.h"
#include "storage/database.h"
#include "testserver.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QMutex>
#include <QSignalSpy>
#include <QWebSocket>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");
const QString kDeviceTokens = QStringLiteral("/api/v1/me/device-tokens");
const QString kLogins = QStringLiteral("/api/v1/me/logins");
const QString kProfile = QStringLiteral("/api/v1/me/profile");

void enableDeviceEndpoint(Config &c)
{
    c.compat.olvEnabled = true;
}

struct Login {
    qint64 userId = 0;
    QByteArray access;
    QByteArray refresh;
    QString loginId; // sid
};

Login login(HttpClient &http, const QString &name)
{
    const HttpResult r = loginForm(http, name, kPassword);
    const QByteArray access = accessTokenOf(r);
    const QJsonObject claims = jwtPayload(access);
    return {claims.value(QStringLiteral("sub")).toString().toLongLong(), access, refreshTokenOf(r), claims.value(QStringLiteral("sid")).toString()};
}

Login newAccount(HttpClient &http, const QString &name)
{
    registerUser(http, name, kPassword);
    return login(http, name);
}

HttpResult createDevice(HttpClient &http, const QByteArray &access, const QJsonValue &name, const QString &password = kPassword)
{
    return http.postJson(kDeviceTokens, {{QStringLiteral("name"), name}, {QStringLiteral("password"), password}}, access);
}

HttpResult revokeLogin(HttpClient &http, const QByteArray &access, const QString &id)
{
    return http.request("DELETE", kLogins + QLatin1Char('/') + id, {}, {{"Authorization", "Bearer " + access}});
}

QJsonArray loginsOf(HttpClient &http, const QByteArray &access)
{
    return http.get(kLogins, access).json().value(QStringLiteral("logins")).toArray();
}

QJsonObject loginWithId(const QJsonArray &logins, const QString &id)
{
    for (const QJsonValue &v : logins)
        if (v.toObject().value(QStringLiteral("id")).toString() == id)
            return v.toObject();
    return {};
}

// What the device endpoint will do with a token: authenticateDeviceOrAccessToken, then checkAccount
// on the storage thread. Empty when accepted, else the refusal's message.
QString deviceEndpointRefusal(TestServer &server, const QByteArray &token)
{
    const Outcome<Principal> who = server.app().accounts().guard().authenticateDeviceOrAccessToken(token);
    if (!who.ok())
        return who.error().message;
    bool done = false;
    QString refusal = QStringLiteral("storage failed");
    server.app().database().read<Outcome<Principal>>(&server.app(), [p = who.value()](SqlSession &s) { return AuthGuard::checkAccount(s, p); },
                                                     [&](DbResult<Outcome<Principal>> r) {
                                                         if (r.ok())
                                                             refusal = r.value->ok() ? QString() : r.value->error().message;
                                                         done = true;
                                                     });
    if (!QTest::qWaitFor([&]() { return done; }, 20000))
        return QStringLiteral("no answer from storage");
    return refusal;
}

// Every message the process logs, as written by the code (before the log handler's redaction), so
// that "never logged" is about the code and not about the safety net.
QMutex g_logMutex;
QStringList g_rawLog;
QtMessageHandler g_previousHandler = nullptr;

void recordingHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    {
        QMutexLocker lock(&g_logMutex);
        g_rawLog.append(message);
    }
    if (g_previousHandler)
        g_previousHandler(type, context, message);
}

class ScopedLogRecorder
{
public:
    ScopedLogRecorder()
    {
        QLoggingCategory::setFilterRules(QStringLiteral("tianyi.*.debug=true"));
        g_previousHandler = qInstallMessageHandler(recordingHandler);
    }
    ~ScopedLogRecorder()
    {
        qInstallMessageHandler(g_previousHandler);
        g_previousHandler = nullptr;
    }
    QString joined() const
    {
        QMutexLocker lock(&g_logMutex);
        return g_rawLog.join(QLatin1Char('\n'));
    }
    int lines() const
    {
        QMutexLocker lock(&g_logMutex);
        return int(g_rawLog.size());
    }
};

// A /ws/admin socket opened with ?token= that records how it was closed.
struct FeedProbe {
    QWebSocket socket;
    bool closed = false;
    int closeCode = -1;
    void open(quint16 port, const QByteArray &token)
    {
        QObject::connect(&socket, &QWebSocket::disconnected, [this]() {
            closed = true;
            closeCode = int(socket.closeCode());
        });
        socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws/admin?token=%2").arg(port).arg(QString::fromLatin1(token))));
    }
};
} // namespace

class TestDeviceTokens : public QObject
{
    Q_OBJECT

private slots:
    void scopeClaimIsStrict()
    {
        const JwtCodec codec(QByteArray(48, 'k'));
        const AuthGuard guard(codec);
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        AccessClaims device{7, QStringLiteral("user"), now, now + 3600, QStringLiteral("j"), 0, QStringLiteral("0123abcd")};
        device.scope = kDeviceScope;
        const QByteArray token = codec.sign(device);
        QCOMPARE(jwtPayload(token).value(QStringLiteral("scope")).toString(), QStringLiteral("device"));
        const JwtCodec::Verified verified = codec.verify(token, now);
        QVERIFY(verified.ok());
        QCOMPARE(verified.claims.scope, kDeviceScope);

        const Outcome<Principal> refused = guard.authenticateToken(token);
        QVERIFY(!refused.ok());
        QCOMPARE(int(refused.error().kind), int(HttpError::Kind::Unauthorized));
        QVERIFY(refused.error().tokenPresented);
        QVERIFY2(refused.error().message.contains(QLatin1String("device token")), qPrintable(refused.error().message));
        const Outcome<Principal> accepted = guard.authenticateDeviceOrAccessToken(token);
        QVERIFY(accepted.ok());
        QVERIFY(accepted.value().isDevice());
        QCOMPARE(accepted.value().loginId, QStringLiteral("0123abcd"));

        // An ordinary token has no scope claim at all and passes both.
        const QByteArray access = codec.sign(AccessClaims{7, QStringLiteral("user"), now, now + 900, QStringLiteral("j"), 0, QStringLiteral("0123abcd")});
        QVERIFY(!jwtPayload(access).contains(QStringLiteral("scope")));
        QVERIFY(guard.authenticateToken(access).ok());
        QVERIFY(!guard.authenticateToken(access).value().isDevice());
        QVERIFY(guard.authenticateDeviceOrAccessToken(access).ok());

        // Scopes we never issue, and a device token without a login (it could not be revoked), are refused.
        AccessClaims other = device;
        other.scope = QStringLiteral("admin");
        QCOMPARE(int(codec.verify(codec.sign(other), now).failure), int(JwtCodec::Failure::BadClaims));
        AccessClaims loginless = device;
        loginless.loginId.clear();
        QCOMPARE(int(codec.verify(codec.sign(loginless), now).failure), int(JwtCodec::Failure::BadClaims));
        QVERIFY(!guard.authenticateDeviceOrAccessToken(codec.sign(loginless)).ok());
    }

    void refusedWhenNoEndpointAcceptsDeviceTokens()
    {
        TestServer server; // compat.olv_enabled is off by default
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const HttpResult r = createDevice(http, alice.access, QStringLiteral("desk pet"));
        QCOMPARE(r.status, 409);
        QCOMPARE(r.errorCode(), QStringLiteral("device_tokens_unavailable"));
        QVERIFY2(r.body.contains("compat.olv_enabled"), r.body.constData());
        // Refused before the password is looked at: a wrong one gets the same answer, not a 403.
        QCOMPARE(createDevice(http, alice.access, QStringLiteral("desk pet"), QStringLiteral("wrong password!")).status, 409);
        const QJsonObject list = http.get(kLogins, alice.access).json();
        QVERIFY(list.contains(QStringLiteral("device_endpoint")));
        QVERIFY(list.value(QStringLiteral("device_endpoint")).isNull());
    }

    void createNeedsTheCurrentPasswordAndIsThrottled()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const HttpResult wrong = createDevice(http, alice.access, QStringLiteral("pet"), QStringLiteral("not the password"));
        QCOMPARE(wrong.status, 403);
        QCOMPARE(wrong.errorCode(), QStringLiteral("forbidden"));
        QCOMPARE(loginsOf(http, alice.access).size(), 1); // only this browser login: nothing was made

        // Counted like failed logins: the lock comes, and then even the right password waits.
        const int limit = server.app().config().auth.loginMaxFailures;
        int status = 0;
        for (int i = 1; i <= limit + 1 && status != 429; ++i)
            status = createDevice(http, alice.access, QStringLiteral("pet"), QStringLiteral("guess number %1").arg(i)).status;
        QCOMPARE(status, 429);
        const HttpResult locked = createDevice(http, alice.access, QStringLiteral("pet"));
        QCOMPARE(locked.status, 429);
        QVERIFY(!locked.header("Retry-After").isEmpty());
        QCOMPARE(loginsOf(http, alice.access).size(), 1);
    }

    void nameIsValidated()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const QList<QPair<const char *, QJsonValue>> bad = {
            {"empty", QStringLiteral("")},
            {"blank", QStringLiteral("   \t ")},
            {"too long", QString(Logins::kMaxDeviceNameChars + 1, QLatin1Char('x'))},
            {"control character", QStringLiteral("pet\u0007")},
            {"newline", QStringLiteral("pet\nadmin")},
            {"bidi override", QStringLiteral("pet\u202Egnp.exe")},
            {"not a string", 42},
            {"missing", QJsonValue(QJsonValue::Undefined)},
        };
        for (const auto &c : bad) {
            QJsonObject body{{QStringLiteral("password"), kPassword}};
            if (!c.second.isUndefined())
                body.insert(QStringLiteral("name"), c.second);
            const HttpResult r = http.postJson(kDeviceTokens, body, alice.access);
            QVERIFY2(r.status == 400, c.first);
            QCOMPARE(r.errorCode(), QStringLiteral("bad_request"));
            QVERIFY2(r.body.contains("name"), c.first);
        }
        const HttpResult unknownField =
            http.postJson(kDeviceTokens, {{QStringLiteral("name"), QStringLiteral("pet")}, {QStringLiteral("password"), kPassword},
                                          {QStringLiteral("scope"), QStringLiteral("admin")}}, alice.access);
        QCOMPARE(unknownField.status, 400);
        QVERIFY(unknownField.body.contains("scope"));
        QCOMPARE(loginsOf(http, alice.access).size(), 1);

        // Trimmed; 64 characters (of any script) are fine.
        const QString longest = QString(Logins::kMaxDeviceNameChars - 2, QLatin1Char('x')) + QStringLiteral("天依");
        const HttpResult ok = createDevice(http, alice.access, QStringLiteral("  ") + longest + QStringLiteral("  "));
        QCOMPARE(ok.status, 201);
        QCOMPARE(ok.json().value(QStringLiteral("name")).toString(), longest);
        // Without a token in the request, nothing at all.
        QCOMPARE(http.postJson(kDeviceTokens, {{QStringLiteral("name"), QStringLiteral("pet")}, {QStringLiteral("password"), kPassword}}).status, 401);
    }

    void deviceTokensPerUserAreCapped()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        QStringList ids;
        for (int i = 0; i < Logins::kMaxDeviceTokensPerUser; ++i) {
            const HttpResult r = createDevice(http, alice.access, QStringLiteral("pet %1").arg(i));
            QVERIFY2(r.status == 201, qPrintable(describe(r)));
            ids << r.json().value(QStringLiteral("id")).toString();
        }
        const HttpResult over = createDevice(http, alice.access, QStringLiteral("one too many"));
        QCOMPARE(over.status, 409);
        QCOMPARE(over.errorCode(), QStringLiteral("too_many_device_tokens"));
        QVERIFY(over.body.contains("revoke"));
        // Another user is not affected by Alice's count.
        const Login bob = newAccount(http, QStringLiteral("bob"));
        QCOMPARE(createDevice(http, bob.access, QStringLiteral("bob's pet")).status, 201);
        // A revoked one frees its place.
        QCOMPARE(revokeLogin(http, alice.access, ids.first()).status, 204);
        QCOMPARE(createDevice(http, alice.access, QStringLiteral("replacement")).status, 201);
        QCOMPARE(createDevice(http, alice.access, QStringLiteral("again too many")).status, 409);
    }

    void deviceTokenWorksOnlyAtTheDeviceEndpoint()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const qint64 before = QDateTime::currentSecsSinceEpoch();
        const HttpResult created = createDevice(http, alice.access, QStringLiteral("desk pet"));
        QCOMPARE(created.status, 201);
        QCOMPARE(created.header("Pragma"), QByteArray("no-cache"));
        const QByteArray device = created.json().value(QStringLiteral("token")).toString().toLatin1();
        const QString id = created.json().value(QStringLiteral("id")).toString();
        const QJsonObject claims = jwtPayload(device);
        QCOMPARE(claims.value(QStringLiteral("scope")).toString(), QStringLiteral("device"));
        QCOMPARE(claims.value(QStringLiteral("sid")).toString(), id);
        QCOMPARE(claims.value(QStringLiteral("sub")).toString().toLongLong(), alice.userId);
        const qint64 ttl = qint64(server.app().config().auth.deviceTokenTtlDays) * 24 * 3600;
        QVERIFY(claims.value(QStringLiteral("exp")).toInteger() >= before + ttl);
        QVERIFY(claims.value(QStringLiteral("exp")).toInteger() <= QDateTime::currentSecsSinceEpoch() + ttl);
        QVERIFY(created.json().value(QStringLiteral("expires_at")).toString().endsWith(QLatin1Char('Z')));

        // The HTTP API refuses it, with a message saying why.
        for (const QString &path : {kProfile, kLogins, QStringLiteral("/api/v1/me/history"), QStringLiteral("/api/v1/me/memories")}) {
            const HttpResult r = http.get(path, device);
            QVERIFY2(r.status == 401, qPrintable(path));
            QVERIFY2(r.body.contains("device token"), qPrintable(path + QLatin1Char(' ') + QString::fromUtf8(r.body)));
        }
        // Nor can it make more device tokens, or sign the account out.
        QCOMPARE(createDevice(http, device, QStringLiteral("pet 2")).status, 401);
        QCOMPARE(http.request("POST", QStringLiteral("/api/v1/auth/logout-all"), {}, {{"Authorization", "Bearer " + device}}).status, 401);
        // The guard functions the sockets use.
        QVERIFY(!server.app().accounts().guard().authenticateToken(device).ok());
        QVERIFY(server.app().accounts().guard().authenticateToken(alice.access).ok());
        QCOMPARE(deviceEndpointRefusal(server, device), QString());
        QCOMPARE(deviceEndpointRefusal(server, alice.access), QString()); // the device endpoint takes access tokens too

        // /ws closes 4001.
        ChatTestClient refused;
        refused.open(server.port(), {{QStringLiteral("token"), QString::fromLatin1(device)}});
        QVERIFY(refused.waitClosed());
        QCOMPARE(refused.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(refused.indexOfType(chat::kHello), -1);
        // The access token of the same login opens it (so the refusal above is about the scope).
        ChatTestClient allowed;
        QVERIFY(allowed.openAndHello(server.port(), alice.access));
    }

    void adminsDeviceTokenDoesNotOpenTheAdminFeed()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login root = newAccount(http, QStringLiteral("root"));
        bool promoted = false;
        server.app().database().write<bool>(&server.app(), [id = root.userId](SqlSession &s) {
            s.exec(QStringLiteral("UPDATE users SET role = 'admin' WHERE id = ?"), {id});
            return true;
        }, [&](DbResult<bool> r) { promoted = r.ok(); });
        QTRY_VERIFY(promoted);
        const Login admin = login(http, QStringLiteral("root"));
        const HttpResult created = createDevice(http, admin.access, QStringLiteral("admin's pet"));
        QCOMPARE(created.status, 201);
        const QByteArray device = created.json().value(QStringLiteral("token")).toString().toLatin1();
        QCOMPARE(jwtPayload(device).value(QStringLiteral("role")).toString(), QStringLiteral("admin"));

        FeedProbe feed;
        feed.open(server.port(), device);
        QTRY_VERIFY_WITH_TIMEOUT(feed.closed, 20000);
        QCOMPARE(feed.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/sessions"), device).status, 401);
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/sessions"), admin.access).status, 200);
    }

    void listShowsBrowserAndDeviceLoginsAndMarksTheCurrentOne()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login phone = newAccount(http, QStringLiteral("alice"));
        const Login laptop = login(http, QStringLiteral("alice"));
        const HttpResult created = createDevice(http, laptop.access, QStringLiteral("desk pet"));
        QCOMPARE(created.status, 201);
        const QString deviceId = created.json().value(QStringLiteral("id")).toString();
        QCOMPARE(deviceEndpointRefusal(server, created.json().value(QStringLiteral("token")).toString().toLatin1()), QString());

        const QJsonObject answer = http.get(kLogins, laptop.access).json();
        QCOMPARE(answer.value(QStringLiteral("device_endpoint")).toString(), QStringLiteral("/client-ws"));
        const QJsonArray logins = answer.value(QStringLiteral("logins")).toArray();
        QCOMPARE(logins.size(), 3);
        const QJsonObject phoneRow = loginWithId(logins, phone.loginId);
        const QJsonObject laptopRow = loginWithId(logins, laptop.loginId);
        const QJsonObject deviceRow = loginWithId(logins, deviceId);
        QCOMPARE(phoneRow.value(QStringLiteral("kind")).toString(), QStringLiteral("browser"));
        QCOMPARE(phoneRow.value(QStringLiteral("current")).toBool(), false);
        QCOMPARE(laptopRow.value(QStringLiteral("kind")).toString(), QStringLiteral("browser"));
        QCOMPARE(laptopRow.value(QStringLiteral("current")).toBool(), true);
        QCOMPARE(deviceRow.value(QStringLiteral("kind")).toString(), QStringLiteral("device"));
        QCOMPARE(deviceRow.value(QStringLiteral("name")).toString(), QStringLiteral("desk pet"));
        QCOMPARE(deviceRow.value(QStringLiteral("current")).toBool(), false);
        QVERIFY(!deviceRow.value(QStringLiteral("last_used_at")).isNull()); // the device endpoint accepted it above
        QVERIFY(!deviceRow.value(QStringLiteral("created_at")).toString().isEmpty());
        QVERIFY(deviceRow.value(QStringLiteral("expires_at")).toString() > deviceRow.value(QStringLiteral("created_at")).toString());
        QVERIFY(!deviceRow.contains(QStringLiteral("token"))); // shown once, at creation only
        // The other browser sees itself as current.
        QCOMPARE(loginWithId(loginsOf(http, phone.access), phone.loginId).value(QStringLiteral("current")).toBool(), true);

        // A browser login keeps its start across refreshes (the rotated rows are pruned).
        const QString phoneStarted = phoneRow.value(QStringLiteral("created_at")).toString();
        QByteArray refresh = phone.refresh;
        QByteArray access;
        for (int i = 0; i < 6; ++i) {
            const HttpResult r = refreshGrant(http, refresh);
            QCOMPARE(r.status, 200);
            refresh = refreshTokenOf(r);
            access = accessTokenOf(r);
        }
        const QJsonObject refreshed = loginWithId(loginsOf(http, access), phone.loginId);
        QCOMPARE(refreshed.value(QStringLiteral("created_at")).toString(), phoneStarted);
        QCOMPARE(refreshed.value(QStringLiteral("current")).toBool(), true);
        QCOMPARE(loginsOf(http, access).size(), 3);

        // Logging a browser out removes it from the list.
        QCOMPARE(http.postJson(QStringLiteral("/api/v1/auth/logout"), {{QStringLiteral("refresh_token"), QString::fromLatin1(refresh)}}).status, 204);
        QVERIFY(loginWithId(loginsOf(http, laptop.access), phone.loginId).isEmpty());
    }

    void browserLoginsFromBeforeTheMigrationKeepTheirStart()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        // A refresh token stored before refresh_tokens.login_created_at existed has NULL there.
        bool cleared = false;
        server.app().database().write<bool>(&server.app(), [](SqlSession &s) {
            s.exec(QStringLiteral("UPDATE refresh_tokens SET login_created_at = NULL"));
            return true;
        }, [&](DbResult<bool> r) { cleared = r.ok(); });
        QTRY_VERIFY(cleared);
        const QString started = loginWithId(loginsOf(http, alice.access), alice.loginId).value(QStringLiteral("created_at")).toString();
        QVERIFY(!started.isEmpty()); // the row's own issue time stands in
        const HttpResult refreshed = refreshGrant(http, alice.refresh);
        QCOMPARE(refreshed.status, 200);
        QCOMPARE(loginWithId(loginsOf(http, accessTokenOf(refreshed)), alice.loginId).value(QStringLiteral("created_at")).toString(), started);
    }

    void revokeEndsOnlyTheCallersLogin()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const Login bob = newAccount(http, QStringLiteral("bob"));
        const HttpResult created = createDevice(http, alice.access, QStringLiteral("desk pet"));
        const QString deviceId = created.json().value(QStringLiteral("id")).toString();
        const QByteArray device = created.json().value(QStringLiteral("token")).toString().toLatin1();

        // Bob cannot revoke Alice's device or browser login, and learns nothing: same answer as an unknown id.
        const HttpResult foreign = revokeLogin(http, bob.access, deviceId);
        const HttpResult foreignBrowser = revokeLogin(http, bob.access, alice.loginId);
        const HttpResult unknown = revokeLogin(http, bob.access, QStringLiteral("0123456789abcdef0123456789abcdef"));
        const HttpResult huge = revokeLogin(http, bob.access, QString(500, QLatin1Char('a')));
        for (const HttpResult *r : {&foreign, &foreignBrowser, &unknown, &huge}) {
            QCOMPARE(r->status, 404);
            QCOMPARE(r->errorCode(), QStringLiteral("not_found"));
            QCOMPARE(r->json(), foreign.json());
        }
        QCOMPARE(deviceEndpointRefusal(server, device), QString());
        QCOMPARE(http.get(kProfile, alice.access).status, 200);
        QCOMPARE(revokeLogin(http, QByteArray("not.a.token"), deviceId).status, 401);

        // Alice revokes it: the device endpoint refuses it at once, the list drops it, sockets are told.
        QSignalSpy revoked(&server.app().accounts(), &AccountService::loginRevoked);
        QCOMPARE(revokeLogin(http, alice.access, deviceId).status, 204);
        QCOMPARE(revoked.size(), 1);
        QCOMPARE(revoked.at(0).at(0).toLongLong(), alice.userId);
        QCOMPARE(revoked.at(0).at(1).toString(), deviceId);
        const QString refusal = deviceEndpointRefusal(server, device);
        QVERIFY2(refusal.contains(QLatin1String("revoked")), qPrintable(refusal));
        QVERIFY(loginWithId(loginsOf(http, alice.access), deviceId).isEmpty());
        QCOMPARE(revokeLogin(http, alice.access, deviceId).status, 404); // once
        QCOMPARE(http.get(kProfile, alice.access).status, 200);        // her browser login is untouched
    }

    void revokingABrowserLoginClosesItsSockets()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login here = newAccount(http, QStringLiteral("alice"));
        const Login lost = login(http, QStringLiteral("alice"));
        ChatTestClient lostSocket;
        QVERIFY(lostSocket.openAndHello(server.port(), lost.access));
        ChatTestClient hereSocket;
        QVERIFY(hereSocket.openAndHello(server.port(), here.access));

        QCOMPARE(revokeLogin(http, here.access, lost.loginId).status, 204);
        QVERIFY(lostSocket.waitClosed());
        QCOMPARE(lostSocket.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(http.get(kProfile, lost.access).status, 401);
        QCOMPARE(refreshGrant(http, lost.refresh).status, 400);
        // The caller's own login and socket live on.
        QCOMPARE(http.get(kProfile, here.access).status, 200);
        QCOMPARE(hereSocket.socket.state(), QAbstractSocket::ConnectedState);
        QVERIFY(!hereSocket.closed);
    }

    void accountGenerationEndsDeviceTokens()
    {
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const QByteArray first = createDevice(http, alice.access, QStringLiteral("pet")).json().value(QStringLiteral("token")).toString().toLatin1();
        QCOMPARE(deviceEndpointRefusal(server, first), QString());

        // A password change ends it, and the list no longer shows it.
        const HttpResult changed = http.postJson(QStringLiteral("/api/v1/me/password"),
                                                 {{QStringLiteral("current_password"), kPassword},
                                                  {QStringLiteral("new_password"), QStringLiteral("staple battery horse")}},
                                                 alice.access);
        QCOMPARE(changed.status, 200);
        QVERIFY(!deviceEndpointRefusal(server, first).isEmpty());
        const QByteArray access = accessTokenOf(changed);
        QCOMPARE(loginsOf(http, access).size(), 1);

        // Sign-out everywhere ends a newer one too.
        const HttpResult second = http.postJson(kDeviceTokens, {{QStringLiteral("name"), QStringLiteral("pet")},
                                                                {QStringLiteral("password"), QStringLiteral("staple battery horse")}}, access);
        QCOMPARE(second.status, 201);
        const QByteArray secondToken = second.json().value(QStringLiteral("token")).toString().toLatin1();
        QCOMPARE(deviceEndpointRefusal(server, secondToken), QString());
        QCOMPARE(http.request("POST", QStringLiteral("/api/v1/auth/logout-all"), {}, {{"Authorization", "Bearer " + access}}).status, 204);
        QVERIFY(!deviceEndpointRefusal(server, secondToken).isEmpty());
    }

    void deviceTokenNeverReachesTheLog()
    {
        ScopedLogRecorder log;
        TestServer server(enableDeviceEndpoint);
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const Login alice = newAccount(http, QStringLiteral("alice"));
        const HttpResult created = createDevice(http, alice.access, QStringLiteral("desk pet"));
        QCOMPARE(created.status, 201);
        const QByteArray device = created.json().value(QStringLiteral("token")).toString().toLatin1();
        // Use it everywhere it is refused and where it is accepted, then revoke it.
        QCOMPARE(http.get(kProfile, device).status, 401);
        ChatTestClient refused;
        refused.open(server.port(), {{QStringLiteral("token"), QString::fromLatin1(device)}});
        QVERIFY(refused.waitClosed());
        QCOMPARE(deviceEndpointRefusal(server, device), QString());
        QCOMPARE(revokeLogin(http, alice.access, created.json().value(QStringLiteral("id")).toString()).status, 204);
        server.stop();

        QVERIFY(log.lines() > 0); // the recorder saw the server's lines
        const QString all = log.joined();
        QVERIFY(all.contains(QLatin1String("device token"))); // the creation is logged, without the token
        const QByteArray signature = device.mid(device.lastIndexOf('.') + 1);
        QVERIFY(!all.contains(QString::fromLatin1(device)));
        QVERIFY(!all.contains(QString::fromLatin1(signature)));
    }
};

QTEST_GUILESS_MAIN(TestDeviceTokens)
#include "tst_devicetokens.moc"
