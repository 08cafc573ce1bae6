// Sentence segmentation: the table of cases, and streaming gives what one piece gives.
#include "tianyi/sentencesegmenter.h"

#include <QtTest>

using namespace tianyi;

namespace {
QStringList segmentAll(const QString &text, SegmenterOptions options, int chunk = 0)
{
    SentenceSegmenter s(options);
    QStringList out;
    if (chunk <= 0) {
        out += s.feed(text);
    } else {
        for (int i = 0; i < text.size(); i += chunk)
            out += s.feed(text.mid(i, chunk));
    }
    out += s.finish();
    return out;
}

SegmenterOptions noEarlyCut()
{
    SegmenterOptions o;
    o.earlyFirstClause = false;
    return o;
}
} // namespace

class TestSentenceSegmenter : public QObject
{
    Q_OBJECT
private slots:
    void cases_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("chinese") << QStringLiteral("你好。我是洛天依！你呢？") << QStringList{QStringLiteral("你好。"), QStringLiteral("我是洛天依！"), QStringLiteral("你呢？")};
        QTest::newRow("english") << QStringLiteral("Hello there. How are you? Fine!") << QStringList{QStringLiteral("Hello there."), QStringLiteral("How are you?"), QStringLiteral("Fine!")};
        QTest::newRow("decimal") << QStringLiteral("Pi is 3.14 roughly. Yes.") << QStringList{QStringLiteral("Pi is 3.14 roughly."), QStringLiteral("Yes.")};
        QTest::newRow("chinese decimal") << QStringLiteral("圆周率约是3.14。对吧？") << QStringList{QStringLiteral("圆周率约是3.14。"), QStringLiteral("对吧？")};
        QTest::newRow("chinese ellipsis") << QStringLiteral("我想想……好吧。") << QStringList{QStringLiteral("我想想……"), QStringLiteral("好吧。")};
        QTest::newRow("ascii ellipsis") << QStringLiteral("Well... maybe.") << QStringList{QStringLiteral("Well..."), QStringLiteral("maybe.")};
        QTest::newRow("closing quote") << QStringLiteral("她说：“你好。”然后走了。") << QStringList{QStringLiteral("她说：“你好。”"), QStringLiteral("然后走了。")};
        QTest::newRow("closing bracket") << QStringLiteral("（真的吗？）当然。") << QStringList{QStringLiteral("（真的吗？）"), QStringLiteral("当然。")};
        QTest::newRow("repeated marks") << QStringLiteral("太好了！！真的吗？！") << QStringList{QStringLiteral("太好了！！"), QStringLiteral("真的吗？！")};
        QTest::newRow("newline") << QStringLiteral("第一行\n第二行") << QStringList{QStringLiteral("第一行"), QStringLiteral("第二行")};
        QTest::newRow("no terminator") << QStringLiteral("没有句号") << QStringList{QStringLiteral("没有句号")};
        QTest::newRow("punctuation only dropped") << QStringLiteral("……") << QStringList{};
        QTest::newRow("domain not cut") << QStringLiteral("Visit example.com today. Bye.") << QStringList{QStringLiteral("Visit example.com today."), QStringLiteral("Bye.")};
    }
    void cases()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, expected);
        QCOMPARE(segmentAll(text, noEarlyCut()), expected);
        // Streaming one character at a time gives the same sentences.
        QCOMPARE(segmentAll(text, noEarlyCut(), 1), expected);
    }

    void firstClauseIsCutEarly()
    {
        const QString text = QStringLiteral("嗯嗯，今天天气真好，我们去唱歌吧。好呀，走吧。");
        const QStringList withCut = segmentAll(text, SegmenterOptions{}, 1);
        QCOMPARE(withCut.first(), QStringLiteral("嗯嗯，今天天气真好，")); // needs 4 characters before the comma
        QCOMPARE(withCut.at(1), QStringLiteral("我们去唱歌吧。"));
        QCOMPARE(withCut.at(2), QStringLiteral("好呀，走吧。")); // only the first sentence is cut early
        QCOMPARE(segmentAll(text, noEarlyCut()).first(), QStringLiteral("嗯嗯，今天天气真好，我们去唱歌吧。"));
    }

    void thousandsSeparatorIsNotAClause()
    {
        QCOMPARE(segmentAll(QStringLiteral("It costs 1,000 yuan, sadly. OK."), SegmenterOptions{}, 1).first(),
                 QStringLiteral("It costs 1,000 yuan,"));
    }

    void overLongRunIsCutAtASafePoint()
    {
        SegmenterOptions o = noEarlyCut();
        o.maxSentenceChars = 20;
        const QString text = QStringLiteral("这是一个非常非常长的句子，它没有句号而且一直在继续继续继续继续继续");
        const QStringList out = segmentAll(text, o, 3);
        QVERIFY(out.size() >= 2);
        QCOMPARE(out.first(), QStringLiteral("这是一个非常非常长的句子，"));
        QCOMPARE(out.join(QString()), text);
        for (const QString &s : out)
            QVERIFY2(s.size() <= 20, qPrintable(s));
    }

    void overLongRunWithoutSafePointIsCutAtTheLimit()
    {
        SegmenterOptions o = noEarlyCut();
        o.maxSentenceChars = 10;
        const QString text(25, QChar(0x554A)); // 啊 x 25
        const QStringList out = segmentAll(text, o, 4);
        QCOMPARE(out.size(), 3);
        QCOMPARE(out.first().size(), 10);
    }

    void surrogatePairsAreNeverSplit()
    {
        SegmenterOptions o = noEarlyCut();
        o.maxSentenceChars = 3;
        QString text;
        for (int i = 0; i < 7; ++i)
            text += QString::fromUcs4(U"\U00020000"); // a CJK Extension B letter: two UTF-16 units
        const QStringList out = segmentAll(text, o, 1);
        QVERIFY(out.size() >= 2);
        QCOMPARE(out.join(QString()), text);
        for (const QString &s : out)
            QVERIFY(!s.back().isHighSurrogate());
    }
};

QTEST_GUILESS_MAIN(TestSentenceSegmenter)
#include "tst_sentencesegmenter.moc"
