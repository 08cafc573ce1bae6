// tianyi-server --create-admin as an operator runs it: creates an admin (password from the
// environment or stdin), promotes an existing user, refuses weak passwords; the server then
// issues admin tokens for that account.
#include "authtest.h"
#include "testserver.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kServerBinary = QStringLiteral(TIANYI_BINARY_DIR "/server/tianyi-server");
const QString kAdminPassword = QStringLiteral("an admin pass phrase");

struct Run {
    int exitCode = -1;
    QString out;
    QString err;
};

// Runs --create-admin on dataDir; the password comes from TIANYI_ADMIN_PASSWORD unless stdinText is given.
Run createAdmin(const QString &dataDir, const QString &name, const QString &password, const QByteArray &stdinText = {})
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("TIANYI_ADMIN_PASSWORD"));
    if (stdinText.isNull())
        env.insert(QStringLiteral("TIANYI_ADMIN_PASSWORD"), password);
    p.setProcessEnvironment(env);
    p.start(kServerBinary, {QStringLiteral("--data-dir"), dataDir, QStringLiteral("--create-admin"), name});
    Run run;
    if (!p.waitForStarted(10000))
        return run;
    if (!stdinText.isNull())
        p.write(stdinText);
    p.closeWriteChannel();
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
        return run;
    }
    run.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    run.out = QString::fromUtf8(p.readAllStandardOutput());
    run.err = QString::fromUtf8(p.readAllStandardError());
    return run;
}

QString roleAfterLogin(const QString &dataDir, const QString &name, const QString &password, int *status)
{
    TestServer server({}, dataDir);
    if (!server.started())
        return QStringLiteral("server did not start: ") + server.error();
    HttpClient http(server.baseUrl());
    const HttpResult login = loginForm(http, name, password);
    *status = login.status;
    return jwtPayload(accessTokenOf(login)).value(QStringLiteral("role")).toString();
}
} // namespace

class TestCreateAdmin : public QObject
{
    Q_OBJECT

private slots:
    void createsAnAdminThatCanLogIn()
    {
        QTemporaryDir dir;
        const Run run = createAdmin(dir.path(), QStringLiteral("root"), kAdminPassword);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains(QLatin1String("Created admin user \"root\"")), qPrintable(run.out));
        QVERIFY(!run.out.contains(kAdminPassword) && !run.err.contains(kAdminPassword));
        int status = 0;
        QCOMPARE(roleAfterLogin(dir.path(), QStringLiteral("root"), kAdminPassword, &status), QStringLiteral("admin"));
        QCOMPARE(status, 200);
    }

    void passwordFromStdin()
    {
        QTemporaryDir dir;
        const Run run = createAdmin(dir.path(), QStringLiteral("管理员"), {}, (kAdminPassword + QStringLiteral("\nsecond line ignored\n")).toUtf8());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        int status = 0;
        QCOMPARE(roleAfterLogin(dir.path(), QStringLiteral("管理员"), kAdminPassword, &status), QStringLiteral("admin"));
    }

    void promotesAnExistingUserWithANewPassword()
    {
        QTemporaryDir dir;
        QByteArray oldRefresh;
        {
            TestServer server({}, dir.path());
            QVERIFY(server.started());
            HttpClient http(server.baseUrl());
            QCOMPARE(registerUser(http, QStringLiteral("Hana"), QStringLiteral("old password here")).status, 201);
            oldRefresh = refreshTokenOf(loginForm(http, QStringLiteral("hana"), QStringLiteral("old password here")));
            server.stop();
        }
        const Run run = createAdmin(dir.path(), QStringLiteral("hana"), kAdminPassword);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains(QLatin1String("now an admin")), qPrintable(run.out));

        TestServer server({}, dir.path());
        HttpClient http(server.baseUrl());
        QCOMPARE(loginForm(http, QStringLiteral("hana"), QStringLiteral("old password here")).status, 400);
        const HttpResult login = loginForm(http, QStringLiteral("hana"), kAdminPassword);
        QCOMPARE(login.status, 200);
        QCOMPARE(jwtPayload(accessTokenOf(login)).value(QStringLiteral("role")).toString(), QStringLiteral("admin"));
        // Sessions of the old password are over.
        QCOMPARE(oauthErrorCode(refreshGrant(http, oldRefresh)), QStringLiteral("invalid_grant"));
    }

    void refusesWeakPasswordsAndMissingPasswords()
    {
        QTemporaryDir dir;
        const Run weak = createAdmin(dir.path(), QStringLiteral("root"), QStringLiteral("12345678"));
        QCOMPARE(weak.exitCode, 1);
        QVERIFY2(weak.err.contains(QLatin1String("common")), qPrintable(weak.err));
        const Run none = createAdmin(dir.path(), QStringLiteral("root"), {}, QByteArray(""));
        QCOMPARE(none.exitCode, 1);
        QVERIFY2(none.err.contains(QLatin1String("TIANYI_ADMIN_PASSWORD")), qPrintable(none.err));
        const Run badName = createAdmin(dir.path(), QStringLiteral("no spaces allowed"), kAdminPassword);
        QCOMPARE(badName.exitCode, 1);
    }
};

QTEST_GUILESS_MAIN(TestCreateAdmin)
#include "tst_createadmin.moc"
