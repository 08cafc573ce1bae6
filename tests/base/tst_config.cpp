// Configuration: defaults, file, environment precedence, and errors that name the key.
#include "base/config.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace tianyi;

class TestConfig : public QObject
{
    Q_OBJECT

    QString writeFile(QTemporaryDir &dir, const QByteArray &text)
    {
        const QString path = dir.filePath(QStringLiteral("tianyi.conf"));
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return path;
    }

private slots:
    void defaultsNeedNoFile()
    {
        const ConfigLoadResult r = loadConfig({}, {});
        QVERIFY2(r.config.has_value(), qPrintable(r.error));
        QCOMPARE(r.config->server.port, 8080);
        QVERIFY(r.config->llm.baseUrl.isEmpty()); // built-in demo responder by default
    }

    void environmentOverridesFile()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, "[server]\nport = 9000\n[llm]\nbase_url = http://file.example/v1\n");
        const ConfigLoadResult r = loadConfig(path, {QStringLiteral("TIANYI_LLM_BASE_URL=http://127.0.0.1:1234/v1")});
        QVERIFY2(r.config.has_value(), qPrintable(r.error));
        QCOMPARE(r.config->server.port, 9000);
        QCOMPARE(r.config->llm.baseUrl, QStringLiteral("http://127.0.0.1:1234/v1"));
    }

    void badValuesNameTheKey_data()
    {
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("key");
        QTest::newRow("port not a number") << QStringList{QStringLiteral("TIANYI_SERVER_PORT=eighty")} << QStringLiteral("server.port");
        QTest::newRow("port out of range") << QStringList{QStringLiteral("TIANYI_SERVER_PORT=70000")} << QStringLiteral("server.port");
        QTest::newRow("bad url") << QStringList{QStringLiteral("TIANYI_LLM_BASE_URL=ftp://x")} << QStringLiteral("llm.base_url");
        QTest::newRow("bad log format") << QStringList{QStringLiteral("TIANYI_LOG_FORMAT=xml")} << QStringLiteral("log.format");
        QTest::newRow("short jwt secret") << QStringList{QStringLiteral("TIANYI_AUTH_JWT_SECRET=short")} << QStringLiteral("auth.jwt_secret");
        QTest::newRow("bad bool") << QStringList{QStringLiteral("TIANYI_TTS_STREAMING=maybe")} << QStringLiteral("tts.streaming");
        QTest::newRow("min above max") << QStringList{QStringLiteral("TIANYI_AUTH_USERNAME_MIN_LENGTH=40")} << QStringLiteral("auth.username_min_length");
        const QString dir = QStringLiteral(TIANYI_SOURCE_DIR "/resources");
        QTest::newRow("olv path taken by the chat socket") << QStringList{QStringLiteral("TIANYI_COMPAT_OLV_ENABLED=true"), QStringLiteral("TIANYI_COMPAT_OLV_PATH=/ws")}
                                                           << QStringLiteral("compat.olv_path");
        QTest::newRow("olv path under the api") << QStringList{QStringLiteral("TIANYI_COMPAT_OLV_ENABLED=true"), QStringLiteral("TIANYI_COMPAT_OLV_PATH=/api/v1/x")}
                                                << QStringLiteral("compat.olv_path");
        QTest::newRow("olv path with dot segments") << QStringList{QStringLiteral("TIANYI_COMPAT_OLV_ENABLED=true"), QStringLiteral("TIANYI_COMPAT_OLV_PATH=/a/../ws")}
                                                    << QStringLiteral("compat.olv_path");
        QTest::newRow("live2d model without dir") << QStringList{QStringLiteral("TIANYI_WEB_LIVE2D_MODEL=m.model3.json")} << QStringLiteral("web.live2d_model");
        QTest::newRow("live2d dir missing") << QStringList{QStringLiteral("TIANYI_WEB_LIVE2D_DIR=/nonexistent/live2d")} << QStringLiteral("web.live2d_dir");
        QTest::newRow("live2d model missing") << QStringList{QStringLiteral("TIANYI_WEB_LIVE2D_DIR=") + dir, QStringLiteral("TIANYI_WEB_LIVE2D_MODEL=no.model3.json")}
                                              << QStringLiteral("web.live2d_model");
        QTest::newRow("live2d model outside its dir") << QStringList{QStringLiteral("TIANYI_WEB_LIVE2D_DIR=") + dir, QStringLiteral("TIANYI_WEB_LIVE2D_MODEL=../CMakeLists.txt")}
                                                      << QStringLiteral("web.live2d_model");
    }
    void badValuesNameTheKey()
    {
        QFETCH(QStringList, env);
        QFETCH(QString, key);
        const ConfigLoadResult r = loadConfig({}, env);
        QVERIFY(!r.config.has_value());
        QVERIFY2(r.error.contains(key), qPrintable(r.error));
    }

    void live2dModelInsideItsDirIsAccepted()
    {
        const QString dir = QStringLiteral(TIANYI_SOURCE_DIR "/resources");
        const ConfigLoadResult r = loadConfig({}, {QStringLiteral("TIANYI_WEB_LIVE2D_DIR=") + dir,
                                                   QStringLiteral("TIANYI_WEB_LIVE2D_MODEL=personas/luotianyi.json")});
        QVERIFY2(r.config.has_value(), qPrintable(r.error));
        QCOMPARE(r.config->web.live2dModel, QStringLiteral("personas/luotianyi.json"));
    }

    void unknownEnvironmentVariablesAreWarningsNamingTheClosestKey()
    {
        const ConfigLoadResult r = loadConfig({}, {QStringLiteral("TIANYI_LLM_BASEURL=http://x"), QStringLiteral("TIANYI_CLI_PASSWORD=x"),
                                                   QStringLiteral("OTHER_VARIABLE=1"), QStringLiteral("TIANYI_ZZZZZZZZZZZZZZZZZZZZZZZZZZ=1")});
        QVERIFY(r.config);
        QCOMPARE(r.warnings.size(), 2); // not the other program's variable, not a non-TIANYI one
        QVERIFY2(r.warnings.at(0).contains(QStringLiteral("did you mean TIANYI_LLM_BASE_URL?")), qPrintable(r.warnings.at(0)));
        QVERIFY2(!r.warnings.at(1).contains(QStringLiteral("did you mean")), qPrintable(r.warnings.at(1))); // nothing close
    }

    void logLevelComesBeforeExplicitRules()
    {
        LogSettings log;
        QCOMPARE(log.filterRules(), QStringLiteral("tianyi.*.debug=false"));
        log.level = QStringLiteral("debug");
        log.rules = QStringLiteral("tianyi.db.debug=false;tianyi.http.info=false");
        QCOMPARE(log.filterRules(), QStringLiteral("tianyi.*.debug=true\ntianyi.db.debug=false\ntianyi.http.info=false"));
    }

    void unknownFileKeyIsAnError()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, "[server]\nprot = 9000\n");
        const ConfigLoadResult r = loadConfig(path, {});
        QVERIFY(!r.config.has_value());
        QVERIFY2(r.error.contains(QStringLiteral("server.prot")) && r.error.contains(QStringLiteral(":2")), qPrintable(r.error));
    }

    void missingFileIsAnError()
    {
        const ConfigLoadResult r = loadConfig(QStringLiteral("/nonexistent/tianyi.conf"), {});
        QVERIFY(!r.config.has_value());
        QVERIFY(r.error.contains(QStringLiteral("/nonexistent/tianyi.conf")));
    }

    void printedConfigHidesSecretsAndLoadsBack()
    {
        const ConfigLoadResult r = loadConfig({}, {QStringLiteral("TIANYI_LLM_API_KEY=sk-very-secret"), QStringLiteral("TIANYI_SERVER_PORT=9123")});
        QVERIFY(r.config.has_value());
        const QString printed = renderConfig(*r.config);
        QVERIFY(!printed.contains(QStringLiteral("sk-very-secret")));
        QVERIFY(printed.contains(QStringLiteral("api_key = <set>")));
        // Everything but the secret placeholders reads back as the same configuration.
        QTemporaryDir dir;
        QString reloadable = printed;
        reloadable.replace(QStringLiteral("= <set>"), QStringLiteral("= "));
        const QString path = writeFile(dir, reloadable.toUtf8());
        const ConfigLoadResult again = loadConfig(path, {});
        QVERIFY2(again.config.has_value(), qPrintable(again.error));
        QCOMPARE(again.config->server.port, 9123);
    }

    void referenceDocumentsEveryKeyAndEnvName()
    {
        const QString ref = renderConfigReference();
        for (const ConfigKey &k : configKeys()) {
            QVERIFY2(ref.contains(QStringLiteral("`%1`").arg(k.name)), qPrintable(k.name));
            QVERIFY2(ref.contains(k.envName()), qPrintable(k.envName()));
        }
        QCOMPARE(configKeys().front().envName(), QStringLiteral("TIANYI_SERVER_LISTEN_ADDRESS"));
    }

    void docsListEveryKey()
    {
        // docs/configuration.md must not rot: every key of the table appears in it.
        QFile doc(QStringLiteral(TIANYI_SOURCE_DIR "/docs/configuration.md"));
        QVERIFY2(doc.open(QIODevice::ReadOnly), "docs/configuration.md is missing");
        const QString text = QString::fromUtf8(doc.readAll());
        for (const ConfigKey &k : configKeys())
            QVERIFY2(text.contains(QStringLiteral("`%1`").arg(k.name)), qPrintable(QStringLiteral("docs/configuration.md lacks ") + k.name));
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
