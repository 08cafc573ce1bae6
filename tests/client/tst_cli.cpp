// The built tianyi-cli executable, run with QProcess: register and login against the real server
// in-process; chat, repl, --out, --json, --stop-after-ms and close codes against the scripted
// chat socket (scriptedchatserver.h). Checks exit codes and output.
#include "scriptedchatserver.h"
#include "testserver.h"
#include "tianyi/wav.h"

#include <QFileInfo>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");

struct CliRun {
    bool finished = false;
    int exitCode = -1;
    QString out;
    QString err;
};

// Runs tianyi-cli with the event loop spinning (the servers under test live on it).
CliRun runCli(const QStringList &args, const QString &password = {}, const QByteArray &input = {})
{
    QProcess p;
    p.setProgram(QStringLiteral(TIANYI_BINARY_DIR "/shared/cli/tianyi-cli"));
    p.setArguments(args);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("TIANYI_CLI_PASSWORD"));
    if (!password.isEmpty())
        env.insert(QStringLiteral("TIANYI_CLI_PASSWORD"), password);
    p.setProcessEnvironment(env);
    QSignalSpy finished(&p, &QProcess::finished);
    p.start();
    if (!input.isEmpty())
        p.write(input);
    p.closeWriteChannel();
    CliRun r;
    r.finished = finished.wait(60000) || finished.count() > 0;
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const CliRun &r)
{
    return QStringLiteral("exit %1\n--- stdout\n%2\n--- stderr\n%3").arg(r.exitCode).arg(r.out, r.err);
}

QJsonObject jsonLine(const QString &line)
{
    return QJsonDocument::fromJson(line.toUtf8()).object();
}

quint16 closedPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}
} // namespace

#define CHECK_RUN(r, code) QVERIFY2((r).finished && (r).exitCode == (code), qPrintable(describe(r)))

class TestCli : public QObject
{
    Q_OBJECT

private slots:
    void helpListsEverything()
    {
        const CliRun r = runCli({QStringLiteral("--help")});
        CHECK_RUN(r, 0);
        for (const char *word : {"register", "login", "chat TEXT", "repl", "/stop", "/quit", "--server", "--user", "--password",
                                 "TIANYI_CLI_PASSWORD", "--audio", "--out", "--stop-after-ms", "--json", "--token-file", "Exit codes"})
            QVERIFY2(r.out.contains(QLatin1String(word)), word);
    }

    void usageErrors()
    {
        CHECK_RUN(runCli({}), 2);
        CHECK_RUN(runCli({QStringLiteral("fly")}), 2);
        CHECK_RUN(runCli({QStringLiteral("--user"), QStringLiteral("x"), QStringLiteral("login")}), 2); // no password
        CHECK_RUN(runCli({QStringLiteral("--token"), QStringLiteral("t"), QStringLiteral("chat")}), 2);  // no text
        CHECK_RUN(runCli({QStringLiteral("--audio"), QStringLiteral("mp3"), QStringLiteral("--token"), QStringLiteral("t"), QStringLiteral("repl")}), 2);
        const CliRun r = runCli({QStringLiteral("--server"), QStringLiteral("ftp://x"), QStringLiteral("repl")});
        CHECK_RUN(r, 2);
        QVERIFY(r.err.contains(QStringLiteral("--server")));
    }

    void registerAndLogin()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        const QStringList base{QStringLiteral("--server"), server.baseUrl(), QStringLiteral("--user"), QStringLiteral("frank")};

