// Emotion tags leave the text stream, however the deltas cut them.
#include "tianyi/emotiontagparser.h"

#include <QtTest>

using namespace tianyi;

namespace {
const QStringList kLabels{QStringLiteral("开心"), QStringLiteral("生气"), QStringLiteral("悲伤"), QStringLiteral("惊讶"),
                          QStringLiteral("撒娇"), QStringLiteral("平静")};

// Renders pieces as "text" with emotions as <label>, merging adjacent text.
QString render(const QVector<EmotionTagPiece> &pieces)
{
    QString out;
    for (const auto &p : pieces)
        out += p.kind == EmotionTagPiece::Kind::Emotion ? QStringLiteral("<%1>").arg(p.text) : p.text;
    return out;
}

QString runSplit(const QString &input, const QList<int> &cuts)
{
    EmotionTagParser parser(kLabels);
    QVector<EmotionTagPiece> all;
    int from = 0;
    for (int cut : cuts) {
        all += parser.feed(input.mid(from, cut - from));
        from = cut;
    }
    all += parser.feed(input.mid(from));
    all += parser.finish();
    return render(all);
}
} // namespace

class TestEmotionTagParser : public QObject
{
    Q_OBJECT
private slots:
    void parses_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::newRow("leading tag") << QStringLiteral("[开心]你好呀！") << QStringLiteral("<开心>你好呀！");
        QTest::newRow("two tags") << QStringLiteral("[开心]好的。[悲伤]可是……") << QStringLiteral("<开心>好的。<悲伤>可是……");
        QTest::newRow("full-width brackets") << QStringLiteral("【惊讶】真的吗？") << QStringLiteral("<惊讶>真的吗？");
        QTest::newRow("unknown label stays text") << QStringLiteral("[注]这是注释") << QStringLiteral("[注]这是注释");
        QTest::newRow("long aside stays text") << QStringLiteral("see [the manual] please") << QStringLiteral("see [the manual] please");
        QTest::newRow("unclosed at end stays text") << QStringLiteral("好的[开") << QStringLiteral("好的[开");
        QTest::newRow("spaces inside tag") << QStringLiteral("[ 平静 ]嗯。") << QStringLiteral("<平静>嗯。");
        QTest::newRow("no tags") << QStringLiteral("Hello there.") << QStringLiteral("Hello there.");
    }
    void parses()
    {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        QCOMPARE(runSplit(input, {}), expected);
    }

    void everySplitPointGivesTheSameResult()
    {
        const QString input = QStringLiteral("[开心]今天[撒娇]陪我唱歌嘛[x]！【平静】好。");
        const QString expected = runSplit(input, {});
        QCOMPARE(expected, QStringLiteral("<开心>今天<撒娇>陪我唱歌嘛[x]！<平静>好。"));
        for (int a = 1; a < input.size(); ++a)
            for (int b = a; b < input.size(); ++b)
                QCOMPARE(runSplit(input, {a, b}), expected);
    }

    void textBeforeAPossibleTagIsNotHeldBack()
    {
        EmotionTagParser parser(kLabels);
        const auto pieces = parser.feed(QStringLiteral("你好[开"));
        QCOMPARE(render(pieces), QStringLiteral("你好")); // "[开" waits, "你好" does not
        QCOMPARE(render(parser.feed(QStringLiteral("心]"))), QStringLiteral("<开心>"));
    }
};

QTEST_GUILESS_MAIN(TestEmotionTagParser)
#include "tst_emotiontagparser.moc"
