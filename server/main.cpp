// tianyi-server: parses the command line, loads the configuration and runs the Application.

#include "app/application.h"
#include "app/config.h"
#include "app/logging.h"
#include "app/signalwatcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QProcessEnvironment>
#include <cstdio>

using namespace tianyi;

namespace {

void printErr(const QString &text)
{
    std::fprintf(stderr, "%s\n", qPrintable(text));
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tianyi-server"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TIANYI_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("tianyi: talk with an AI character, many people at once."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption portOpt(QStringLiteral("port"), QStringLiteral("Port for HTTP and WebSocket (server.port)."), QStringLiteral("N"));
    const QCommandLineOption dataDirOpt(QStringLiteral("data-dir"), QStringLiteral("Data directory (server.data_dir)."), QStringLiteral("DIR"));
    const QCommandLineOption configOpt(QStringLiteral("config"), QStringLiteral("Configuration file (INI: [section] key = value)."), QStringLiteral("FILE"));
    const QCommandLineOption printConfigOpt(QStringLiteral("print-config"), QStringLiteral("Print the effective configuration and exit."));
    const QCommandLineOption printReferenceOpt(QStringLiteral("print-config-reference"), QStringLiteral("Print the table of every configuration key (Markdown) and exit."));
    const QCommandLineOption logFormatOpt(QStringLiteral("log-format"), QStringLiteral("Log line format: text or json (log.format)."), QStringLiteral("text|json"));
    const QCommandLineOption createAdminOpt(QStringLiteral("create-admin"),
                                            QStringLiteral("Create (or promote) an admin account and exit. Password from TIANYI_ADMIN_PASSWORD or the first line of stdin."),
                                            QStringLiteral("NAME"));
    parser.addOptions({portOpt, dataDirOpt, configOpt, printConfigOpt, printReferenceOpt, logFormatOpt, createAdminOpt});
    parser.process(app);

    if (parser.isSet(printReferenceOpt)) {
        std::fputs(renderConfigReference().toUtf8().constData(), stdout);
        return 0;
    }

    // Command-line flags are the highest layer: they become environment entries after the real ones.
    QStringList environment = QProcessEnvironment::systemEnvironment().toStringList();
    if (parser.isSet(portOpt))
        environment << QStringLiteral("TIANYI_SERVER_PORT=") + parser.value(portOpt);
    if (parser.isSet(dataDirOpt))
        environment << QStringLiteral("TIANYI_SERVER_DATA_DIR=") + parser.value(dataDirOpt);
    if (parser.isSet(logFormatOpt))
        environment << QStringLiteral("TIANYI_LOG_FORMAT=") + parser.value(logFormatOpt);

    const ConfigLoadResult loaded = loadConfig(parser.value(configOpt), environment);
    if (!loaded.config) {
        printErr(QStringLiteral("tianyi-server: configuration error: %1").arg(loaded.error));
        return 2;
    }
    const Config &config = *loaded.config;
    if (parser.isSet(printConfigOpt)) {
        std::fputs(renderConfig(config).toUtf8().constData(), stdout);
        return 0;
    }

    installLogHandler(config.log.format == QLatin1String("json") ? LogFormat::Json : LogFormat::Text);
    if (!config.log.rules.isEmpty())
        QLoggingCategory::setFilterRules(QString(config.log.rules).replace(QLatin1Char(';'), QLatin1Char('\n')));

    Application server(config);
    QString error;
    if (!server.start(&error)) {
        printErr(QStringLiteral("tianyi-server: %1").arg(error));
        return 1;
    }
    std::fprintf(stdout, "tianyi-server is running.\n  Browser: %s/\n  API:     curl %s/healthz\n", qPrintable(server.baseUrl()),
                 qPrintable(server.baseUrl()));
    std::fflush(stdout);

    SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &server, [&server](int sig) {
        qCInfo(lcApp) << "received signal" << sig;
        server.shutdown();
    });
    QObject::connect(&server, &Application::stopped, &app, [&app]() { app.exit(0); });
    return app.exec();
}