        CliRun r = runCli(base + QStringList{QStringLiteral("--nickname"), QStringLiteral("Frank"), QStringLiteral("register")}, kPassword);
        CHECK_RUN(r, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("registered frank (id ")), qPrintable(r.out));

        r = runCli(base + QStringList{QStringLiteral("register")}, kPassword);
        CHECK_RUN(r, 1);
        QVERIFY2(r.err.contains(QStringLiteral("username_taken")), qPrintable(r.err));
        QVERIFY(r.out.isEmpty());

        r = runCli(base + QStringList{QStringLiteral("login")}, kPassword);
        CHECK_RUN(r, 0);
        QVERIFY(r.out.contains(QStringLiteral("access_token: ey")));
        QVERIFY(r.out.contains(QStringLiteral("refresh_token: ")));
        QVERIFY(r.out.contains(QStringLiteral("expires_in: ")));

        // --password wins over the environment.
        r = runCli(base + QStringList{QStringLiteral("--password"), QStringLiteral("wrong password!"), QStringLiteral("login")}, kPassword);
        CHECK_RUN(r, 1);
        QVERIFY2(r.err.contains(QStringLiteral("invalid_grant")), qPrintable(r.err));
        QVERIFY(!r.out.contains(QStringLiteral("access_token")));

        r = runCli(base + QStringList{QStringLiteral("--json"), QStringLiteral("login")}, kPassword);
        CHECK_RUN(r, 0);
        const QJsonObject tokens = jsonLine(r.out.trimmed());
        QVERIFY(!tokens.value(QStringLiteral("access_token")).toString().isEmpty());
        QCOMPARE(tokens.value(QStringLiteral("token_type")).toString(), QStringLiteral("Bearer"));

        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("tokens.json"));
        r = runCli(base + QStringList{QStringLiteral("--token-file"), file, QStringLiteral("login")}, kPassword);
        CHECK_RUN(r, 0);
        QVERIFY(!r.out.contains(QStringLiteral("ey")));
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString access = jsonLine(QString::fromUtf8(f.readAll())).value(QStringLiteral("access_token")).toString();
        QVERIFY(access.startsWith(QStringLiteral("ey")));
        QCOMPARE(QFileInfo(file).permissions() & (QFile::ReadGroup | QFile::WriteGroup | QFile::ReadOther | QFile::WriteOther),
                 QFile::Permissions());
        QVERIFY(QFileInfo(file).permissions().testFlag(QFile::ReadOwner));

        // chat takes its access token from the file.
        ScriptedChatServer chatServer;
        r = runCli({QStringLiteral("--server"), chatServer.baseUrl().toString(), QStringLiteral("--token-file"), file, QStringLiteral("--json"),
                    QStringLiteral("chat"), QStringLiteral("hi")});
        CHECK_RUN(r, 0);
        QCOMPARE(QUrlQuery(chatServer.requestUrls.value(0)).queryItemValue(QStringLiteral("token")), access);
        r = runCli({QStringLiteral("--server"), chatServer.baseUrl().toString(), QStringLiteral("--token-file"), dir.filePath(QStringLiteral("missing")),
                    QStringLiteral("chat"), QStringLiteral("hi")});
        CHECK_RUN(r, 2);
        QVERIFY(r.err.contains(QStringLiteral("token file")));
    }

    void serverDown()
    {
        const QString url = QStringLiteral("http://127.0.0.1:%1").arg(closedPort());
        CliRun r = runCli({QStringLiteral("--server"), url, QStringLiteral("--user"), QStringLiteral("x"), QStringLiteral("login")}, kPassword);
        CHECK_RUN(r, 3);
        QVERIFY(r.err.contains(QStringLiteral("cannot reach the server")));
        r = runCli({QStringLiteral("--server"), url, QStringLiteral("--token"), QStringLiteral("t"), QStringLiteral("chat"), QStringLiteral("hi")});
        CHECK_RUN(r, 3);
    }

    void chatStreamsText()
    {
        ScriptedChatServer server;
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("tok"),
                                 QStringLiteral("--audio"), QStringLiteral("json"), QStringLiteral("chat"), QStringLiteral("你好"), QStringLiteral("呀")});
        CHECK_RUN(r, 0);
        QCOMPARE(r.out, QStringLiteral("«开心»你好呀！«悲伤»今天有点累。\n"));
        QVERIFY(r.err.contains(QStringLiteral("turn 1 completed")));
        QCOMPARE(server.received.value(0).value(QStringLiteral("text")).toString(), QStringLiteral("你好 呀"));
        QCOMPARE(QUrlQuery(server.requestUrls.value(0)).queryItemValue(QStringLiteral("audio")), QStringLiteral("json"));
    }

    void chatJsonAndWavFiles()
    {
        ScriptedChatServer server;
        QTemporaryDir out;
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("tok"),
                                 QStringLiteral("--json"), QStringLiteral("--out"), out.filePath(QStringLiteral("wav")), QStringLiteral("chat"),
                                 QStringLiteral("hi")});
        CHECK_RUN(r, 0);
        const QStringList lines = r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 1);
        const QJsonObject j = jsonLine(lines.at(0));
        QCOMPARE(j.value(QStringLiteral("turn")).toInt(), 1);
        QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QCOMPARE(j.value(QStringLiteral("ttft_ms")).toInt(), 12);
        QCOMPARE(j.value(QStringLiteral("first_audio_ms")).toInt(), 34);
        QCOMPARE(j.value(QStringLiteral("total_ms")).toInt(), 56);
        QCOMPARE(j.value(QStringLiteral("sentences")).toInt(), 2);
        QCOMPARE(j.value(QStringLiteral("audio_ms")).toInt(), 60);
        QVERIFY(j.value(QStringLiteral("client")).toObject().value(QStringLiteral("turn_end_ms")).toInt(-1) >= 0);
        QVERIFY(!j.contains(QStringLiteral("stop_ms")));

        for (int i = 0; i < 2; ++i) {
            QFile f(out.filePath(QStringLiteral("wav/turn1_s%1.wav").arg(i)));
            QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
            wav::Format format;
            QByteArray pcm;
            QVERIFY(wav::parseFile(f.readAll(), &format, &pcm));
            QCOMPARE(format.sampleRate, ScriptedChatServer::kSampleRate);
            QCOMPARE(format.channels, 1);
            QCOMPARE(pcm, ScriptedChatServer::sentencePcm(i));
        }
    }

    void stopAfterMs()
    {
        ScriptedChatServer server;
        server.holdAfterFirstSentence = true; // the turn runs until a stop arrives
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("tok"),
                                 QStringLiteral("--json"), QStringLiteral("--stop-after-ms"), QStringLiteral("0"), QStringLiteral("chat"),
                                 QStringLiteral("long story")});
        CHECK_RUN(r, 0);
        const QJsonObject j = jsonLine(r.out.trimmed());
        QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("interrupted"));
        QCOMPARE(j.value(QStringLiteral("stop_ms")).toInt(), 3);
        bool sawStop = false;
        for (const QJsonObject &m : std::as_const(server.received))
            sawStop = sawStop || m.value(QStringLiteral("type")).toString() == QLatin1String("stop");
        QVERIFY(sawStop);
    }

    void replRunsEachLine()
    {
        ScriptedChatServer server;
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("tok"),
                                 QStringLiteral("--json"), QStringLiteral("repl")},
                                {}, QByteArray("first\n\nsecond\n"));
        CHECK_RUN(r, 0);
        const QStringList lines = r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(jsonLine(lines.at(0)).value(QStringLiteral("user_text")).toString(), QStringLiteral("first"));
        QCOMPARE(jsonLine(lines.at(1)).value(QStringLiteral("user_text")).toString(), QStringLiteral("second"));
        QCOMPARE(jsonLine(lines.at(1)).value(QStringLiteral("turn")).toInt(), 2);
    }

    void replQuit()
    {
        ScriptedChatServer server;
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("tok"),
                                 QStringLiteral("repl")},
                                {}, QByteArray("/quit\nnever sent\n"));
        CHECK_RUN(r, 0);
        QCOMPARE(server.turnsStarted, 0);
    }

    void unauthorizedSocket()
    {
        ScriptedChatServer server;
        server.rejectWithCode = 4001;
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("expired"),
                                 QStringLiteral("chat"), QStringLiteral("hi")});
        CHECK_RUN(r, 4);
        QVERIFY2(r.err.contains(QStringLiteral("4001")), qPrintable(r.err));
        QVERIFY(r.err.contains(QStringLiteral("unauthorized")));
    }

    void protocolViolationExitCode()
    {
        ScriptedChatServer server;
        server.audioBeforeSentence = true;
        const CliRun r = runCli({QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("t"),
                                 QStringLiteral("chat"), QStringLiteral("hi")});
        CHECK_RUN(r, 7);
        QVERIFY(r.err.contains(QStringLiteral("protocol violation")));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
