// Attacks on accounts, each against the real server over loopback with default limits unless a
// test says otherwise: a deleted account's token naming the next account, tokens outliving a
// password change / sign-out / disabling / deletion, parallel guesses, registration floods, locking
// an owner out, unbounded refresh-token rows, deleting an account with a stolen token, and the
// OAuth2 error shape of the token endpoint.
#include "authtest.h"
#include "storage/database.h"
#include "storage/refreshtokenrepository.h"
#include "testserver.h"

#include <QJsonArray>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {

const QString kPassword = QStringLiteral("correct horse battery");
const QString kNewPassword = QStringLiteral("staple battery horse");
const QString kProfilePath = QStringLiteral("/api/v1/me/profile");
const QHostAddress kAttacker(QStringLiteral("127.0.0.2"));
const QHostAddress kSecondAttacker(QStringLiteral("127.0.0.3"));
const QByteArray kHashes = "tianyi_auth_password_hash_seconds_count{op=\"hash\"}";
const QByteArray kVerifications = "tianyi_auth_password_hash_seconds_count{op=\"verify\"}";

qint64 idOf(const HttpResult &registration)
{
    return registration.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger();
}

QByteArray jsonBytes(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray loginBody(const QString &username, const QString &password)
{
    return jsonBytes({{QStringLiteral("grant_type"), QStringLiteral("password")},
                      {QStringLiteral("username"), username},
                      {QStringLiteral("password"), password}});
}

// One request from a chosen client address, answered before it returns.
ParallelRequests::Reply sendFrom(TestServer &server, const QHostAddress &from, const QByteArray &method, const QString &path, const QByteArray &body)
{
    ParallelRequests one(server.port(), from);
    one.start(method, path, body);
    if (!QTest::qWaitFor([&]() { return one.allDone(); }, 30000))
        qWarning("sendFrom: no answer");
    return one.reply(0);
}

HttpResult deleteAccount(HttpClient &http, const QByteArray &access, const QByteArray &body)
{
    QList<QPair<QByteArray, QByteArray>> headers{{"Authorization", "Bearer " + access}};
    if (!body.isEmpty())
        headers.append(qMakePair(QByteArray("Content-Type"), QByteArray("application/json")));
    return http.request("DELETE", QStringLiteral("/api/v1/me"), body, headers);
}

HttpResult changePassword(HttpClient &http, const QByteArray &access, const QString &current, const QString &replacement)
{
    return http.postJson(QStringLiteral("/api/v1/me/password"),
                         {{QStringLiteral("current_password"), current}, {QStringLiteral("new_password"), replacement}}, access);
}

HttpResult logoutAll(HttpClient &http, const QByteArray &access)
{
    return http.request("POST", QStringLiteral("/api/v1/auth/logout-all"), {}, {{"Authorization", "Bearer " + access}});
}

int refreshRowsOf(TestServer &server, qint64 userId)
{
    int rows = -1;
    bool done = false;
    server.app().database().read<int>(&server.app(), [userId](SqlSession &s) { return RefreshTokenRepository(s).countOfUser(userId); },
                                      [&](DbResult<int> r) {
                                          rows = r.ok() ? *r.value : -1;
                                          done = true;
                                      });
    if (!QTest::qWaitFor([&]() { return done; }, 10000))
        qWarning("refreshRowsOf: no answer from the storage thread");
    return rows;
}

} // namespace

