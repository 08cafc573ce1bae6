// Accounts over real HTTP: register, log in (form and JSON), profile, refresh rotation with reuse
// detection, logout, isolation between users, input checking, username rules, restarts.
#include "authtest.h"
#include "storage/database.h"
#include "testserver.h"

#include <QtTest>
#include <memory>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");
const QString kProfilePath = QStringLiteral("/api/v1/me/profile");

// Runs one statement against the server's database (test-only back door, e.g. to disable a user).
bool execSql(TestServer &server, const QString &sql, const QVariantList &values)
{
    bool finished = false;
    bool ok = false;
    server.app().database().write<bool>(&server.app(), [sql, values](SqlSession &s) {
        s.exec(sql, values);
        return true;
    }, [&](DbResult<bool> r) {
        ok = r.ok();
        finished = true;
    });
    return QTest::qWaitFor([&]() { return finished; }, 10000) && ok;
}
} // namespace

class TestAccounts : public QObject
{
    Q_OBJECT

private slots:
    void wholeLifecycle()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());

        const HttpResult reg = registerUser(http, QStringLiteral("alice"), kPassword, QStringLiteral("Alice W."));
        QCOMPARE(reg.status, 201);
        const QJsonObject user = reg.json().value(QStringLiteral("user")).toObject();
        QVERIFY(user.value(QStringLiteral("id")).toInteger() > 0);
        QCOMPARE(user.value(QStringLiteral("username")).toString(), QStringLiteral("alice"));
        QCOMPARE(user.value(QStringLiteral("nickname")).toString(), QStringLiteral("Alice W."));
        QCOMPARE(user.value(QStringLiteral("role")).toString(), QStringLiteral("user"));
        QVERIFY(QDateTime::fromString(user.value(QStringLiteral("created_at")).toString(), Qt::ISODateWithMs).isValid());
        QVERIFY(!reg.body.contains("password"));

        // Form login (RFC 6749 4.3) and JSON login.
        const HttpResult form = loginForm(http, QStringLiteral("alice"), kPassword);
        QCOMPARE(form.status, 200);
        QCOMPARE(form.json().value(QStringLiteral("token_type")).toString(), QStringLiteral("Bearer"));
        QCOMPARE(form.json().value(QStringLiteral("expires_in")).toInt(), 900);
        QVERIFY(!accessTokenOf(form).isEmpty());
        QVERIFY(!refreshTokenOf(form).isEmpty());
        QCOMPARE(form.header("Cache-Control"), QByteArray("no-store"));
        const HttpResult json = loginJson(http, QStringLiteral("alice"), kPassword);
        QCOMPARE(json.status, 200);
        QCOMPARE(jwtPayload(accessTokenOf(json)).value(QStringLiteral("sub")).toString(), QString::number(user.value(QStringLiteral("id")).toInteger()));
        QCOMPARE(jwtPayload(accessTokenOf(json)).value(QStringLiteral("role")).toString(), QStringLiteral("user"));

        // Profile: created at registration, then updated in part.
        const QByteArray access = accessTokenOf(form);
        HttpResult profile = http.get(kProfilePath, access);
        QCOMPARE(profile.status, 200);
        QCOMPARE(profile.json(), (QJsonObject{{QStringLiteral("nickname"), QStringLiteral("Alice W.")},
                                              {QStringLiteral("description"), QString()},
                                              {QStringLiteral("avatar_url"), QString()},
                                              {QStringLiteral("preferences"), QJsonObject()}}));
        const QJsonObject prefs{{QStringLiteral("voice"), QStringLiteral("soft")}, {QStringLiteral("volume"), 0.8}};
        const HttpResult put = http.putJson(kProfilePath, {{QStringLiteral("description"), QStringLiteral("喜欢唱歌")},
                                                           {QStringLiteral("avatar_url"), QStringLiteral("https://example.com/a.png")},
                                                           {QStringLiteral("preferences"), prefs}},
                                            access);
        QCOMPARE(put.status, 200);
        profile = http.get(kProfilePath, access);
        QCOMPARE(profile.json().value(QStringLiteral("nickname")).toString(), QStringLiteral("Alice W."));
        QCOMPARE(profile.json().value(QStringLiteral("description")).toString(), QStringLiteral("喜欢唱歌"));
        QCOMPARE(profile.json().value(QStringLiteral("avatar_url")).toString(), QStringLiteral("https://example.com/a.png"));
        QCOMPARE(profile.json().value(QStringLiteral("preferences")).toObject(), prefs);
        QCOMPARE(put.json(), profile.json());

        // Refresh rotates: the new token works once; replaying the old one revokes the whole family.
        const QByteArray r1 = refreshTokenOf(form);
        const HttpResult rotated = refreshGrant(http, r1);
        QCOMPARE(rotated.status, 200);
        const QByteArray r2 = refreshTokenOf(rotated);
        QVERIFY(r2 != r1);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(rotated)).status, 200);
        const HttpResult replay = refreshGrant(http, r1);
        QCOMPARE(replay.status, 400);
        QCOMPARE(oauthErrorCode(replay), QStringLiteral("invalid_grant"));
        const HttpResult afterReuse = refreshGrant(http, r2);
        QCOMPARE(afterReuse.status, 400);
        QCOMPARE(oauthErrorCode(afterReuse), QStringLiteral("invalid_grant"));

        // Another login (another family) is unaffected by that revocation; logout revokes it.
        const QByteArray r3 = refreshTokenOf(json);
        const HttpResult stillFine = refreshGrant(http, r3);
        QCOMPARE(stillFine.status, 200);
        const QByteArray r4 = refreshTokenOf(stillFine);
        const HttpResult logout = http.postJson(QStringLiteral("/api/v1/auth/logout"), {{QStringLiteral("refresh_token"), QString::fromLatin1(r4)}});
        QCOMPARE(logout.status, 204);
        QVERIFY(logout.body.isEmpty());
        QCOMPARE(oauthErrorCode(refreshGrant(http, r4)), QStringLiteral("invalid_grant"));
        // Logout by form works too, and an unknown token is not an error (nothing to reveal).
        QCOMPARE(postForm(http, QStringLiteral("/api/v1/auth/logout"), {{QStringLiteral("refresh_token"), QStringLiteral("unknown")}}).status, 204);

        // Metrics count what happened.
        const QByteArray metrics = http.get(QStringLiteral("/metrics")).body;
        QVERIFY2(metrics.contains("tianyi_auth_logins_total{outcome=\"success\"} 2"), metrics.constData());
        QVERIFY(metrics.contains("tianyi_auth_registrations_total 1"));
        QVERIFY(metrics.contains("tianyi_auth_token_refreshes_total{outcome=\"reused\"} 1"));
        QVERIFY(metrics.contains("tianyi_auth_password_hash_seconds_count{op=\"verify\"}"));
    }

    void usersNeverSeeEachOthersProfile()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("alice"), kPassword).status, 201);
        QCOMPARE(registerUser(http, QStringLiteral("bob"), kPassword).status, 201);
        const QByteArray alice = accessTokenOf(loginForm(http, QStringLiteral("alice"), kPassword));
        const QByteArray bob = accessTokenOf(loginForm(http, QStringLiteral("bob"), kPassword));
        QCOMPARE(http.putJson(kProfilePath, {{QStringLiteral("description"), QStringLiteral("alice's secret diary")}}, alice).status, 200);
        QCOMPARE(http.putJson(kProfilePath, {{QStringLiteral("description"), QStringLiteral("bob's notes")}}, bob).status, 200);

        const HttpResult asBob = http.get(kProfilePath, bob);
        QCOMPARE(asBob.status, 200);
        QCOMPARE(asBob.json().value(QStringLiteral("nickname")).toString(), QStringLiteral("bob"));
        QVERIFY(!asBob.body.contains("alice"));
        const HttpResult asAlice = http.get(kProfilePath, alice);
        QCOMPARE(asAlice.json().value(QStringLiteral("description")).toString(), QStringLiteral("alice's secret diary"));
        QVERIFY(!asAlice.body.contains("bob"));
        // Without a token there is no profile at all.
        const HttpResult anonymous = http.get(kProfilePath);
        QCOMPARE(anonymous.status, 401);
        QCOMPARE(anonymous.errorCode(), QStringLiteral("unauthorized"));
        QVERIFY(anonymous.header("WWW-Authenticate").startsWith("Bearer"));
        QCOMPARE(http.putJson(kProfilePath, {{QStringLiteral("description"), QStringLiteral("x")}}).status, 401);
    }

    void disabledAccountIsRefusedAfterThePasswordIsProven()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        const qint64 id = registerUser(http, QStringLiteral("carol"), kPassword).json().value(QStringLiteral("user")).toObject()
                              .value(QStringLiteral("id")).toInteger();
        const HttpResult login = loginForm(http, QStringLiteral("carol"), kPassword);
        QVERIFY(execSql(server, QStringLiteral("UPDATE users SET disabled = 1 WHERE id = ?"), {id}));

        const HttpResult wrong = loginForm(http, QStringLiteral("carol"), QStringLiteral("not the password"));
        QCOMPARE(wrong.status, 400);
        QCOMPARE(oauthErrorCode(wrong), QStringLiteral("invalid_grant"));
        const HttpResult right = loginForm(http, QStringLiteral("carol"), kPassword);
        QCOMPARE(right.status, 403);
        QCOMPARE(oauthErrorCode(right), QStringLiteral("account_disabled"));
        // Tokens issued before do not help either.
        const HttpResult profile = http.get(kProfilePath, accessTokenOf(login));
        QCOMPARE(profile.status, 403);
        QCOMPARE(profile.errorCode(), QStringLiteral("account_disabled"));
        QCOMPARE(oauthErrorCode(refreshGrant(http, refreshTokenOf(login))), QStringLiteral("account_disabled"));
    }

    void badRegistrationInput_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("malformed json") << QByteArray("{\"username\": \"x\",") << QStringLiteral("bad_request") << QStringLiteral("malformed JSON");
        QTest::newRow("not an object") << QByteArray("[1,2]") << QStringLiteral("bad_request") << QStringLiteral("JSON object");
        QTest::newRow("empty body") << QByteArray() << QStringLiteral("bad_request") << QStringLiteral("JSON object");
        QTest::newRow("username number") << QByteArray(R"({"username":5,"password":"correct horse"})") << QStringLiteral("bad_request")
                                         << QStringLiteral("username must be a string");
        QTest::newRow("password missing") << QByteArray(R"({"username":"dave"})") << QStringLiteral("bad_request") << QStringLiteral("password is required");
        QTest::newRow("nickname object") << QByteArray(R"({"username":"dave","password":"correct horse","nickname":{}})") << QStringLiteral("bad_request")
                                         << QStringLiteral("nickname must be a string");
        QTest::newRow("unknown field") << QByteArray(R"({"username":"dave","password":"correct horse","email":"d@x"})") << QStringLiteral("bad_request")
                                       << QStringLiteral("email");
        QTest::newRow("huge username") << (R"({"password":"correct horse","username":")" + QByteArray(10000, 'u') + R"("})")
                                       << QStringLiteral("invalid_username") << QStringLiteral("10000");
        QTest::newRow("space in username") << QByteArray(R"({"username":"da ve","password":"correct horse"})") << QStringLiteral("invalid_username")
                                           << QStringLiteral("only letters");
        QTest::newRow("short password") << QByteArray(R"({"username":"dave","password":"short"})") << QStringLiteral("weak_password")
                                        << QStringLiteral("at least 8");
        QTest::newRow("common password") << QByteArray(R"({"username":"dave","password":"password123"})") << QStringLiteral("weak_password")
                                         << QStringLiteral("common");
        QTest::newRow("password is username") << QByteArray(R"({"username":"davey_jones","password":"Davey_Jones"})") << QStringLiteral("weak_password")
                                              << QStringLiteral("username");
    }

    void badRegistrationInput()
    {
        QFETCH(QByteArray, body);
        QFETCH(QString, code);
        QFETCH(QString, messagePart);
        TestServer server;
        HttpClient http(server.baseUrl());
        const HttpResult r = http.request("POST", QStringLiteral("/api/v1/auth/register"), body, {{"Content-Type", "application/json"}});
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), code);
        const QString message = r.json().value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString();
        QVERIFY2(message.contains(messagePart), qPrintable(message));
        QVERIFY(!r.body.contains("correct horse"));
        // Still serving afterwards.
        QCOMPARE(http.get(QStringLiteral("/healthz")).status, 200);
    }

    void badTokenRequests_data()
    {
        QTest::addColumn<QByteArray>("contentType");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("code");
        QTest::newRow("no grant_type") << QByteArray("application/x-www-form-urlencoded") << QByteArray("username=a&password=b") << QStringLiteral("invalid_request");
        QTest::newRow("unsupported grant") << QByteArray("application/x-www-form-urlencoded") << QByteArray("grant_type=client_credentials")
                                           << QStringLiteral("unsupported_grant_type");
        QTest::newRow("missing password") << QByteArray("application/x-www-form-urlencoded") << QByteArray("grant_type=password&username=erin")
                                          << QStringLiteral("invalid_request");
        QTest::newRow("repeated parameter") << QByteArray("application/x-www-form-urlencoded")
                                            << QByteArray("grant_type=password&username=erin&username=x&password=y") << QStringLiteral("invalid_request");
        QTest::newRow("missing refresh_token") << QByteArray("application/json") << QByteArray(R"({"grant_type":"refresh_token"})")
                                               << QStringLiteral("invalid_request");
        QTest::newRow("json wrong type") << QByteArray("application/json") << QByteArray(R"({"grant_type":"password","username":"erin","password":1})")
                                         << QStringLiteral("invalid_request");
        QTest::newRow("malformed json") << QByteArray("application/json") << QByteArray("{grant_type") << QStringLiteral("invalid_request");
        QTest::newRow("wrong password") << QByteArray("application/json")
                                        << QByteArray(R"({"grant_type":"password","username":"erin","password":"wrong password"})")
                                        << QStringLiteral("invalid_grant");
        QTest::newRow("unknown user") << QByteArray("application/json")
                                      << QByteArray(R"({"grant_type":"password","username":"nobody","password":"correct horse battery"})")
                                      << QStringLiteral("invalid_grant");
        QTest::newRow("garbage refresh token") << QByteArray("application/json") << QByteArray(R"({"grant_type":"refresh_token","refresh_token":"abc"})")
                                               << QStringLiteral("invalid_grant");
    }

    void badTokenRequests()
    {
        QFETCH(QByteArray, contentType);
        QFETCH(QByteArray, body);
        QFETCH(QString, code);
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("erin"), kPassword).status, 201);
        const HttpResult r = http.request("POST", QStringLiteral("/api/v1/auth/token"), body, {{"Content-Type", contentType}});
        QCOMPARE(r.status, 400);
        QCOMPARE(oauthErrorCode(r), code);
        QVERIFY(!oauthErrorDescription(r).isEmpty());
    }

    void badProfileUpdates_data()
    {
        // (No raw string literals containing "//" here: moc 6.4 takes them for comments.)
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QStringList>("messageParts");
        QTest::newRow("unknown fields named") << QByteArray(R"({"nickname":"x","colour":"red","age":3})")
                                              << QStringList{QStringLiteral("colour"), QStringLiteral("age")};
        QTest::newRow("wrong type") << QByteArray(R"({"description":42})") << QStringList{QStringLiteral("description must be a string")};
        QTest::newRow("nickname too long") << (R"({"nickname":")" + QByteArray(65, 'n') + R"("})") << QStringList{QStringLiteral("nickname")};
        QTest::newRow("description too long") << (R"({"description":")" + QByteArray(2001, 'd') + R"("})") << QStringList{QStringLiteral("description")};
        QTest::newRow("avatar not http") << QByteArray("{\"avatar_url\":\"file:///etc/passwd\"}") << QStringList{QStringLiteral("avatar_url")};
        QTest::newRow("avatar too long") << ("{\"avatar_url\":\"https://e.com/" + QByteArray(2100, 'a') + "\"}") << QStringList{QStringLiteral("avatar_url")};
        QTest::newRow("preferences array") << QByteArray(R"({"preferences":[1]})") << QStringList{QStringLiteral("preferences")};
        QTest::newRow("preferences too big") << (R"({"preferences":{"x":")" + QByteArray(17000, 'p') + R"("}})") << QStringList{QStringLiteral("preferences")};
        QTest::newRow("malformed json") << QByteArray(R"({"nickname":)") << QStringList{QStringLiteral("malformed JSON")};
    }

    void badProfileUpdates()
    {
        QFETCH(QByteArray, body);
        QFETCH(QStringList, messageParts);
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("frank"), kPassword).status, 201);
        const QByteArray access = accessTokenOf(loginForm(http, QStringLiteral("frank"), kPassword));
        const HttpResult r = http.request("PUT", kProfilePath, body, {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + access}});
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QStringLiteral("bad_request"));
        const QString message = r.json().value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString();
        for (const QString &part : messageParts)
            QVERIFY2(message.contains(part), qPrintable(message));
        // Nothing changed.
        QCOMPARE(http.get(kProfilePath, access).json().value(QStringLiteral("nickname")).toString(), QStringLiteral("frank"));
    }

    void logoutNeedsARefreshToken()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        const HttpResult r = http.postJson(QStringLiteral("/api/v1/auth/logout"), {});
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QStringLiteral("invalid_request"));
    }

    void cjkUsernameIsAccepted()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        const HttpResult reg = registerUser(http, QStringLiteral("洛天依"), kPassword);
        QCOMPARE(reg.status, 201);
        QCOMPARE(reg.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("username")).toString(), QStringLiteral("洛天依"));
        const HttpResult login = loginForm(http, QStringLiteral("洛天依"), kPassword);
        QCOMPARE(login.status, 200);
        QCOMPARE(http.get(kProfilePath, accessTokenOf(login)).json().value(QStringLiteral("nickname")).toString(), QStringLiteral("洛天依"));
    }

    void usernamesAreUniqueIgnoringCase()
    {
        TestServer server;
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("Alice"), kPassword).status, 201);
        const HttpResult again = registerUser(http, QStringLiteral("alice"), QStringLiteral("another good one"));
        QCOMPARE(again.status, 409);
        QCOMPARE(again.errorCode(), QStringLiteral("username_taken"));
        // Login ignores case too, and the account keeps the spelling it was registered with.
        const HttpResult login = loginForm(http, QStringLiteral("ALICE"), kPassword);
        QCOMPARE(login.status, 200);
    }

    void usersSurviveARestart()
    {
        QTemporaryDir dir;
        QByteArray access;
        QByteArray refresh;
        {
            TestServer first({}, dir.path());
            QVERIFY(first.started());
            HttpClient http(first.baseUrl());
            QCOMPARE(registerUser(http, QStringLiteral("grace"), kPassword).status, 201);
            const HttpResult login = loginForm(http, QStringLiteral("grace"), kPassword);
            access = accessTokenOf(login);
            refresh = refreshTokenOf(login);
            first.stop();
        }
        TestServer second({}, dir.path());
        QVERIFY2(second.started(), qPrintable(second.error()));
        HttpClient http(second.baseUrl());
        QCOMPARE(http.get(kProfilePath, access).status, 200);      // same signing secret
        QCOMPARE(refreshGrant(http, refresh).status, 200);          // refresh tokens persisted
        QCOMPARE(loginForm(http, QStringLiteral("grace"), kPassword).status, 200);
        QCOMPARE(registerUser(http, QStringLiteral("GRACE"), kPassword).status, 409);
    }
};

QTEST_GUILESS_MAIN(TestAccounts)
#include "tst_accounts.moc"
