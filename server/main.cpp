// tianyi-server: parses the command line, loads the configuration and runs the Application.

#include "app/application.h"
#include "base/config.h"
#include "base/logging.h"
#include "app/signalwatcher.h"
#include "auth/accountservice.h"
#include "core/workerpool.h"
#include "history/audiostore.h"
#include "metrics/metrics.h"
#include "storage/database.h"
#include "storage/databasebackup.h"
#include "storage/databaserestore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTextStream>
#include <QTimer>
#include <QProcessEnvironment>
#include <cstdio>

using namespace tianyi;

namespace {

void printErr(const QString &text)
{
    std::fprintf(stderr, "%s\n", qPrintable(text));
}

// --create-admin NAME: creates an admin account, or makes an existing user admin with a new
// password (and enables it). Runs the same AccountService as the server, without listening.
int createAdmin(QCoreApplication &app, const Config &config, const QString &username)
{
    QString password = QProcessEnvironment::systemEnvironment().value(QStringLiteral("TIANYI_ADMIN_PASSWORD"));
    if (password.isEmpty()) {
        QTextStream in(stdin);
        password = in.readLine(); // first line only; never echoed or logged
        if (password.endsWith(QLatin1Char('\r')))
            password.chop(1);
    }
    if (password.isEmpty()) {
        printErr(QStringLiteral("tianyi-server: --create-admin needs a password in TIANYI_ADMIN_PASSWORD or on the first line of stdin"));
        return 1;
    }
    const QString dataDir = QDir(config.server.dataDir).absolutePath();
    if (!QDir().mkpath(dataDir)) {
        printErr(QStringLiteral("tianyi-server: server.data_dir: cannot create %1").arg(dataDir));
        return 1;
    }
    QFile::setPermissions(dataDir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);

    // Declaration order = reverse destruction order: the service goes before the pool and the database.
    Metrics metrics;
    WorkerPool workers(1, 4);
    Database database(config.sqlitePath(), config.storage.busyTimeoutMs);
    QString error;
    if (!database.open(&error)) {
        printErr(QStringLiteral("tianyi-server: %1").arg(error));
        return 1;
    }
    std::unique_ptr<AccountService> accounts = AccountService::create(config, database, workers, metrics, &error);
    if (!accounts) {
        printErr(QStringLiteral("tianyi-server: %1").arg(error));
        return 1;
    }
    int exitCode = 1;
    // Started from inside the loop, so an immediate answer (e.g. a weak password) can still quit it.
    QTimer::singleShot(0, &app, [&]() {
        accounts->createAdmin(username, password, [&](Outcome<AccountService::AdminResult> result) {
            if (!result.ok()) {
                printErr(QStringLiteral("tianyi-server: cannot create admin \"%1\": %2").arg(username, result.error().message));
            } else if (result.value().created) {
                std::fprintf(stdout, "Created admin user \"%s\" (id %lld).\n", qPrintable(username), qlonglong(result.value().userId));
                exitCode = 0;
            } else {
                std::fprintf(stdout, "User \"%s\" (id %lld) is now an admin: password set, account enabled, old sessions revoked.\n",
                             qPrintable(username), qlonglong(result.value().userId));
                exitCode = 0;
            }
            std::fflush(stdout);
            app.exit(exitCode);
        });
    });
    app.exec();
    workers.waitForDone();
    accounts.reset();
    database.close();
    return exitCode;
}

// --backup FILE: a consistent copy while a server may be running (storage/databasebackup.h).
int backupTo(const Config &config, const QString &target, bool force)
{
    const BackupReport report = DatabaseBackup::run({config.sqlitePath(), AudioStore::rootFor(config.server.dataDir), target, force});
    if (!report.ok) {
        printErr(QStringLiteral("tianyi-server: backup failed: %1").arg(report.error));
        return 1;
    }
    std::fprintf(stdout, "Backup written to %s in %.2f s: %s.\n", qPrintable(QFileInfo(target).absoluteFilePath()),
                 double(report.elapsedMs) / 1000.0, qPrintable(report.contents.describe()));
    std::fprintf(stdout, "Copied in %d steps of %d pages; longest step %lld ms; %d busy retries.\n", report.steps,
                 DatabaseBackup::kPagesPerStep, qlonglong(report.longestStepMs), report.busyRetries);
    return 0;
}

// --restore FILE: replaces the database (and audio) of a stopped server (storage/databaserestore.h).
int restoreFrom(const Config &config, const QString &source)
{
    const RestoreReport report = DatabaseRestore::run({config.sqlitePath(), AudioStore::rootFor(config.server.dataDir), source});
    if (!report.ok) {
        printErr(QStringLiteral("tianyi-server: restore refused: %1").arg(report.error));
        return 1;
    }
    std::fprintf(stdout, "Restored %s into %s: %s.\n", qPrintable(source), qPrintable(config.sqlitePath()), qPrintable(report.contents.describe()));
    if (!report.keptDatabase.isEmpty())
        std::fprintf(stdout, "The previous database is kept as %s.\n", qPrintable(report.keptDatabase));
    if (!report.keptAudio.isEmpty())
        std::fprintf(stdout, "The previous audio is kept as %s.\n", qPrintable(report.keptAudio));
    if (!report.audioRestored)
        std::fprintf(stdout, "The backup is a bare database file: the audio directory was left as it is.\n");
    std::fprintf(stdout, "The JWT secret and the configuration are unchanged. Start the server to apply any schema migrations.\n");
    return 0;
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
    const QCommandLineOption backupOpt(QStringLiteral("backup"),
                                       QStringLiteral("Write a consistent backup (a directory: database + audio) to PATH and exit; safe while a server runs."),
                                       QStringLiteral("PATH"));
    const QCommandLineOption forceOpt(QStringLiteral("force"), QStringLiteral("With --backup: replace an existing PATH."));
    const QCommandLineOption restoreOpt(QStringLiteral("restore"),
                                        QStringLiteral("Replace the database (and audio) with the backup at PATH and exit; the server must be stopped. "
                                                       "The current files are kept aside."),
                                        QStringLiteral("PATH"));
    parser.addOptions({portOpt, dataDirOpt, configOpt, printConfigOpt, printReferenceOpt, logFormatOpt, createAdminOpt, backupOpt, forceOpt,
                       restoreOpt});
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
    for (const QString &warning : loaded.warnings)
        printErr(QStringLiteral("tianyi-server: warning: %1").arg(warning));
    if (parser.isSet(printConfigOpt)) {
        std::fputs(renderConfig(config).toUtf8().constData(), stdout);
        return 0;
    }

    installLogHandler(config.log.format == QLatin1String("json") ? LogFormat::Json : LogFormat::Text);
    QLoggingCategory::setFilterRules(config.log.filterRules());

    if (parser.isSet(createAdminOpt))
        return createAdmin(app, config, parser.value(createAdminOpt));
    if (parser.isSet(backupOpt) && parser.isSet(restoreOpt)) {
        printErr(QStringLiteral("tianyi-server: --backup and --restore exclude each other"));
        return 2;
    }
    if (parser.isSet(backupOpt))
        return backupTo(config, parser.value(backupOpt), parser.isSet(forceOpt));
    if (parser.isSet(restoreOpt))
        return restoreFrom(config, parser.value(restoreOpt));

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
