// Logging: secrets never reach a log line; JSON lines carry the correlation id.
#include "base/logging.h"

#include <QtTest>

using namespace tianyi;

class TestLogging : public QObject
{
    Q_OBJECT
private slots:
    void secretsAreMasked_data()
    {
        QTest::addColumn<QString>("line");
        QTest::addColumn<QString>("secret");
        QTest::newRow("bearer header") << QStringLiteral("Authorization: Bearer sk-abc123DEF") << QStringLiteral("sk-abc123DEF");
        QTest::newRow("jwt anywhere") << QStringLiteral("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl seen")
                                     << QStringLiteral("eyJzdWIiOiIxIn0");
        QTest::newRow("query token") << QStringLiteral("GET /ws?token=abcdef123&audio=json") << QStringLiteral("abcdef123");
        QTest::newRow("form password") << QStringLiteral("body grant_type=password&username=a&password=hunter22") << QStringLiteral("hunter22");
        QTest::newRow("json password") << QStringLiteral(R"({"username":"a","password":"hunter22"})") << QStringLiteral("hunter22");
        QTest::newRow("json refresh token") << QStringLiteral(R"({"refresh_token":"r3fr3sh"})") << QStringLiteral("r3fr3sh");
        QTest::newRow("api key") << QStringLiteral("url http://x/v1?api_key=k3y") << QStringLiteral("k3y");
    }
    void secretsAreMasked()
    {
        QFETCH(QString, line);
        QFETCH(QString, secret);
        const QString out = redactSecrets(line);
        QVERIFY2(!out.contains(secret), qPrintable(out));
        QVERIFY(out.contains(QStringLiteral("redacted")));
    }

    void ordinaryTextIsUntouched()
    {
        const QString line = QStringLiteral("listening on http://127.0.0.1:8080 (limits: max_body_bytes=1048576)");
        QCOMPARE(redactSecrets(line), line);
    }

    void correlationScopesNest()
    {
        QVERIFY(CorrelationScope::current().isEmpty());
        {
            CorrelationScope outer(QStringLiteral("r1"));
            {
                CorrelationScope inner(QStringLiteral("7#s1#3"));
                QCOMPARE(CorrelationScope::current(), QStringLiteral("7#s1#3"));
            }
            QCOMPARE(CorrelationScope::current(), QStringLiteral("r1"));
        }
        QVERIFY(CorrelationScope::current().isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestLogging)
#include "tst_logging.moc"
