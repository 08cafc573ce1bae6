// tianyi-admin: the operator console of a tianyi server. Everything lives in
// tianyi_admin_core (admin-gui/src); this file only wires the real implementations together.
#include "audioplayer.h"
#include "connectdialog.h"
#include "console.h"
#include "credentialstore.h"
#include "languagemanager.h"
#include "mainwindow.h"
#include "screenshottour.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QLineEdit>
#include <QSettings>
#include <memory>

using namespace tianyi::admin;

namespace {

void nameTheApplication()
{
    QCoreApplication::setOrganizationName(QStringLiteral("tianyi"));
    QCoreApplication::setApplicationName(QStringLiteral("tianyi-admin"));
    QCoreApplication::setApplicationVersion(QStringLiteral("0.1.0"));
}

// --help and --version print and exit: they must work where there is no display (ssh, CI), and
// QApplication aborts without one. They are answered under a QCoreApplication before it exists.
bool asksForHelpOrVersion(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == "--")
            break;
        if (arg == "-h" || arg == "--help" || arg == "--help-all" || arg == "-?" || arg == "-v" || arg == "--version")
            return true;
    }
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    std::unique_ptr<QCoreApplication> app;
    if (asksForHelpOrVersion(argc, argv))
        app = std::make_unique<QCoreApplication>(argc, argv);
    else
        app = std::make_unique<QApplication>(argc, argv);
    nameTheApplication();
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Operator console of a tianyi server: live sessions, queues, turns with audio, users.\n"
        "The password comes from the connect dialog, the system keychain, or TIANYI_ADMIN_PASSWORD."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption server(QStringLiteral("server"), QStringLiteral("Server base URL to fill in."), QStringLiteral("URL"));
    const QCommandLineOption user(QStringLiteral("user"), QStringLiteral("Admin username to fill in."), QStringLiteral("NAME"));
    const QCommandLineOption connectNow(QStringLiteral("connect"), QStringLiteral("Connect at once (needs a password)."));
    const QCommandLineOption noKeychain(QStringLiteral("no-keychain"), QStringLiteral("Keep passwords in memory only."));
    const QCommandLineOption language(QStringLiteral("language"), QStringLiteral("en or zh_CN (default: the saved choice, else the system's)."),
                                      QStringLiteral("CODE"));
    const QCommandLineOption settingsFile(QStringLiteral("settings"), QStringLiteral("Use this settings file instead of the user's."),
                                          QStringLiteral("FILE"));
    const QCommandLineOption screenshots(QStringLiteral("screenshots"),
                                         QStringLiteral("Connect, save a PNG of every view into DIR once it shows data, and exit."),
                                         QStringLiteral("DIR"));
    parser.addOptions({server, user, connectNow, noKeychain, language, settingsFile, screenshots});
    parser.process(*app); // with --help or --version this prints and exits

    std::unique_ptr<QSettings> settings = parser.isSet(settingsFile)
                                              ? std::make_unique<QSettings>(parser.value(settingsFile), QSettings::IniFormat)
                                              : std::make_unique<QSettings>();
    std::unique_ptr<CredentialStore> credentials;
    if (parser.isSet(noKeychain) || parser.isSet(screenshots))
        credentials = std::make_unique<MemoryCredentialStore>();
    else
        credentials = std::make_unique<KeychainCredentialStore>();

    LanguageManager languages;
    languages.setLanguage(parser.isSet(language) ? parser.value(language) : settings->value(QStringLiteral("ui/language")).toString());

    Console console;
    QtAudioPlayer player; // QMediaDevices::audioOutputs(); none: playback disabled with a message
    MainWindow window(console, *credentials, *settings, player, languages);
    window.show();

    if (parser.isSet(server))
        settings->setValue(QStringLiteral("connection/server"), parser.value(server));
    if (parser.isSet(user))
        settings->setValue(QStringLiteral("connection/username"), parser.value(user));
    const QString password = qEnvironmentVariable("TIANYI_ADMIN_PASSWORD");

    std::unique_ptr<ScreenshotTour> tour;
    if (parser.isSet(screenshots)) {
        tour = std::make_unique<ScreenshotTour>(window, console, languages, parser.value(screenshots));
        QObject::connect(tour.get(), &ScreenshotTour::done, app.get(), &QCoreApplication::exit);
        tour->start(password);
    } else {
        window.showConnectDialog();
        if (!password.isEmpty())
            window.connectDialog()->passwordEdit()->setText(password);
        if (parser.isSet(connectNow))
            window.connectDialog()->attempt();
    }
    return QCoreApplication::exec();
}
