// What her built-in voice actually says, read as phonemes from espeak-ng itself: Chinese sentences are
// spoken as Mandarin (tone contours on every syllable), never through English words, and English ones
// as English. The audio of a wrong voice is still "audio": only the phonemes show the difference.
#include "core/workerpool.h"
#include "upstream/espeaktts.h"

#include <QRegularExpression>
#include <QtTest>

using namespace tianyi;

class TestEspeakVoice : public QObject
{
    Q_OBJECT
private slots:
    void chineseIsSpokenAsMandarin_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("greeting") << QStringLiteral("你好，天依！");
        QTest::newRow("self-introduction") << QStringLiteral("我是洛天依，今天也要开心哦。");
        QTest::newRow("numbers and names") << QStringLiteral("我的生日是七月十二日，住在上海。");
        QTest::newRow("question") << QStringLiteral("你想听我唱歌吗？");
    }
    void chineseIsSpokenAsMandarin()
    {
        QFETCH(QString, text);
        WorkerPool workers(1, 8);
        EspeakTtsProvider tts(&workers);
        QString error;
        QVERIFY2(tts.initialize(&error), qPrintable(error));
        QVERIFY(tts.hasMandarin());
        const QString phonemes = tts.phonemes(text, QStringLiteral("zh"));
        QVERIFY2(!phonemes.isEmpty(), "espeak-ng gave no phonemes");
        // A switch to English ("(en)") inside a sentence of Hanzi means syllables read as English words.
        QVERIFY2(!phonemes.contains(QStringLiteral("(en)")), qPrintable(QStringLiteral("English inside Chinese: ") + phonemes));
        // Every Hanzi syllable carries a Mandarin tone contour (55, 35, 214, 51, 21...).
        const int syllables = int(text.count(QRegularExpression(QStringLiteral("\\p{Han}"))));
        const int tones = int(phonemes.count(QRegularExpression(QStringLiteral("[1-5]{2,3}"))));
        QVERIFY2(tones >= syllables, qPrintable(QStringLiteral("%1 tones for %2 syllables: %3").arg(tones).arg(syllables).arg(phonemes)));
    }

    void englishIsSpokenAsEnglish()
    {
        WorkerPool workers(1, 8);
        EspeakTtsProvider tts(&workers);
        QString error;
        QVERIFY2(tts.initialize(&error), qPrintable(error));
        const QString phonemes = tts.phonemes(QStringLiteral("Nice to meet you."), QStringLiteral("en"));
        QVERIFY2(phonemes.contains(QStringLiteral("n'aIs")), qPrintable(phonemes));
        QVERIFY2(!phonemes.contains(QRegularExpression(QStringLiteral("[1-5]{2,3}"))), qPrintable(phonemes));
    }
};

QTEST_GUILESS_MAIN(TestEspeakVoice)
#include "tst_espeakvoice.moc"
