// The built tianyi-cli executable, run with QProcess: register and login against the real server
// in-process; chat, repl, --out, --json, --stop-after-ms and close codes against the scripted
// chat socket (scriptedchatserver.h). Checks exit codes and output.
#include "scriptedchatserver.h"
#include "testserver.h"
#include "tianyi/wav.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
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

// DIR/01.wav and DIR/02.wav hold the scripted reply's two sentences, and nothing else is there.
void checkSentenceWavs(const QString &dir)
{
    QCOMPARE(QDir(dir).entryList(QDir::Files, QDir::Name), (QStringList{QStringLiteral("01.wav"), QStringLiteral("02.wav")}));
    for (int i = 0; i < 2; ++i) {
        QFile f(QDir(dir).filePath(QStringLiteral("0%1.wav").arg(i + 1)));
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
        wav::Format format;
        QByteArray pcm;
        QVERIFY(wav::parseFile(f.readAll(), &format, &pcm));
        QCOMPARE(format.sampleRate, ScriptedChatServer::kSampleRate);
        QCOMPARE(format.channels, 1);
        QCOMPARE(pcm, ScriptedChatServer::sentencePcm(i));
    }
}

// The arguments of a run against the scripted chat socket, with a token: the server and the token, then `more`.
QStringList scripted(const ScriptedChatServer &server, const QStringList &more)
{
    return QStringList{QStringLiteral("--server"), server.baseUrl().toString(), QStringLiteral("--token"), QStringLiteral("tok")} + more;
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
        for (const char *word : {"register", "login", "chat TEXT", "repl", "/stop", "/quit", "/help", "/ping", "--server URL", "--user NAME",
                                 "--password PW", "TIANYI_CLI_PASSWORD", "--audio binary|json", "--out DIR", "--stop-after-ms N", "--json",
                                 "--json-file FILE", "--token-file FILE", "--users N", "Exit codes"})
            QVERIFY2(r.out.contains(QLatin1String(word)), word);
    }

    // The help is grouped by task, talking first: a newcomer reads chat and repl before the
    // load generator's knobs. Each option sits in its group.
    void helpGroupsByTask()
    {
        const CliRun r = runCli({QStringLiteral("--help")});
        CHECK_RUN(r, 0);
        const QStringList titles{QStringLiteral("\nTalk with her:\n"), QStringLiteral("\nAccount and connection:\n"),
                                 QStringLiteral("\nLoad testing:\n"), QStringLiteral("\nGeneral:\n")};
        QList<qsizetype> at;
        for (const QString &t : titles) {
            at << r.out.indexOf(t);
            QVERIFY2(at.last() >= 0, qPrintable(t + QStringLiteral(" missing in\n") + r.out));
        }
        QVERIFY2(std::is_sorted(at.cbegin(), at.cend()), qPrintable(r.out));
        auto sectionOf = [&](const QString &entry) {
            const qsizetype i = r.out.indexOf(QStringLiteral("\n  ") + entry);
            if (i < 0)
                return -1;
            int section = -1;
            for (int k = 0; k < at.size(); ++k)
                section = i > at.at(k) ? k : section;
            return section;
        };
        for (const char *talk : {"chat TEXT", "repl", "--out DIR", "--json", "--audio", "--stop-after-ms N"})
            QVERIFY2(sectionOf(QLatin1String(talk)) == 0, talk);
        for (const char *account : {"register", "login", "--server URL", "--user NAME", "--password PW", "--token TOKEN", "--token-file FILE"})
            QVERIFY2(sectionOf(QLatin1String(account)) == 1, account);
        for (const char *load : {"load", "--users N", "--duration-s S", "--fake URL", "--json-file FILE", "--sample-pid PID"})
            QVERIFY2(sectionOf(QLatin1String(load)) == 2, load);
        // No option comes before the first group: the load options used to lead the list.
        QVERIFY2(!r.out.left(at.first()).contains(QStringLiteral("\n  --")), qPrintable(r.out));
        // --json is a flag: the help does not claim it takes a FILE.
        QVERIFY2(!r.out.contains(QStringLiteral("--json FILE")) || r.out.contains(QStringLiteral("\"load --json FILE\"")), qPrintable(r.out));
        QVERIFY(!r.out.contains(QStringLiteral("\n  --json FILE")));
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
        QCOMPARE(chatServer.authTokens.value(0), access);
        QVERIFY(!QUrlQuery(chatServer.requestUrls.value(0)).hasQueryItem(QStringLiteral("token")));
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
        const CliRun r = runCli(scripted(server, {QStringLiteral("--audio"), QStringLiteral("json"), QStringLiteral("chat"), QStringLiteral("你好"), QStringLiteral("呀")}));
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
        const CliRun r = runCli(scripted(server, {QStringLiteral("--json"), QStringLiteral("--out"), out.filePath(QStringLiteral("wav")), QStringLiteral("chat"),
                                 QStringLiteral("hi")}));
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

        // The WAVs are in this run's own folder, which the JSON line names: wav/<date>_<time>/turn1/.
        const QString wavDir = j.value(QStringLiteral("wav_dir")).toString();
        QDir base(wavDir);
        QVERIFY(base.cdUp() && base.cdUp());
        QCOMPARE(base.absolutePath(), QFileInfo(out.filePath(QStringLiteral("wav"))).absoluteFilePath());
        QCOMPARE(QFileInfo(wavDir).fileName(), QStringLiteral("turn1"));
        checkSentenceWavs(wavDir);
    }

    // --out never overwrites or mixes: each run writes into a folder of its own and says which.
    void outMakesAFreshFolderPerRun()
    {
        ScriptedChatServer server; // numbers its turns across connections: run 1 has turn 1, run 2 turn 2
        QTemporaryDir out;
        const QString base = out.filePath(QStringLiteral("voice"));
        const QStringList args = scripted(server, {QStringLiteral("--out"), base, QStringLiteral("chat"), QStringLiteral("hi")});
        auto runFolders = [&]() { return QDir(base).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name); };
        auto turnFolders = [&](const QString &run) { return QDir(QDir(base).filePath(run)).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name); };

        const CliRun first = runCli(args);
        CHECK_RUN(first, 0);
        QCOMPARE(runFolders().size(), 1);
        const QString firstRun = runFolders().first();
        QCOMPARE(turnFolders(firstRun), QStringList{QStringLiteral("turn1")});
        const QString firstTurn = QDir(base).filePath(firstRun + QStringLiteral("/turn1"));
        checkSentenceWavs(firstTurn);
        QVERIFY2(first.err.contains(QStringLiteral("[her voice: 2 WAV files in %1]").arg(QDir::toNativeSeparators(firstTurn))),
                 qPrintable(describe(first)));
        const QDateTime firstWritten = QFileInfo(firstTurn + QStringLiteral("/01.wav")).lastModified();

        // Again at once (most likely within the same second): a second folder; the first is untouched.
        const CliRun second = runCli(args);
        CHECK_RUN(second, 0);
        QCOMPARE(runFolders().size(), 2);
        QVERIFY(runFolders().contains(firstRun));
        const QString secondRun = runFolders().at(runFolders().indexOf(firstRun) == 0 ? 1 : 0);
        QCOMPARE(turnFolders(secondRun), QStringList{QStringLiteral("turn2")});
        const QString secondTurn = QDir(base).filePath(secondRun + QStringLiteral("/turn2"));
        checkSentenceWavs(secondTurn);
        QVERIFY2(second.err.contains(QDir::toNativeSeparators(secondTurn)), qPrintable(describe(second)));
        QCOMPARE(turnFolders(firstRun), QStringList{QStringLiteral("turn1")});
        checkSentenceWavs(firstTurn);
        QCOMPARE(QFileInfo(firstTurn + QStringLiteral("/01.wav")).lastModified(), firstWritten);

        // A repl run keeps its turns apart inside its one folder.
        const CliRun repl = runCli(scripted(server, {QStringLiteral("--out"), base, QStringLiteral("repl")}),
                                   {}, QByteArray("one\ntwo\n"));
        CHECK_RUN(repl, 0);
        QStringList runs = runFolders();
        QCOMPARE(runs.size(), 3);
        runs.removeOne(firstRun);
        runs.removeOne(secondRun);
        QCOMPARE(turnFolders(runs.first()), (QStringList{QStringLiteral("turn3"), QStringLiteral("turn4")}));
        checkSentenceWavs(QDir(base).filePath(runs.first() + QStringLiteral("/turn3")));
        checkSentenceWavs(QDir(base).filePath(runs.first() + QStringLiteral("/turn4")));
    }

    void stopAfterMs()
    {
        ScriptedChatServer server;
        server.holdAfterFirstSentence = true; // the turn runs until a stop arrives
        const CliRun r = runCli(scripted(server, {QStringLiteral("--json"), QStringLiteral("--stop-after-ms"), QStringLiteral("0"), QStringLiteral("chat"),
                                 QStringLiteral("long story")}));
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
        const CliRun r = runCli(scripted(server, {QStringLiteral("--json"), QStringLiteral("repl")}),
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
        const CliRun r = runCli(scripted(server, {QStringLiteral("repl")}),
                                {}, QByteArray("/quit\nnever sent\n"));
        CHECK_RUN(r, 0);
        QCOMPARE(server.turnsStarted, 0);
    }

    // Lines starting with / are commands of the repl: answered here, never sent to her as chat.
    void replCommandsStayLocal()
    {
        ScriptedChatServer server;
        const CliRun r = runCli(scripted(server, {QStringLiteral("repl")}),
                                {}, QByteArray("/help\n/ping\n/x something\n/stop\n//slash\n"));
        CHECK_RUN(r, 0);
        QStringList chats;
        int pings = 0;
        int stops = 0;
        for (const QJsonObject &m : std::as_const(server.received)) {
            const QString type = m.value(QStringLiteral("type")).toString();
            if (type == chat::kChat)
                chats << m.value(QStringLiteral("text")).toString();
            pings += type == chat::kPing ? 1 : 0;
            stops += type == chat::kStop ? 1 : 0;
        }
        // Only "//slash" reaches her, as "/slash"; /ping is a ping; /stop with nothing running sends nothing.
        QCOMPARE(chats, QStringList{QStringLiteral("/slash")});
        QCOMPARE(pings, 1);
        QCOMPARE(stops, 0);
        QCOMPARE(server.turnsStarted, 1);
        // /help lists the commands.
        for (const char *command : {"/help", "/ping", "/stop", "/quit", "//text"})
            QVERIFY2(r.err.contains(QLatin1String(command)), command);
        // /ping prints the round trip.
        static const QRegularExpression pong(QStringLiteral("\\[pong: \\d+ ms round trip\\]"));
        QVERIFY2(pong.match(r.err).hasMatch(), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QStringLiteral("unknown command /x")), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QStringLiteral("nothing to stop")), qPrintable(describe(r)));
        // Her reply to "/slash" is the only text on stdout; no prompt there (stdin is not a terminal).
        QCOMPARE(r.out, QStringLiteral("«开心»你好呀！«悲伤»今天有点累。\n"));
        QVERIFY(!r.err.contains(QStringLiteral("> ")));
    }

    // End of input while she is still talking: the repl waits for the turn, then exits.
    void replWaitsForTheTurnAtEndOfInput()
    {
        ScriptedChatServer server;
        server.holdAfterFirstSentence = true;
        server.finishHeldTurnAfterMs = 500; // long after stdin has closed
        const CliRun r = runCli(scripted(server, {QStringLiteral("--json"), QStringLiteral("repl")}),
                                {}, QByteArray("tell me a long story\n"));
        CHECK_RUN(r, 0);
        const QStringList lines = r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 1);
        const QJsonObject j = jsonLine(lines.at(0));
        QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QCOMPARE(j.value(QStringLiteral("sentences")).toInt(), 2);
        for (const QJsonObject &m : std::as_const(server.received))
            QVERIFY(m.value(QStringLiteral("type")).toString() != chat::kStop);
    }

    // The chat socket's handshake names the program, so that the operator console can show it.
    void chatSocketSaysWhoItIs()
    {
        ScriptedChatServer server;
        const CliRun r = runCli(scripted(server, {QStringLiteral("chat"), QStringLiteral("hi")}));
        CHECK_RUN(r, 0);
        QCOMPARE(server.userAgents.value(0), QStringLiteral("tianyi-cli/0.1.0"));
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
