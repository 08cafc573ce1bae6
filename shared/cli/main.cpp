// tianyi-cli: a command-line client of the tianyi server (test client and smoke-test tool).
#include "clisession.h"
#include "helptable.h"
#include "loadrunner.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTimer>

#include <cstdio>

using namespace tianyi::cli;

namespace {

const char *const kDescription =
    "Talks to a tianyi server from a terminal: accounts over HTTP, chat over the /ws socket.\n"
    "\n"
    "First steps (the server prints its address; the default is http://127.0.0.1:8080):\n"
    "  export TIANYI_CLI_PASSWORD='correct horse battery'   # keeps the password out of ps\n"
    "  tianyi-cli --user NAME register\n"
    "  tianyi-cli --user NAME chat \"你好，天依！\"\n"
    "  tianyi-cli --user NAME listen hello.wav                 # speak to her hands-free from a recording\n"
    "  tianyi-cli --user NAME --out wavs repl";

const char *const kExitCodes =
    "Exit codes: 0 ok, 1 the server refused (bad password, name taken, chat refused),\n"
    "2 usage or local file error, 3 server unreachable, 4 chat socket closed by the server\n"
    "(4001 bad token, 4003 too many sessions, ...), 5 the turn failed, 6 timeout,\n"
    "7 the server broke the protocol's ordering guarantees, 8 listen: no speech was heard\n"
    "(or nothing she could answer).";

int usage(const QString &message)
{
    const QByteArray bytes = QStringLiteral("error: %1 (see --help)\n").arg(message).toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    return kExitUsage;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tianyi-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    QCommandLineParser parser;
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    HelpTable t(parser);
    auto S = [](const char *text) { return QString::fromUtf8(text); };

    t.section(S("Talk with her"));
    t.command(S("chat TEXT"), S("One turn: her reply streams to stdout, with «emotion» before each sentence; a summary of the "
                                "turn (status, latencies) goes to stderr."));
    t.command(S("repl"), S("One chat per line of stdin, with a \"> \" prompt on a terminal. Lines starting with / are commands, "
                           "handled here and never sent to her:\n")
                             + replCommandsHelp()
                             + S("\nAt the end of input it waits for the running turn, then exits."));
    t.command(S("listen FILE.wav"),
              S("Hands-free: opens the listening stream (listen_start) and speaks the recording into it in real time, 20 ms "
                "frames paced by the clock, as a microphone would; then a quiet room until the server ends the utterance. "
                "Partial transcripts update one line, the final one and her streamed reply follow; it exits after her turn_end. "
                "The WAV is 16-bit PCM, mono or stereo, 8..48 kHz (converted to 16 kHz mono; 16 kHz mono is sent as it is); "
                "anything else is refused with exit code 2."));
    const QCommandLineOption outDir = t.option(
        S("out"),
        S("Save her voice: every run makes a new folder DIR/<date>_<time>/ (never reusing an earlier one), with one folder per "
          "turn and one WAV per sentence: DIR/<date>_<time>/turn<N>/01.wav, 02.wav, ... Where they went is printed (stderr; "
          "with --json in the turn's \"wav_dir\")."),
        S("DIR"));
    const QCommandLineOption json = t.option(
        S("json"), S("Machine output on stdout. chat/repl: one JSON line per turn (turn, status, ttft_ms, first_audio_ms, total_ms, "
                     "sentences, audio_ms, client timings, stop_ms, wav_dir) and no streamed text; register: the user; login: the "
                     "tokens."));
    const QCommandLineOption audio = t.option(S("audio"), S("How her audio travels: binary WebSocket frames or base64 in JSON."),
                                              S("binary|json"), S("binary"));
    const QCommandLineOption stopAfter = t.option(
        S("stop-after-ms"), S("Interrupt her N ms after each chat (a stop with played_ms = the audio received so far)."), S("N"));
    const QCommandLineOption timeout = t.option(S("timeout-ms"), S("chat: give up after N ms (listen: after the recording)."), S("N"),
                                                S("120000"));
    const QCommandLineOption silenceMs = t.option(
        S("silence-ms"), S("listen: after the recording, wait this long in the quiet room for the end of speech (then listen_stop)."),
        S("N"), S("3000"));
    const QCommandLineOption noiseDbfs = t.option(
        S("noise-dbfs"), S("listen, and load with --listen or --voice: the room is white noise at this RMS level instead of digital silence, "
          "e.g. -60."), S("DB"));

    t.section(S("Account and connection"), S("chat and repl log in with --token, else --user and the password, else the "
                                              "access_token in --token-file."));
    t.command(S("register"), S("Create the account --user with the password (and --nickname)."));
    t.command(S("login"), S("Print the tokens (access_token, refresh_token, expires_in), or write them as JSON to --token-file "
                            "(mode 0600)."));
    const QCommandLineOption server = t.option(S("server"), S("The server's base URL."), S("URL"), S("http://127.0.0.1:8080"));
    const QCommandLineOption user = t.option(S("user"), S("Username."), S("NAME"));
    const QCommandLineOption password = t.option(
        S("password"), S("Password. Better: the TIANYI_CLI_PASSWORD environment variable, which keeps it out of the process list."),
        S("PW"));
    const QCommandLineOption nickname = t.option(S("nickname"), S("register: the name she calls you."), S("NAME"));
    const QCommandLineOption token = t.option(S("token"), S("chat/repl: this access token instead of a login."), S("TOKEN"));
    const QCommandLineOption tokenFile = t.option(
        S("token-file"), S("login: write the tokens here (mode 0600); chat/repl: read the access token from here."), S("FILE"));

    t.section(S("Load testing"),
              S("load: N virtual users (--users) chat for --duration-s (0: once, all at the same moment) with --think-ms between "
                "turns (or --interval-ms start to start), started over --ramp-s. With --fake the same schedule first runs directly "
                "against the fake upstream, so that its own latency is subtracted (\"added\"). Prints one JSON result on stdout "
                "(--json is not needed). --stop-after-ms and --timeout-ms apply too."));
    t.command(S("load"), S("Run the load generator."));
    const auto users = t.option(S("users"), S("Virtual users."), S("N"), S("1"));
    const auto sessionsPerUser = t.option(S("sessions-per-user"), S("Chat sockets per user."), S("N"), S("1"));
    const auto thinkMs = t.option(S("think-ms"), S("Pause after a turn ends before the next chat."), S("MS"), S("0"));
    const auto intervalMs = t.option(S("interval-ms"), S("Instead: start a turn every MS per user (start to start)."), S("MS"), S("0"));
    const auto durationS = t.option(S("duration-s"), S("Length of the measured phase (0: one burst)."), S("S"), S("0"));
    const auto rounds = t.option(S("rounds"), S("--duration-s 0: bursts, one after the other."), S("N"), S("1"));
    const auto rampS = t.option(S("ramp-s"), S("Spread the sessions' first turns over this long."), S("S"), S("0"));
    const auto text = t.option(S("text"), S("What every user says."), S("TEXT"));
    const auto stopFraction = t.option(S("stop-fraction"), S("Share of turns that --stop-after-ms stops (0..1)."), S("F"), S("1"));
    const auto fake = t.option(S("fake"), S("The fake upstream's URL: measure the baseline against it first."), S("URL"));
    const auto baselineS = t.option(S("baseline-s"), S("Length of the steady baseline."), S("S"), S("10"));
    const QCommandLineOption noEarlyCut = t.option(S("no-early-cut"), S("The server runs with chat.early_first_clause=false."));
    const QCommandLineOption idle = t.option(S("idle"), S("Open the sessions and hold them --hold-s; no chats."));
    const auto holdS = t.option(S("hold-s"), S("--idle: how long to hold the sessions."), S("S"), S("5"));
    const QCommandLineOption noWarmup = t.option(S("no-warmup"), S("Measure from the first turn (cold connection pools)."));
    const auto loginRate = t.option(S("login-rate"), S("Logins per second during the run (own accounts)."), S("N"), S("0"));
    const auto loginUsers = t.option(S("login-users"), S("Accounts the logins use."), S("N"), S("20"));
    const auto historyRate = t.option(S("history-rate"), S("GET /me/history per second during the run."), S("N"), S("0"));
    const auto samplePid = t.option(S("sample-pid"), S("Server PID whose /proc (RSS, open files, CPU) is sampled."), S("PID"), S("0"));
    const auto sampleMs = t.option(S("sample-ms"), S("Sampling period."), S("MS"), S("10000"));
    const auto prefix = t.option(S("prefix"), S("Account name prefix (default: unique per run)."), S("NAME"));
    const auto setupConcurrency = t.option(S("setup-concurrency"), S("Registrations, logins and socket opens in flight."), S("N"), S("64"));
    const auto voice = t.option(
        S("voice"),
        S("Voice turns: every session opens a listening stream and each turn speaks this recording into it in real time "
          "(then a quiet room) instead of sending a chat; timed from speech_end (see bench/README.md). Same WAV formats as listen."),
        S("FILE.wav"));
    const QCommandLineOption listenAll = t.option(
        S("listen"), S("Every session streams its microphone (a quiet room, --noise-dbfs) in real time for the whole run; with "
                       "--idle: no turns, the server's CPU over --hold-s."));
    const auto jsonFile = t.option(S("json-file"), S("Also write the result JSON to FILE (\"load --json FILE\" does the same)."),
                                   S("FILE"));

    t.section(S("General"));
    t.command(S("-h, --help"), S("This help."));
    t.command(S("-v, --version"), S("The version."));
    t.footer(QString::fromUtf8(kExitCodes));
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("chat TEXT | listen FILE.wav | repl | register | login | load"));
    parser.addPositionalArgument(QStringLiteral("text"), QStringLiteral("The message (chat)."), QStringLiteral("[TEXT...]"));

