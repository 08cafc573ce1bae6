// tianyi-cli: a command-line client of the tianyi server (test client and smoke-test tool).
#include "clisession.h"
#include "loadrunner.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTimer>

#include <cstdio>

using namespace tianyi::cli;

namespace {

const char *const kDescription =
    "Talks to a tianyi server: accounts over HTTP, chat over the /ws socket.\n"
    "\n"
    "Commands:\n"
    "  register         create the account --user with --password (and --nickname)\n"
    "  login            print the tokens (access_token, refresh_token, expires_in),\n"
    "                   or write them as JSON to --token-file (mode 0600)\n"
    "  chat TEXT        one turn: streams the reply text to stdout, «emotion» markers before\n"
    "                   sentences; a summary of the turn goes to stderr\n"
    "  repl             each line of stdin is a chat; \"/stop\" stops the running turn,\n"
    "                   \"/ping\" pings, \"/quit\" (or end of input) exits\n"
    "  load             N virtual users (--users) chat for --duration-s (0: once, all at the same\n"
    "                   moment) with --think-ms between turns (or --interval-ms start to start),\n"
    "                   started over --ramp-s; with --fake the same schedule first runs directly\n"
    "                   against the fake upstream so its own latency is subtracted (\"added\").\n"
    "                   --idle holds the sessions open; --login-rate / --history-rate add traffic;\n"
    "                   --sample-pid reads the server's RSS, open files and CPU from /proc.\n"
    "                   Prints one JSON result on stdout; --json FILE also writes it to FILE.\n"
    "\n"
    "Credentials for chat/repl: --token, else --user with --password (or TIANYI_CLI_PASSWORD),\n"
    "else the access_token in --token-file.\n"
    "\n"
    "Exit codes: 0 ok, 1 the server refused (bad password, name taken, chat refused),\n"
    "2 usage or local file error, 3 server unreachable, 4 chat socket closed by the server\n"
    "(4001 bad token, 4003 too many sessions, ...), 5 the turn failed, 6 timeout,\n"
    "7 the server broke the protocol's ordering guarantees.";

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
    parser.setApplicationDescription(QString::fromUtf8(kDescription));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption server(QStringLiteral("server"), QStringLiteral("Server base URL (default http://127.0.0.1:8080)."),
                                    QStringLiteral("URL"), QStringLiteral("http://127.0.0.1:8080"));
    const QCommandLineOption user(QStringLiteral("user"), QStringLiteral("Username."), QStringLiteral("NAME"));
    const QCommandLineOption password(QStringLiteral("password"),
                                      QStringLiteral("Password (better: the TIANYI_CLI_PASSWORD environment variable, "
                                                     "which keeps it out of the process list)."),
                                      QStringLiteral("PW"));
    const QCommandLineOption nickname(QStringLiteral("nickname"), QStringLiteral("Nickname for register."), QStringLiteral("NAME"));
    const QCommandLineOption token(QStringLiteral("token"), QStringLiteral("Access token for chat/repl (no login)."), QStringLiteral("TOKEN"));
    const QCommandLineOption tokenFile(QStringLiteral("token-file"),
                                       QStringLiteral("login: write the tokens here (mode 0600); chat/repl: read the access token from here."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption audio(QStringLiteral("audio"), QStringLiteral("Audio transport: binary (default) or json."),
                                   QStringLiteral("json|binary"), QStringLiteral("binary"));
    const QCommandLineOption outDir(QStringLiteral("out"), QStringLiteral("Save each sentence's audio as DIR/turn<N>_s<K>.wav."),
                                    QStringLiteral("DIR"));
    const QCommandLineOption stopAfter(QStringLiteral("stop-after-ms"),
                                       QStringLiteral("Send stop N ms after each chat, with played_ms = the audio received so far."),
                                       QStringLiteral("N"));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Machine output: per turn one JSON line on stdout (turn, status, ttft_ms, first_audio_ms, "
                                                 "total_ms, sentences, audio_ms, client timings, stop_ms); no streamed text."));
    const QCommandLineOption timeout(QStringLiteral("timeout-ms"), QStringLiteral("chat: give up after N ms (default 120000)."),
                                     QStringLiteral("N"), QStringLiteral("120000"));
    parser.addOptions({server, user, password, nickname, token, tokenFile, audio, outDir, stopAfter, json, timeout});
    // load
    auto valueOption = [&](const char *name, const char *help, const char *fallback = nullptr, const char *valueName = "N") {
        QCommandLineOption o{QLatin1String(name), QLatin1String(help), QLatin1String(valueName)};
        if (fallback)
            o.setDefaultValue(QLatin1String(fallback));
        parser.addOption(o);
        return o;
    };
    const auto users = valueOption("users", "load: virtual users.", "1");
    const auto sessionsPerUser = valueOption("sessions-per-user", "load: chat sockets per user.", "1");
    const auto thinkMs = valueOption("think-ms", "load: pause after a turn ends before the next chat.", "0");
    const auto intervalMs = valueOption("interval-ms", "load: start a turn every N ms per user (start to start) instead.", "0");
    const auto durationS = valueOption("duration-s", "load: length of the measured phase (0: one burst).", "0");
    const auto rounds = valueOption("rounds", "load --duration-s 0: bursts, one after the other.", "1");
    const auto rampS = valueOption("ramp-s", "load: spread the sessions' first turns over this long.", "0");
    const auto text = valueOption("text", "load: what every user says.", nullptr, "TEXT");
    const auto stopFraction = valueOption("stop-fraction", "load: share of turns that --stop-after-ms stops (0..1).", "1", "F");
    const auto fake = valueOption("fake", "load: the fake upstream's URL: measure the baseline against it first.", nullptr, "URL");
    const auto baselineS = valueOption("baseline-s", "load: length of the steady baseline.", "10");
    const QCommandLineOption noEarlyCut(QStringLiteral("no-early-cut"), QStringLiteral("load: the server runs with chat.early_first_clause=false."));
    const QCommandLineOption idle(QStringLiteral("idle"), QStringLiteral("load: open the sessions and hold them --hold-s; no chats."));
    const QCommandLineOption noWarmup(QStringLiteral("no-warmup"), QStringLiteral("load: measure from the first turn (cold connection pools)."));
    parser.addOptions({noEarlyCut, idle, noWarmup});
    const auto holdS = valueOption("hold-s", "load --idle: how long to hold the sessions.", "5");
    const auto loginRate = valueOption("login-rate", "load: logins per second during the run (own accounts).", "0");
    const auto loginUsers = valueOption("login-users", "load: accounts the logins use.", "20");
    const auto historyRate = valueOption("history-rate", "load: GET /me/history per second during the run.", "0");
    const auto samplePid = valueOption("sample-pid", "load: server PID whose /proc is sampled.", "0", "PID");
    const auto sampleMs = valueOption("sample-ms", "load: sampling period.", "10000");
    const auto prefix = valueOption("prefix", "load: account name prefix (default unique per run).", nullptr, "NAME");
    const auto setupConcurrency = valueOption("setup-concurrency", "load: registrations, logins and socket opens in flight.", "64");
    const auto jsonFile = valueOption("json-file", "load: also write the result JSON here (same as load --json FILE).", nullptr, "FILE");
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("register | login | chat TEXT | repl | load"));
    parser.addPositionalArgument(QStringLiteral("text"), QStringLiteral("The message (chat)."), QStringLiteral("[TEXT...]"));

    if (!parser.parse(QCoreApplication::arguments()))
        return usage(parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        const QByteArray text = parser.helpText().toUtf8();
        std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
        return kExitOk;
    }
    if (parser.isSet(QStringLiteral("version"))) {
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

    if (o.command == QLatin1String("register") || o.command == QLatin1String("login")) {
        if (o.user.isEmpty())
            return usage(QStringLiteral("%1 needs --user").arg(o.command));
        if (o.password.isEmpty())
            return usage(QStringLiteral("%1 needs a password: --password or TIANYI_CLI_PASSWORD").arg(o.command));
        if (!args.isEmpty())
            return usage(QStringLiteral("%1 takes no text").arg(o.command));
    } else if (o.command == QLatin1String("chat") || o.command == QLatin1String("repl")) {
        if (o.command == QLatin1String("chat") && o.text.trimmed().isEmpty())
            return usage(QStringLiteral("chat needs the TEXT to send"));
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
