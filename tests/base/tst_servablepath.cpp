// The one rule for "which file under a root does this path name", used by the static files, the
// Live2D folder, audio replay and retention, and --backup / --restore: plain segments only, never
// outside the root.
#include "base/servablepath.h"

#include <QtTest>

using namespace tianyi;

class TestServablePath : public QObject
{
    Q_OBJECT

private slots:
    void fileUnderAcceptsOurLayout()
    {
        QCOMPARE(fileUnder(QStringLiteral("/data/audio"), QStringLiteral("7/123/0.wav")), QStringLiteral("/data/audio/7/123/0.wav"));
    }

    void fileUnderRefusesWhatCouldLeaveTheRoot_data()
    {
        QTest::addColumn<QString>("relative");
        QTest::newRow("empty") << QString();
        QTest::newRow("absolute") << QStringLiteral("/etc/passwd");
        QTest::newRow("parent") << QStringLiteral("../secrets");
        QTest::newRow("parent inside") << QStringLiteral("7/../../x.wav");
        QTest::newRow("backslash") << QStringLiteral("7\\..\\x.wav");
        QTest::newRow("hidden") << QStringLiteral("7/.x/0.wav");
        QTest::newRow("empty segment") << QStringLiteral("7//0.wav");
        QTest::newRow("trailing slash") << QStringLiteral("7/");
    }
    void fileUnderRefusesWhatCouldLeaveTheRoot()
    {
        QFETCH(QString, relative);
        QCOMPARE(fileUnder(QStringLiteral("/data/audio"), relative), QString());
    }

    void staticResourcePathServesIndexForTheRootOnly()
    {
        QCOMPARE(staticResourcePath(QStringLiteral("/web"), QStringLiteral("/")), QStringLiteral("/web/index.html"));
        QCOMPARE(staticResourcePath(QStringLiteral("/web"), QStringLiteral("/js/app.js")), QStringLiteral("/web/js/app.js"));
        QCOMPARE(staticResourcePath(QStringLiteral("/web"), QStringLiteral("/../etc/passwd")), QString());
    }
};

QTEST_GUILESS_MAIN(TestServablePath)
#include "tst_servablepath.moc"
