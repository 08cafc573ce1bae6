// tianyi-cli: a command-line client of the tianyi server (test client and smoke-test tool).
#include "clisession.h"

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
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("register | login | chat TEXT | repl"));
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
    } else {
        return usage(QStringLiteral("unknown command \"%1\"").arg(o.command));
    }

    CliSession session(o);
    QTimer::singleShot(0, &session, &CliSession::start);
    return app.exec();
}