class TestAccountSecurity : public QObject
{
    Q_OBJECT

private slots:
    void aDeletedAccountsTokenDoesNotOpenTheNextAccount()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("alice"), kPassword).status, 201);
        const HttpResult victimReg = registerUser(http, QStringLiteral("mallory"), kPassword);
        const qint64 deletedId = idOf(victimReg);
        const QByteArray oldToken = accessTokenOf(loginForm(http, QStringLiteral("mallory"), kPassword));
        QCOMPARE(jwtPayload(oldToken).value(QStringLiteral("sub")).toString(), QString::number(deletedId));
        // Delete the account with the highest id, then someone else registers.
        QCOMPARE(deleteAccount(http, oldToken, jsonBytes({{QStringLiteral("password"), kPassword}})).status, 204);
        const HttpResult next = registerUser(http, QStringLiteral("newcomer"), kPassword, QStringLiteral("private nickname"));
        QCOMPARE(next.status, 201);
        QVERIFY2(idOf(next) > deletedId, "a deleted account's id was given to a new account");
        // The old token names nobody: 401, and the newcomer's profile is not shown.
        const HttpResult profile = http.get(kProfilePath, oldToken);
        QCOMPARE(profile.status, 401);
        QVERIFY(!profile.body.contains("private nickname"));
        QVERIFY(!profile.body.contains("newcomer"));
    }

    void oldAccessTokensEndWithPasswordChangeAndSignOutEverywhere()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("bob"), kPassword).status, 201);
        const HttpResult laptop = loginForm(http, QStringLiteral("bob"), kPassword);
        const HttpResult phone = loginForm(http, QStringLiteral("bob"), kPassword);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(laptop)).status, 200);

        // A wrong current password changes nothing.
        const HttpResult wrong = changePassword(http, accessTokenOf(phone), QStringLiteral("not my password"), kNewPassword);
        QCOMPARE(wrong.status, 403);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(laptop)).status, 200);
        QCOMPARE(changePassword(http, accessTokenOf(phone), kPassword, QStringLiteral("bob")).errorCode(), QStringLiteral("weak_password"));

        const HttpResult changed = changePassword(http, accessTokenOf(phone), kPassword, kNewPassword);
        QVERIFY2(changed.status == 200, qPrintable(describe(changed)));
        // Every token from before is dead, on every device; the fresh ones work.
        for (const HttpResult *before : {&laptop, &phone}) {
            const HttpResult refused = http.get(kProfilePath, accessTokenOf(*before));
            QCOMPARE(refused.status, 401);
            QVERIFY(refused.header("WWW-Authenticate").contains("invalid_token"));
            QCOMPARE(oauthErrorCode(refreshGrant(http, refreshTokenOf(*before))), QStringLiteral("invalid_grant"));
        }
        QCOMPARE(http.get(kProfilePath, accessTokenOf(changed)).status, 200);
        QCOMPARE(loginForm(http, QStringLiteral("bob"), kPassword).status, 400);
        const HttpResult again = loginForm(http, QStringLiteral("bob"), kNewPassword);
        QCOMPARE(again.status, 200);

        // Sign out everywhere: the caller's own token, the other login and every refresh token end.
        QCOMPARE(logoutAll(http, accessTokenOf(changed)).status, 204);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(changed)).status, 401);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(again)).status, 401);
        QCOMPARE(oauthErrorCode(refreshGrant(http, refreshTokenOf(changed))), QStringLiteral("invalid_grant"));
        QCOMPARE(oauthErrorCode(refreshGrant(http, refreshTokenOf(again))), QStringLiteral("invalid_grant"));
        QCOMPARE(logoutAll(http, accessTokenOf(again)).status, 401);
        // A new login works as before.
        QCOMPARE(http.get(kProfilePath, accessTokenOf(loginForm(http, QStringLiteral("bob"), kNewPassword))).status, 200);
        QCOMPARE(logoutAll(http, {}).status, 401);
    }

    void disablingEndsAccessTokensForGood()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        const qint64 userId = idOf(registerUser(http, QStringLiteral("carol"), kPassword));
        const qint64 adminId = idOf(registerUser(http, QStringLiteral("root"), kPassword));
        bool promoted = false;
        server.app().database().write<bool>(&server.app(), [adminId](SqlSession &s) {
            s.exec(QStringLiteral("UPDATE users SET role = 'admin' WHERE id = ?"), {adminId});
            return true;
        }, [&](DbResult<bool> r) { promoted = r.ok(); });
        QTRY_VERIFY(promoted);
        const QByteArray admin = accessTokenOf(loginForm(http, QStringLiteral("root"), kPassword));
        const QByteArray userToken = accessTokenOf(loginForm(http, QStringLiteral("carol"), kPassword));
        auto adminPost = [&](const char *action) {
            return http.request("POST", QStringLiteral("/api/v1/admin/users/%1/%2").arg(userId).arg(QLatin1String(action)), {},
                                {{"Authorization", "Bearer " + admin}});
        };
        QCOMPARE(adminPost("disable").status, 200);
        QCOMPARE(http.get(kProfilePath, userToken).errorCode(), QStringLiteral("account_disabled"));
        QCOMPARE(adminPost("enable").status, 200);
        // Enabled again, the account needs a new login: the token from before the disabling stays dead.
        QCOMPARE(http.get(kProfilePath, userToken).status, 401);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(loginForm(http, QStringLiteral("carol"), kPassword))).status, 200);
    }

    void parallelGuessesFromOneAddressAreCountedWhileInFlight()
    {
        TestServer server; // default limits: 5 failures per address
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("dave"), kPassword).status, 201);
        const double verificationsBefore = metricSample(http, kVerifications);
        constexpr int kGuesses = 150;
        ParallelRequests guesses(server.port(), kAttacker);
        for (int i = 0; i < kGuesses; ++i) // the spray: a few names, many guesses each
            guesses.start("POST", QStringLiteral("/api/v1/auth/token"),
                          loginBody(i % 3 == 0 ? QStringLiteral("dave") : QStringLiteral("user%1").arg(i % 7), QStringLiteral("guess %1").arg(i)));
        QTRY_VERIFY_WITH_TIMEOUT(guesses.allDone(), 60000);
        int checked = 0;
        int refused = 0;
        for (int i = 0; i < kGuesses; ++i) {
            const ParallelRequests::Reply &r = guesses.reply(i);
            if (r.status == 400)
                ++checked;
            else if (r.status == 429)
                ++refused;
            else
                QFAIL(qPrintable(QStringLiteral("unexpected answer %1 %2").arg(r.status).arg(QString::fromUtf8(r.body))));
        }
        const double verified = metricSample(http, kVerifications) - verificationsBefore;
        qInfo("150 parallel guesses from one address: %d checked, %d refused, %.0f password verifications", checked, refused, verified);
        QVERIFY2(checked <= AuthSettings{}.loginMaxFailures, qPrintable(QString::number(checked)));
        QCOMPARE(verified, double(checked));
        QCOMPARE(checked + refused, kGuesses);
        // The owner, from their own address, still gets in.
        QCOMPARE(loginForm(http, QStringLiteral("dave"), kPassword).status, 200);
    }

    void aRegistrationFloodIsRefusedBeforeHashing()
    {
        TestServer server; // default limits
        HttpClient http(server.baseUrl());
        const double hashesBefore = metricSample(http, kHashes);
        const int perAddress = AuthSettings{}.registerPerAddressMax;
        const int flood = perAddress * 3;
        ParallelRequests registrations(server.port(), kAttacker);
        for (int i = 0; i < flood; ++i)
            registrations.start("POST", QStringLiteral("/api/v1/auth/register"),
                                jsonBytes({{QStringLiteral("username"), QStringLiteral("bot%1").arg(i)}, {QStringLiteral("password"), kPassword}}));
        QTRY_VERIFY_WITH_TIMEOUT(registrations.allDone(), 120000);
        int created = 0;
        int refused = 0;
        for (int i = 0; i < flood; ++i) {
            const ParallelRequests::Reply &r = registrations.reply(i);
            if (r.status == 201)
                ++created;
            if (r.status == 429) {
                ++refused;
                QCOMPARE(QJsonDocument::fromJson(r.body).object().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString(),
                         QStringLiteral("rate_limited"));
            }
        }
        QCOMPARE(created, perAddress);
        QCOMPARE(refused, flood - perAddress);
        // Not one hash for a refused registration.
        QCOMPARE(metricSample(http, kHashes) - hashesBefore, double(perAddress));
        QCOMPARE(metricSample(http, "tianyi_auth_registrations_throttled_total"), double(refused));
        // A refused answer says when to come back.
        const ParallelRequests::Reply late = sendFrom(server, kAttacker, "POST", QStringLiteral("/api/v1/auth/register"),
                                                      jsonBytes({{QStringLiteral("username"), QStringLiteral("late")}, {QStringLiteral("password"), kPassword}}));
        QCOMPARE(late.status, 429);
        // Someone at another address registers normally.
        QCOMPARE(registerUser(http, QStringLiteral("honest"), kPassword).status, 201);
    }

    void registrationsAreLimitedServerWide()
    {
        constexpr int kGlobal = 6;
        TestServer server([](Config &c) { c.auth.registerGlobalMax = kGlobal; c.auth.registerGlobalWindowS = 3600; });
        HttpClient http(server.baseUrl());
        const double hashesBefore = metricSample(http, kHashes);
        ParallelRequests fromA(server.port(), kAttacker);
        ParallelRequests fromB(server.port(), kSecondAttacker);
        for (int i = 0; i < kGlobal; ++i) {
            fromA.start("POST", QStringLiteral("/api/v1/auth/register"),
                        jsonBytes({{QStringLiteral("username"), QStringLiteral("a%1").arg(i)}, {QStringLiteral("password"), kPassword}}));
            fromB.start("POST", QStringLiteral("/api/v1/auth/register"),
                        jsonBytes({{QStringLiteral("username"), QStringLiteral("b%1").arg(i)}, {QStringLiteral("password"), kPassword}}));
        }
        QTRY_VERIFY_WITH_TIMEOUT(fromA.allDone() && fromB.allDone(), 60000);
        int created = 0;
        for (int i = 0; i < kGlobal; ++i)
            created += (fromA.reply(i).status == 201) + (fromB.reply(i).status == 201);
        QCOMPARE(created, kGlobal);
        QCOMPARE(metricSample(http, kHashes) - hashesBefore, double(kGlobal));
    }

    void anAttackerCannotLockTheOwnerOut()
    {
        TestServer server; // default limits
        HttpClient http(server.baseUrl()); // the owner, at 127.0.0.1
        QCOMPARE(registerUser(http, QStringLiteral("erin"), kPassword).status, 201);
        const int limit = AuthSettings{}.loginMaxFailures;
        for (int i = 0; i < limit; ++i)
            QCOMPARE(sendFrom(server, kAttacker, "POST", QStringLiteral("/api/v1/auth/token"), loginBody(QStringLiteral("erin"), QStringLiteral("guess %1").arg(i))).status,
                     400);
        // The attacker's (account, address) pair is locked, even with the right password...
        const ParallelRequests::Reply locked = sendFrom(server, kAttacker, "POST", QStringLiteral("/api/v1/auth/token"), loginBody(QStringLiteral("erin"), kPassword));
        QCOMPARE(locked.status, 429);
        QCOMPARE(QJsonDocument::fromJson(locked.body).object().value(QStringLiteral("error")).toString(), QStringLiteral("rate_limited"));
        // ...the owner at their own address is not.
        QCOMPARE(loginForm(http, QStringLiteral("erin"), kPassword).status, 200);
    }

    void guessesFromManyAddressesShareOneBudgetPerAccount()
    {
        constexpr int kAccountBudget = 7;
        TestServer server([](Config &c) { c.auth.accountMaxFailures = kAccountBudget; });
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("frank"), kPassword).status, 201);
        int failures = 0;
        for (const QHostAddress &from : {kAttacker, kSecondAttacker})
            for (int i = 0; i < AuthSettings{}.loginMaxFailures && failures < kAccountBudget; ++i, ++failures)
                QCOMPARE(sendFrom(server, from, "POST", QStringLiteral("/api/v1/auth/token"), loginBody(QStringLiteral("frank"), QStringLiteral("guess"))).status, 400);
        // Neither address reached its own limit twice over, but the account's budget is spent.
        const ParallelRequests::Reply third = sendFrom(server, QHostAddress(QStringLiteral("127.0.0.4")), "POST", QStringLiteral("/api/v1/auth/token"),
                                                       loginBody(QStringLiteral("frank"), QStringLiteral("guess")));
        QCOMPARE(third.status, 429);
    }

    void refreshTokenRowsStayBounded()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        const qint64 id = idOf(registerUser(http, QStringLiteral("gina"), kPassword));
        QByteArray refresh = refreshTokenOf(loginForm(http, QStringLiteral("gina"), kPassword));
        QByteArray previous;
        for (int i = 0; i < 40; ++i) {
            const HttpResult r = refreshGrant(http, refresh);
            QVERIFY2(r.status == 200, qPrintable(describe(r)));
            previous = refresh;
            refresh = refreshTokenOf(r);
        }
        const int afterRotations = refreshRowsOf(server, id);
        qInfo("refresh-token rows after 40 rotations: %d", afterRotations);
        QVERIFY2(afterRotations <= 5, qPrintable(QString::number(afterRotations)));
        // Pruning kept reuse detection: replaying the last rotated token still revokes the family.
        QCOMPARE(oauthErrorCode(refreshGrant(http, previous)), QStringLiteral("invalid_grant"));
        QCOMPARE(oauthErrorCode(refreshGrant(http, refresh)), QStringLiteral("invalid_grant"));

        for (int i = 0; i < 60; ++i)
            QCOMPARE(loginForm(http, QStringLiteral("gina"), kPassword).status, 200);
        const int afterLogins = refreshRowsOf(server, id);
        qInfo("refresh-token rows after 60 more logins: %d", afterLogins);
        QVERIFY2(afterLogins <= 32, qPrintable(QString::number(afterLogins)));
    }

    void deletingTheAccountNeedsTheCurrentPassword()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("hank"), kPassword).status, 201);
        const QByteArray access = accessTokenOf(loginForm(http, QStringLiteral("hank"), kPassword));
        QCOMPARE(deleteAccount(http, access, {}).status, 400);
        QCOMPARE(deleteAccount(http, access, jsonBytes({{QStringLiteral("password"), QStringLiteral("stolen token only")}})).status, 403);
        QCOMPARE(http.get(kProfilePath, access).status, 200); // still there
        QCOMPARE(deleteAccount(http, access, jsonBytes({{QStringLiteral("password"), kPassword}})).status, 204);
        QCOMPARE(http.get(kProfilePath, access).status, 401);
        QCOMPARE(loginForm(http, QStringLiteral("hank"), kPassword).status, 400);
    }

    void wrongPasswordsForReauthenticationAreThrottled()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("ivan"), kPassword).status, 201);
        const QByteArray access = accessTokenOf(loginForm(http, QStringLiteral("ivan"), kPassword));
        for (int i = 0; i < AuthSettings{}.loginMaxFailures; ++i)
            QCOMPARE(changePassword(http, access, QStringLiteral("guess %1").arg(i), kNewPassword).status, 403);
        // A stolen access token is no password oracle: further guesses wait, even the right one.
        const HttpResult r = changePassword(http, access, kPassword, kNewPassword);
        QCOMPARE(r.status, 429);
        QVERIFY(r.header("Retry-After").toInt() > 0);
    }

    void tokenEndpointErrorsFollowRfc6749()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("jane"), kPassword).status, 201);
        struct Case {
            HttpResult result;
            const char *error;
        };
        const QList<Case> cases{
            {loginForm(http, QStringLiteral("jane"), QStringLiteral("wrong password")), "invalid_grant"},
            {refreshGrant(http, QByteArray(43, 'A')), "invalid_grant"},
            {postForm(http, QStringLiteral("/api/v1/auth/token"), {{QStringLiteral("grant_type"), QStringLiteral("client_credentials")}}), "unsupported_grant_type"},
            {postForm(http, QStringLiteral("/api/v1/auth/token"), {{QStringLiteral("grant_type"), QStringLiteral("password")}}), "invalid_request"},
        };
        for (const Case &c : cases) {
            QCOMPARE(c.result.status, 400);
            const QJsonObject body = c.result.json();
            // Exactly the members RFC 6749 5.2 defines, as strings.
            QCOMPARE(body.value(QStringLiteral("error")).toString(), QString::fromLatin1(c.error));
            QVERIFY(body.value(QStringLiteral("error_description")).isString());
            QVERIFY(!body.value(QStringLiteral("error_description")).toString().isEmpty());
            QCOMPARE(body.keys(), (QStringList{QStringLiteral("error"), QStringLiteral("error_description")}));
            QVERIFY(c.result.header("Content-Type").startsWith("application/json"));
        }
        // Other routes keep the project's shape.
        QCOMPARE(http.get(kProfilePath).errorCode(), QStringLiteral("unauthorized"));
    }
};

QTEST_GUILESS_MAIN(TestAccountSecurity)
#include "tst_accountsecurity.moc"
