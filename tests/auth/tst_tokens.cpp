// Access tokens over HTTP: every kind of bad token is a 401; a real token verifies with an
// independent JWT implementation (PyJWT); the signing secret file is private and survives restarts.
#include "auth/cryptoutil.h"
#include "auth/jwt.h"
#include "authtest.h"
#include "testserver.h"

#include <QDateTime>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QtTest>
#include <sys/stat.h>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");
const QString kProfilePath = QStringLiteral("/api/v1/me/profile");

QByteArray secretOf(const QString &dataDir)
{
    QFile f(dataDir + QStringLiteral("/jwt_secret"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll().trimmed();
}

unsigned modeOf(const QString &path)
{
    struct stat st {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return 0xFFFF;
    return unsigned(st.st_mode & 07777);
}

// A python3 that can import jwt (python3-jwt). A pyenv shim may shadow the system interpreter,
// so every python3 on PATH is tried, then /usr/bin/python3. None found is a test failure.
QString pythonWithJwt()
{
    QStringList candidates;
    const QString fromEnv = qEnvironmentVariable("TIANYI_TEST_PYTHON");
    if (!fromEnv.isEmpty())
        candidates << fromEnv;
    for (const QString &dir : qEnvironmentVariable("PATH").split(QLatin1Char(':'), Qt::SkipEmptyParts))
        candidates << dir + QStringLiteral("/python3");
    candidates << QStringLiteral("/usr/bin/python3");
    for (const QString &c : candidates) {
        if (!QFile::exists(c))
            continue;
        QProcess p;
        p.start(c, {QStringLiteral("-c"), QStringLiteral("import jwt")});
        if (p.waitForFinished(20000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0)
            return c;
    }
    return {};
}

struct Account {
    qint64 id = 0;
    QByteArray access;
};

Account makeAccount(HttpClient &http, const QString &name)
{
    const HttpResult reg = registerUser(http, name, kPassword);
    const HttpResult login = loginForm(http, name, kPassword);
    return {reg.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger(), accessTokenOf(login)};
}
} // namespace

class TestTokens : public QObject
{
    Q_OBJECT

private slots:
    void badAccessTokensAre401()
    {
        TestServer server;
        QVERIFY(server.started());
        HttpClient http(server.baseUrl());
        const Account alice = makeAccount(http, QStringLiteral("alice"));
        const Account bob = makeAccount(http, QStringLiteral("bob"));
        QCOMPARE(http.get(kProfilePath, alice.access).status, 200);

        const JwtCodec serverKey(secretOf(server.dataDir()));
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        const QList<QByteArray> parts = alice.access.split('.');
        // Alice's token with Bob's id in it (signature no longer matches).
        QJsonObject forged = jwtPayload(alice.access);
        forged.insert(QStringLiteral("sub"), QString::number(bob.id));
        const QByteArray tampered = parts[0] + '.' + crypto::base64UrlEncode(QJsonDocument(forged).toJson(QJsonDocument::Compact)) + '.' + parts[2];
        const QByteArray algNone = crypto::base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + '.' + parts[1] + '.';

        const QList<QPair<const char *, QByteArray>> cases = {
            {"expired", serverKey.sign(AccessClaims{alice.id, QStringLiteral("user"), now - 1000, now - 100, QStringLiteral("j")})},
            {"tampered payload", tampered},
            {"wrong key", JwtCodec(QByteArray(48, 'w')).sign(AccessClaims{alice.id, QStringLiteral("user"), now, now + 900, QStringLiteral("j")})},
            {"alg none", algNone},
            {"malformed", QByteArray("not-a-token")},
            {"two parts", parts[0] + '.' + parts[1]},
            {"unknown user", serverKey.sign(AccessClaims{999999, QStringLiteral("user"), now, now + 900, QStringLiteral("j")})},
        };
        for (const auto &c : cases) {
            const HttpResult r = http.get(kProfilePath, c.second);
            QVERIFY2(r.status == 401, c.first);
            QCOMPARE(r.errorCode(), QStringLiteral("unauthorized"));
            QVERIFY2(r.header("WWW-Authenticate").contains("error=\"invalid_token\""), c.first);
            QVERIFY2(!r.body.contains("alice's"), c.first);
        }
        // A token we signed ourselves with the server's key is accepted: the checks above are about the token.
        QCOMPARE(http.get(kProfilePath, serverKey.sign(AccessClaims{bob.id, QStringLiteral("user"), now, now + 60, QStringLiteral("j")})).status, 200);
        // Not a Bearer scheme.
        const HttpResult basic = http.request("GET", kProfilePath, {}, {{"Authorization", "Basic YTpi"}});
        QCOMPARE(basic.status, 401);
    }

    void accessTokenVerifiesWithPyJwt()
    {
        const QString python = pythonWithJwt();
        QVERIFY2(!python.isEmpty(), "python3 with the jwt module (Debian: python3-jwt) is required for this test");

        TestServer server;
        HttpClient http(server.baseUrl());
        const Account carol = makeAccount(http, QStringLiteral("carol"));
        const QByteArray secret = secretOf(server.dataDir());
        QVERIFY(secret.size() >= 32);

        QProcess p;
        p.start(python, {QStringLiteral("-c"),
                         QStringLiteral("import jwt,sys; print(jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'])['sub'])"),
                         QString::fromLatin1(carol.access), QString::fromLatin1(secret)});
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        QCOMPARE(p.readAllStandardOutput().trimmed(), QByteArray::number(carol.id));

        // And PyJWT refuses it under another key (so the comparison above means something).
        QProcess wrong;
        wrong.start(python, {QStringLiteral("-c"), QStringLiteral("import jwt,sys; jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'])"),
                             QString::fromLatin1(carol.access), QString(48, QLatin1Char('z'))});
        QVERIFY(wrong.waitForFinished(30000));
        QVERIFY(wrong.exitCode() != 0);
    }

    void secretFileIsPrivateAndReusedAcrossRestarts()
    {
        QTemporaryDir dir;
        QByteArray access;
        QByteArray secret;
        {
            TestServer first({}, dir.path());
            QVERIFY2(first.started(), qPrintable(first.error()));
            const QString path = dir.path() + QStringLiteral("/jwt_secret");
            QVERIFY(QFile::exists(path));
            QCOMPARE(modeOf(path), 0600u);
            secret = secretOf(dir.path());
            QVERIFY(secret.size() >= 32);
            HttpClient http(first.baseUrl());
            access = makeAccount(http, QStringLiteral("dora")).access;
            first.stop();
        }
        TestServer second({}, dir.path());
        QVERIFY(second.started());
        QCOMPARE(secretOf(dir.path()), secret);
        QCOMPARE(HttpClient(second.baseUrl()).get(kProfilePath, access).status, 200);
    }

    void looseSecretFileModeIsTightened()
    {
        QTemporaryDir dir;
        const QString path = dir.path() + QStringLiteral("/jwt_secret");
        const QByteArray secret = QByteArray(64, 's');
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(secret + '\n');
        }
        QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));
        TestServer server({}, dir.path());
        QVERIFY2(server.started(), qPrintable(server.error()));
        QCOMPARE(modeOf(path), 0600u);
        // The operator's secret is used, not replaced.
        HttpClient http(server.baseUrl());
        const QByteArray access = makeAccount(http, QStringLiteral("eve")).access;
        QVERIFY(JwtCodec(secret).verify(access, QDateTime::currentSecsSinceEpoch()).ok());
    }

    void truncatedSecretFileStopsStartup()
    {
        QTemporaryDir dir;
        const QString path = dir.path() + QStringLiteral("/jwt_secret");
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("short");
        }
        QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner);
        TestServer server({}, dir.path());
        QVERIFY(!server.started());
        QVERIFY2(server.error().contains(QLatin1String("jwt_secret")), qPrintable(server.error()));
    }

    void configuredSecretIsUsedAndNoFileIsWritten()
    {
        const QByteArray configured(40, 'c');
        TestServer server([&](Config &c) { c.auth.jwtSecret = configured; });
        QVERIFY(server.started());
        QVERIFY(!QFile::exists(server.dataDir() + QStringLiteral("/jwt_secret")));
        HttpClient http(server.baseUrl());
        const QByteArray access = makeAccount(http, QStringLiteral("fay")).access;
        QVERIFY(JwtCodec(configured).verify(access, QDateTime::currentSecsSinceEpoch()).ok());
    }
};

QTEST_GUILESS_MAIN(TestTokens)
#include "tst_tokens.moc"
