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

// A recording of `text` spoken by the espeak-ng program (22.05 kHz mono: tianyi-cli converts it), made
// at test time so that no binary file is committed.
QString spokenWav(const QTemporaryDir &dir, const QString &text)
{
    const QString path = dir.filePath(QStringLiteral("spoken.wav"));
    QProcess espeak;
    espeak.start(QStringLiteral("espeak-ng"), {QStringLiteral("-v"), QStringLiteral("cmn"), QStringLiteral("-w"), path, text});
    if (!espeak.waitForFinished(60000) || espeak.exitStatus() != QProcess::NormalExit || espeak.exitCode() != 0)
        return {};
    return path;
}

QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &bytes)
{
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        return {};
    return f.fileName();
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
        for (const char *word : {"register", "login", "chat TEXT", "listen FILE.wav", "--silence-ms N", "--noise-dbfs DB", "repl", "/stop", "/quit", "/help", "/ping", "--server URL", "--user NAME",
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
        for (const char *talk : {"chat TEXT", "listen FILE.wav", "--silence-ms N", "repl", "--out DIR", "--json", "--audio", "--stop-after-ms N"})
            QVERIFY2(sectionOf(QLatin1String(talk)) == 0, talk);
        for (const char *account : {"register", "login", "--server URL", "--user NAME", "--password PW", "--token TOKEN", "--token-file FILE"})
            QVERIFY2(sectionOf(QLatin1String(account)) == 1, account);
        for (const char *load : {"load", "--users N", "--duration-s S", "--fake URL", "--json-file FILE", "--sample-pid PID", "--voice FILE.wav",
                                 "--listen"})
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

    // listen FILE.wav: the recording goes out in real time as 20 ms frames of 16 kHz PCM after
    // listen_start; the partial and final transcripts, then her reply, are printed; exit 0 after turn_end.
    void listenSpeaksTheRecording()
    {
        QTemporaryDir dir;
        const QString wav = spokenWav(dir, QStringLiteral("你好天依，今天唱什么歌"));
        QVERIFY2(!wav.isEmpty(), "espeak-ng (the program, Debian package espeak-ng) is needed to make the recording");
        ScriptedChatServer server;
        const CliRun r = runCli(scripted(server, {QStringLiteral("listen"), wav}));
        CHECK_RUN(r, 0);
        // Her reply on stdout, as for a typed chat.
        QCOMPARE(r.out, QStringLiteral("«开心»你好呀！«悲伤»今天有点累。\n"));
        // Partials, then the final transcript, on stderr.
        const qsizetype partial = r.err.indexOf(QStringLiteral("[hearing: 你]"));
        const qsizetype longer = r.err.indexOf(QStringLiteral("[hearing: 你好]"));
        const qsizetype final = r.err.indexOf(QStringLiteral("[heard: 你好天依]"));
        QVERIFY2(partial >= 0 && longer > partial && final > longer, qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QStringLiteral("[speech started: utterance 1]")), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QStringLiteral("turn 1 completed")), qPrintable(describe(r)));
        QVERIFY2(r.err.contains(QStringLiteral("converted to 16 kHz mono")), qPrintable(describe(r)));

        // listen_start, then only PCM frames of 20 ms at 16 kHz, then listen_stop at the end.
        QCOMPARE(server.received.value(0).value(QStringLiteral("type")).toString(), QStringLiteral("listen_start"));
        QCOMPARE(server.received.value(0).value(QStringLiteral("sample_rate")).toInt(), 16000);
        QCOMPARE(server.received.value(0).value(QStringLiteral("format")).toString(), QStringLiteral("pcm_s16le"));
        QTRY_COMPARE_WITH_TIMEOUT(server.received.last().value(QStringLiteral("type")).toString(), QStringLiteral("listen_stop"), 10000);
        QCOMPARE(server.received.size(), 2);
        QVERIFY(!server.binarySizes.isEmpty());
        for (int size : std::as_const(server.binarySizes))
            QCOMPARE(size, 640);
        // The whole recording was spoken (and the quiet room after it until the reply ended).
        QFile f(wav);
        QVERIFY(f.open(QIODevice::ReadOnly));
        wav::Format format;
        QByteArray pcm;
        QVERIFY(wav::parseFile(f.readAll(), &format, &pcm));
        const qint64 recordingAt16k = qint64(pcm.size()) * 16000 / format.sampleRate;
        QVERIFY2(server.listenAudioBytes >= recordingAt16k - 640, qPrintable(QString::number(server.listenAudioBytes)));
    }

    void listenJson()
    {
        QTemporaryDir dir;
        const QString wav = spokenWav(dir, QStringLiteral("你好天依"));
        QVERIFY2(!wav.isEmpty(), "espeak-ng (the program) is needed to make the recording");
        ScriptedChatServer server;
        const CliRun r = runCli(scripted(server, {QStringLiteral("--json"), QStringLiteral("listen"), wav}));
        CHECK_RUN(r, 0);
        const QStringList lines = r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 1);
        const QJsonObject j = jsonLine(lines.at(0));
        QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QCOMPARE(j.value(QStringLiteral("user_text")).toString(), QStringLiteral("你好天依"));
        QCOMPARE(j.value(QStringLiteral("text")).toString(), ScriptedChatServer::replyText());
        const QJsonObject heard = j.value(QStringLiteral("heard")).toObject();
        QCOMPARE(heard.value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(heard.value(QStringLiteral("text")).toString(), QStringLiteral("你好天依"));
        const QJsonArray partials = heard.value(QStringLiteral("partials")).toArray();
        QVERIFY2(!partials.isEmpty(), qPrintable(lines.at(0)));
        QCOMPARE(partials.first().toString(), QStringLiteral("你"));
        QVERIFY(heard.value(QStringLiteral("speech_ms")).toInt() > 0);
        QVERIFY(heard.value(QStringLiteral("speech_end_after_voice_ms")).isDouble());
        QVERIFY(heard.value(QStringLiteral("first_audio_after_speech_end_ms")).isDouble());
    }

    void listenRefusesBadRecordings()
    {
        QTemporaryDir dir;
        ScriptedChatServer server;
        const QString junk = writeFile(dir, QStringLiteral("junk.wav"), QByteArray("this is not a recording at all, just text"));
        CliRun r = runCli(scripted(server, {QStringLiteral("listen"), junk}));
        CHECK_RUN(r, 2);
        QVERIFY2(r.err.contains(QStringLiteral("junk.wav cannot be spoken")), qPrintable(describe(r)));
        // 8-bit samples: the error names what the file is and what is needed.
        const QString eightBit = writeFile(dir, QStringLiteral("8bit.wav"), wav::header(16000, 1, 1600, 8) + QByteArray(1600, '\x80'));
        r = runCli(scripted(server, {QStringLiteral("listen"), eightBit}));
        CHECK_RUN(r, 2);
        QVERIFY2(r.err.contains(QStringLiteral("8-bit")) && r.err.contains(QStringLiteral("16-bit PCM")), qPrintable(describe(r)));
        // Six channels.
        const QString surround = writeFile(dir, QStringLiteral("6ch.wav"), wav::file(QByteArray(12 * 160, '\0'), 16000, 6));
        r = runCli(scripted(server, {QStringLiteral("listen"), surround}));
        CHECK_RUN(r, 2);
        QVERIFY2(r.err.contains(QStringLiteral("6 channels")), qPrintable(describe(r)));
        r = runCli(scripted(server, {QStringLiteral("listen"), dir.filePath(QStringLiteral("missing.wav"))}));
        CHECK_RUN(r, 2);
        QVERIFY2(r.err.contains(QStringLiteral("cannot read")), qPrintable(describe(r)));
        CHECK_RUN(runCli(scripted(server, {QStringLiteral("listen")})), 2);
        // Nothing was sent for any of them: the file is read before connecting.
        QVERIFY(server.requestUrls.isEmpty());
    }

    void listenWithoutAsrIsRefused()
    {
        QTemporaryDir dir;
        ScriptedChatServer server;
        server.asrAvailable = false;
        const QString quiet = writeFile(dir, QStringLiteral("quiet.wav"), wav::file(QByteArray(3200, '\0'), 16000));
        const CliRun r = runCli(scripted(server, {QStringLiteral("listen"), quiet}));
        CHECK_RUN(r, 1);
        QVERIFY2(r.err.contains(QStringLiteral("asr_unavailable")), qPrintable(describe(r)));
        // Any other refusal of listen_start ends the run the same way.
        ScriptedChatServer picky;
        picky.listenStartError = chat::kErrUnsupportedAudio;
        const CliRun refused = runCli(scripted(picky, {QStringLiteral("listen"), quiet}));
        CHECK_RUN(refused, 1);
        QVERIFY2(refused.err.contains(QStringLiteral("unsupported_audio")), qPrintable(describe(refused)));
    }

    // A recording without speech: the server never hears any, and the run says so (exit 8).
    void listenToSilence()
    {
        QTemporaryDir dir;
        ScriptedChatServer server;
        const QString quiet = writeFile(dir, QStringLiteral("quiet.wav"), wav::file(QByteArray(16000, '\0'), 16000));
        const CliRun r = runCli(scripted(server, {QStringLiteral("--silence-ms"), QStringLiteral("200"), QStringLiteral("listen"), quiet}));
        CHECK_RUN(r, 8);
        QVERIFY2(r.err.contains(QStringLiteral("heard no speech")), qPrintable(describe(r)));
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
