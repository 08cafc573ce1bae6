// The tianyi-server executable as an operator runs it: flags, config errors, SIGTERM, SIGKILL.
#include "httpclient.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>

using namespace tianyi::test;

namespace {

const QString kServerBinary = QStringLiteral(TIANYI_BINARY_DIR "/server/tianyi-server");

QProcessEnvironment fastHashEnv()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("tianyi.*.debug=true")); // the most verbose logs
    env.insert(QStringLiteral("TIANYI_AUTH_ARGON2_OPS_LIMIT"), QStringLiteral("1"));
    env.insert(QStringLiteral("TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB"), QStringLiteral("8"));
    return env;
}

// Starts the server on a free port and returns its base URL (read from its startup line).
QString startServer(QProcess &process, const QString &dataDir, const QStringList &extra = {},
                    const QProcessEnvironment &env = fastHashEnv())
{
    process.setProcessEnvironment(env);
    process.start(kServerBinary, QStringList{QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--data-dir"), dataDir} + extra);
    if (!process.waitForStarted(10000))
        return {};
    QByteArray out;
    static const QRegularExpression urlLine(QStringLiteral("Browser: (http://[0-9.:]+)/"));
    while (process.state() == QProcess::Running) {
        if (!QTest::qWaitFor([&]() { return process.bytesAvailable() > 0 || process.state() != QProcess::Running; }, 20000))
            return {};
        out += process.readAllStandardOutput();
        const auto m = urlLine.match(QString::fromUtf8(out));
        if (m.hasMatch())
            return m.captured(1);
    }
    return {};
}

} // namespace

class TestProcess : public QObject
{
    Q_OBJECT

private slots:
    void badConfigValueStopsStartupNamingTheKey()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("TIANYI_LIMITS_MAX_BODY_BYTES"), QStringLiteral("lots"));
        p.setProcessEnvironment(env);
        p.start(kServerBinary, {QStringLiteral("--print-config")});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY2(p.readAllStandardError().contains("limits.max_body_bytes"), "error must name the key");
    }

    void gptSovitsWithoutVoicesFileIsAConfigurationError()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("TIANYI_TTS_BASE_URLS"), QStringLiteral("http://127.0.0.1:9880"));
        env.remove(QStringLiteral("TIANYI_TTS_VOICES_FILE"));
        p.setProcessEnvironment(env);
        p.start(kServerBinary, {QStringLiteral("--print-config")});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 2); // a configuration error, before anything starts
        QVERIFY2(p.readAllStandardError().contains("tts.voices_file"), "the error must name the missing key");
    }

    void aMistypedEnvironmentVariableIsWarnedAboutWithTheClosestKey()
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("TIANYI_TTS_BASE_URL"), QStringLiteral("http://127.0.0.1:9880"));
        p.setProcessEnvironment(env);
        p.start(kServerBinary, {QStringLiteral("--print-config")});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 0);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.contains("TIANYI_TTS_BASE_URL is not a configuration key") && err.contains("did you mean TIANYI_TTS_BASE_URLS?"),
                 err.constData());
    }

    // Info by default: a request is not logged line by line unless debug is asked for.
    void requestsAreLoggedOnlyAtDebugLevel_data()
    {
        QTest::addColumn<QString>("level");
        QTest::addColumn<bool>("requestLogged");
        QTest::newRow("default") << QString() << false;
        QTest::newRow("log.level=debug") << QStringLiteral("debug") << true;
    }
    void requestsAreLoggedOnlyAtDebugLevel()
    {
        QFETCH(QString, level);
        QFETCH(bool, requestLogged);
        QTemporaryDir dir;
        QProcess p;
        QProcessEnvironment env = fastHashEnv();
        env.remove(QStringLiteral("QT_LOGGING_RULES")); // what an operator gets: no rules of ours
        if (!level.isEmpty())
            env.insert(QStringLiteral("TIANYI_LOG_LEVEL"), level);
        const QString url = startServer(p, dir.path(), {}, env);
        QVERIFY(!url.isEmpty());
        QCOMPARE(HttpClient(url).get(QStringLiteral("/healthz")).status, 200);
        ::kill(pid_t(p.processId()), SIGTERM);
        QVERIFY(p.waitForFinished(20000));
        const QByteArray log = p.readAllStandardError();
        QVERIFY2(log.contains("listening on"), log.constData()); // info lines are there either way
        QCOMPARE(log.contains("GET /healthz -> 200"), requestLogged);
    }

    void printConfigShowsEffectiveValues()
    {
        QProcess p;
        p.start(kServerBinary, {QStringLiteral("--print-config"), QStringLiteral("--port"), QStringLiteral("9999")});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(p.readAllStandardOutput().contains("port = 9999"));
    }

    void sigtermStopsCleanlyWithExitCodeZero()
    {
        QTemporaryDir dir;
        QProcess p;
        const QString url = startServer(p, dir.path());
        QVERIFY2(!url.isEmpty(), "server did not report its URL");
        QCOMPARE(HttpClient(url).get(QStringLiteral("/healthz")).status, 200);
        ::kill(pid_t(p.processId()), SIGTERM);
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(p.readAllStandardError().contains("stopped"));
    }

    void logsNeverContainPasswordsOrTokens()
    {
        QTemporaryDir dir;
        QProcess p;
        const QString url = startServer(p, dir.path(), {QStringLiteral("--log-format"), QStringLiteral("json")});
        QVERIFY(!url.isEmpty());
        HttpClient http(url);
        const QString password = QStringLiteral("Very Secret Passphrase 42");
        QCOMPARE(http.postJson(QStringLiteral("/api/v1/auth/register"),
                               {{QStringLiteral("username"), QStringLiteral("logcheck")}, {QStringLiteral("password"), password}}).status, 201);
        const HttpResult login = http.postJson(QStringLiteral("/api/v1/auth/token"), {{QStringLiteral("grant_type"), QStringLiteral("password")},
                                                                                     {QStringLiteral("username"), QStringLiteral("logcheck")},
                                                                                     {QStringLiteral("password"), password}});
        QCOMPARE(login.status, 200);
        const QByteArray access = login.json().value(QStringLiteral("access_token")).toString().toUtf8();
        const QByteArray refresh = login.json().value(QStringLiteral("refresh_token")).toString().toUtf8();
        QCOMPARE(http.get(QStringLiteral("/api/v1/me/profile"), access).status, 200);
        http.postJson(QStringLiteral("/api/v1/auth/token"), {{QStringLiteral("grant_type"), QStringLiteral("password")},
                                                            {QStringLiteral("username"), QStringLiteral("logcheck")},
                                                            {QStringLiteral("password"), QStringLiteral("wrong ") + password}});
        ::kill(pid_t(p.processId()), SIGTERM);
        QVERIFY(p.waitForFinished(20000));
        const QByteArray log = p.readAllStandardError();
        QVERIFY(log.contains("\"correlation_id\""));        // JSON lines with the request id
        QVERIFY(!log.contains(password.toUtf8()));
        QVERIFY(!log.contains("Secret Passphrase"));
        QVERIFY(!log.contains(access));
        QVERIFY(!log.contains(refresh));
    }

    void sigkillDuringWritesLeavesAConsistentDatabase()
    {
        QTemporaryDir dir;
        QProcess p;
        const QString url = startServer(p, dir.path());
        QVERIFY(!url.isEmpty());

        // A burst of registrations; kill -9 once some have been acknowledged and others are in flight.
        QNetworkAccessManager nam;
        QStringList acknowledged;
        int answered = 0;
        const int total = 120;
        for (int i = 0; i < total; ++i) {
            QNetworkRequest req(QUrl(url + QStringLiteral("/api/v1/auth/register")));
            req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
            const QString name = QStringLiteral("user%1").arg(i);
            QNetworkReply *reply = nam.post(req, QJsonDocument(QJsonObject{{QStringLiteral("username"), name},
                                                                           {QStringLiteral("password"), QStringLiteral("correct horse %1").arg(i)}})
                                                     .toJson());
            connect(reply, &QNetworkReply::finished, this, [&, reply, name]() {
                ++answered;
                if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 201)
                    acknowledged << name;
                reply->deleteLater();
            });
        }
        QVERIFY(QTest::qWaitFor([&]() { return acknowledged.size() >= 20; }, 60000));
        ::kill(pid_t(p.processId()), SIGKILL);
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
        QVERIFY(QTest::qWaitFor([&]() { return answered == total; }, 30000)); // the rest fail with connection errors
        const QStringList acked = acknowledged;

        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("check"));
            db.setDatabaseName(dir.filePath(QStringLiteral("tianyi.sqlite3")));
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("PRAGMA integrity_check")) && q.next());
            QCOMPARE(q.value(0).toString(), QStringLiteral("ok"));
            // Every registration the server acknowledged is durable.
            for (const QString &name : acked) {
                QSqlQuery u(db);
                u.prepare(QStringLiteral("SELECT COUNT(*) FROM users WHERE username = ?"));
                u.addBindValue(name);
                QVERIFY(u.exec() && u.next());
                QVERIFY2(u.value(0).toInt() == 1, qPrintable(name));
            }
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("check"));

        // And the server starts again on it and logs an acknowledged user in.
        QProcess again;
        const QString url2 = startServer(again, dir.path());
        QVERIFY(!url2.isEmpty());
        const int i = acked.first().mid(4).toInt();
        const HttpResult login = HttpClient(url2).postJson(QStringLiteral("/api/v1/auth/token"),
                                                            {{QStringLiteral("grant_type"), QStringLiteral("password")},
                                                             {QStringLiteral("username"), acked.first()},
                                                             {QStringLiteral("password"), QStringLiteral("correct horse %1").arg(i)}});
        QCOMPARE(login.status, 200);
        ::kill(pid_t(again.processId()), SIGTERM);
        QVERIFY(again.waitForFinished(20000));
        QCOMPARE(again.exitCode(), 0);
    }
};

QTEST_GUILESS_MAIN(TestProcess)
#include "tst_process.moc"