    if (!parser.parse(QCoreApplication::arguments()))
        return usage(parser.errorText());
    if (parser.isSet(help)) {
        const QByteArray helpBytes =
            t.helpText(QStringLiteral("Usage: tianyi-cli [options] chat TEXT | listen FILE.wav | repl | register | login | load"),
                       QString::fromUtf8(kDescription))
                .toUtf8();
        std::fwrite(helpBytes.constData(), 1, size_t(helpBytes.size()), stdout);
        return kExitOk;
    }
    if (parser.isSet(version)) {
        parser.showVersion();
    }

    Options o;
    QStringList args = parser.positionalArguments();
    if (args.isEmpty())
        return usage(QStringLiteral("no command given"));
    o.command = args.takeFirst();
    o.text = args.join(QLatin1Char(' '));
    o.server = QUrl(parser.value(server));
    const QString scheme = o.server.scheme();
    if (!o.server.isValid() || o.server.host().isEmpty() || (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
        return usage(QStringLiteral("--server needs an http:// or https:// URL"));
    o.user = parser.value(user);
    o.password = parser.isSet(password) ? parser.value(password) : qEnvironmentVariable("TIANYI_CLI_PASSWORD");
    o.nickname = parser.value(nickname);
    o.token = parser.value(token);
    o.tokenFile = parser.value(tokenFile);
    o.outDir = parser.value(outDir);
    o.json = parser.isSet(json);
    const QString audioMode = parser.value(audio);
    if (audioMode == QLatin1String("json"))
        o.audio = tianyi::client::AudioMode::Json;
    else if (audioMode != QLatin1String("binary"))
        return usage(QStringLiteral("--audio is json or binary"));
    bool ok = true;
    if (parser.isSet(stopAfter)) {
        o.stopAfterMs = parser.value(stopAfter).toLongLong(&ok);
        if (!ok || o.stopAfterMs < 0 || o.stopAfterMs > 24 * 3600 * 1000)
            return usage(QStringLiteral("--stop-after-ms needs a number of milliseconds"));
    }
    o.timeoutMs = parser.value(timeout).toInt(&ok);
    if (!ok || o.timeoutMs <= 0)
        return usage(QStringLiteral("--timeout-ms needs a positive number of milliseconds"));
    o.silenceMs = parser.value(silenceMs).toInt(&ok);
    if (!ok || o.silenceMs < 0 || o.silenceMs > 600000)
        return usage(QStringLiteral("--silence-ms needs a number of milliseconds up to 600000"));
    if (parser.isSet(noiseDbfs)) {
        o.noiseDbfs = parser.value(noiseDbfs).toDouble(&ok);
        if (!ok || o.noiseDbfs > -10)
            return usage(QStringLiteral("--noise-dbfs needs a level in dBFS below -10, e.g. -60"));
    }

    if (o.command == QLatin1String("register") || o.command == QLatin1String("login")) {
        if (o.user.isEmpty())
            return usage(QStringLiteral("%1 needs --user").arg(o.command));
        if (o.password.isEmpty())
            return usage(QStringLiteral("%1 needs a password: --password or TIANYI_CLI_PASSWORD").arg(o.command));
        if (!args.isEmpty())
            return usage(QStringLiteral("%1 takes no text").arg(o.command));
    } else if (o.command == QLatin1String("chat") || o.command == QLatin1String("repl") || o.command == QLatin1String("listen")) {
        if (o.command == QLatin1String("chat") && o.text.trimmed().isEmpty())
            return usage(QStringLiteral("chat needs the TEXT to send"));
        if (o.command == QLatin1String("listen") && args.size() != 1)
            return usage(QStringLiteral("listen needs one WAV file"));
        if (o.command == QLatin1String("repl") && !args.isEmpty())
            return usage(QStringLiteral("repl reads its lines from stdin; it takes no text"));
        const bool haveLogin = !o.user.isEmpty() && !o.password.isEmpty();
        if (o.token.isEmpty() && !haveLogin && o.tokenFile.isEmpty())
            return usage(QStringLiteral("%1 needs --token, --user with a password, or --token-file").arg(o.command));
    } else if (o.command == QLatin1String("load")) {
        LoadOptions l;
        l.server = o.server;
        auto number = [&](const QCommandLineOption &opt, double min, double max, double *out) {
            bool good = false;
            const double v = parser.value(opt).toDouble(&good);
            if (!good || v < min || v > max)
                return false;
            *out = v;
            return true;
        };
        double v[14];
        const QCommandLineOption *opts[14] = {&users, &sessionsPerUser, &thinkMs, &intervalMs, &durationS, &rampS, &stopFraction,
                                              &holdS, &loginRate, &loginUsers, &historyRate, &samplePid, &sampleMs, &baselineS};
        const double limits[14][2] = {{1, 100000}, {1, 1000}, {0, 3.6e6}, {0, 3.6e6}, {0, 86400}, {0, 86400}, {0, 1},
                                      {0, 86400}, {0, 1000}, {1, 100000}, {0, 1000}, {0, 1e9}, {100, 3.6e6}, {0, 3600}};
        for (int i = 0; i < 14; ++i)
            if (!number(*opts[i], limits[i][0], limits[i][1], &v[i]))
                return usage(QStringLiteral("--%1 needs a number in [%2, %3]").arg(opts[i]->names().first()).arg(limits[i][0]).arg(limits[i][1]));
        l.users = int(v[0]);
        l.sessionsPerUser = int(v[1]);
        l.thinkMs = int(v[2]);
        l.intervalMs = int(v[3]);
        l.durationS = v[4];
        l.rampS = v[5];
        l.stopFraction = v[6];
        l.holdS = v[7];
        l.loginRate = v[8];
        l.loginUsers = int(v[9]);
        l.historyRate = v[10];
        l.samplePid = qint64(v[11]);
        l.sampleMs = int(v[12]);
        l.baselineS = v[13];
        l.stopAfterMs = int(o.stopAfterMs);
        if (parser.isSet(text))
            l.text = parser.value(text);
        if (parser.isSet(fake))
            l.fake = QUrl(parser.value(fake));
        l.earlyCut = !parser.isSet(noEarlyCut);
        l.idle = parser.isSet(idle);
        l.warmup = !parser.isSet(noWarmup);
        l.prefix = parser.value(prefix);
        l.rounds = qBound(1, parser.value(rounds).toInt(), 1000);
        l.setupConcurrency = qBound(1, parser.value(setupConcurrency).toInt(), 10000);
        l.jsonFile = parser.value(jsonFile);
        l.voiceWav = parser.value(voice);
        l.listen = parser.isSet(listenAll) || !l.voiceWav.isEmpty();
        l.noiseDbfs = o.noiseDbfs;
        // "load --json FILE": load takes no text, so the one positional argument after --json is the file.
        if (parser.isSet(json) && args.size() == 1 && l.jsonFile.isEmpty())
            l.jsonFile = args.takeFirst();
        if (!args.isEmpty())
            return usage(QStringLiteral("load takes no text (use --text)"));
        l.timeoutS = parser.isSet(timeout) ? qMax(1, o.timeoutMs / 1000) : int(l.durationS + l.holdS) + 600;
        LoadRunner runner(l);
        QTimer::singleShot(0, &runner, &LoadRunner::start);
        return app.exec();
    } else {
        return usage(QStringLiteral("unknown command \"%1\"").arg(o.command));
    }

    CliSession session(o);
    QTimer::singleShot(0, &session, &CliSession::start);
    return app.exec();
}
