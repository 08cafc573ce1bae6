// The test audio helpers (tests/support/speechaudio): every listening test trusts their levels,
// durations and the resampler, so they are checked here against independent measures.

#include "speechaudio.h"

#include <QtTest>

#include <cmath>

using namespace tianyi::test;

namespace {

constexpr double kPi = 3.14159265358979323846;

QByteArray sine(int rate, double hz, int ms, double amplitude)
{
    QByteArray out;
    const int n = rate * ms / 1000;
    for (int i = 0; i < n; ++i) {
        const auto s = quint16(qint16(std::lround(amplitude * std::sin(2 * kPi * hz * i / rate))));
        out.append(char(s & 0xff));
        out.append(char(s >> 8));
    }
    return out;
}

// Correlation of 16 kHz PCM with a sine of `hz`: its amplitude at that frequency (a DFT bin).
double amplitudeAt(const QByteArray &pcm, double hz)
{
    const auto *s = reinterpret_cast<const qint16 *>(pcm.constData());
    const int n = int(pcm.size() / 2);
    double re = 0, im = 0;
    for (int i = 0; i < n; ++i) {
        re += s[i] * std::cos(2 * kPi * hz * i / speechaudio::kSampleRate);
        im += s[i] * std::sin(2 * kPi * hz * i / speechaudio::kSampleRate);
    }
    return 2 * std::hypot(re, im) / n;
}

} // namespace

class TestSpeechAudio : public QObject
{
    Q_OBJECT
private slots:
    void silenceAndDuration()
    {
        const QByteArray s = speechaudio::silence(250);
        QCOMPARE(s.size(), 250 * speechaudio::kBytesPerMs);
        QCOMPARE(speechaudio::durationMs(s), 250);
        QCOMPARE(speechaudio::rmsDbfs(s), speechaudio::kSilenceDbfs);
    }

    void trimSilenceCutsOnlyTheQuietEnds()
    {
        const QByteArray tone = sine(16000, 440, 500, 8000);
        const QByteArray padded = speechaudio::concat({speechaudio::silence(300), tone, speechaudio::silence(120),
                                                       tone, speechaudio::whiteNoise(200, -70, 1)});
        QCOMPARE(speechaudio::trimSilence(padded), speechaudio::concat({tone, speechaudio::silence(120), tone}));
        QVERIFY(speechaudio::trimSilence(speechaudio::silence(500)).isEmpty());
    }

    void rmsOfAFullScaleSineIsMinus3()
    {
        QVERIFY(std::abs(speechaudio::rmsDbfs(sine(16000, 1000, 1000, 32767)) + 3.01) < 0.05);
    }

    void whiteNoiseHasItsLevelAndIsDeterministic()
    {
        for (double db : {-40.0, -25.0}) {
            const QByteArray n = speechaudio::whiteNoise(2000, db, 7);
            QCOMPARE(speechaudio::durationMs(n), 2000);
            QVERIFY2(std::abs(speechaudio::rmsDbfs(n) - db) < 0.2, qPrintable(QString::number(speechaudio::rmsDbfs(n))));
            QCOMPARE(speechaudio::whiteNoise(2000, db, 7), n);
            QVERIFY(speechaudio::whiteNoise(2000, db, 8) != n);
        }
    }

    void coughBurstIsShortLoudAndDecays()
    {
        const QByteArray c = speechaudio::coughBurst(200, -15, 3);
        QCOMPARE(speechaudio::durationMs(c), 200);
        QVERIFY(std::abs(speechaudio::rmsDbfs(c) - -15) < 0.2);
        // The first 60 ms carry far more energy than the last 60 ms.
        const int part = 60 * speechaudio::kBytesPerMs;
        QVERIFY(speechaudio::rmsDbfs(c.left(part)) > speechaudio::rmsDbfs(c.right(part)) + 10);
    }

    void scaledDbChangesTheLevelByThatMuch()
    {
        const QByteArray n = speechaudio::whiteNoise(1000, -20, 1);
        QVERIFY(std::abs(speechaudio::rmsDbfs(speechaudio::scaledDb(n, -25)) - -45) < 0.1);
        QCOMPARE(speechaudio::concat({n, speechaudio::silence(100), n}).size(), 2 * n.size() + 100 * speechaudio::kBytesPerMs);
    }

    void resamplerKeepsThePassbandAndRemovesWhatWouldAlias()
    {
        // 1 kHz passes at its level; 10 kHz (above the new Nyquist, 8 kHz) would fold to 6 kHz
        // with naive decimation: the filter must remove it.
        const QByteArray in = sine(22050, 1000, 1000, 10000) ;
        const QByteArray out = speechaudio::resample(in, 22050, 16000);
        QVERIFY(std::abs(out.size() / 2 - 16000) <= 1);
        QVERIFY2(std::abs(amplitudeAt(out, 1000) - 10000) < 100, qPrintable(QString::number(amplitudeAt(out, 1000))));
        const QByteArray high = speechaudio::resample(sine(22050, 10000, 1000, 10000), 22050, 16000);
        QVERIFY2(amplitudeAt(high, 6050) < 30, qPrintable(QString::number(amplitudeAt(high, 6050))));
        QVERIFY(speechaudio::rmsDbfs(high) < -55);
    }

    void speechIsRealAudioOfARoughDuration()
    {
        QString error;
        const QByteArray s = speechaudio::speech(QStringLiteral("你好，天依，今天天气很好。"), &error);
        QVERIFY2(!s.isEmpty(), qPrintable(error));
        // Eleven syllables of espeak Mandarin: between one and five seconds, loud enough to be speech.
        QVERIFY2(speechaudio::durationMs(s) > 1000 && speechaudio::durationMs(s) < 5000, qPrintable(QString::number(speechaudio::durationMs(s))));
        QVERIFY(speechaudio::rmsDbfs(s) > -35);
        // The cache gives the same bytes.
        QCOMPARE(speechaudio::speech(QStringLiteral("你好，天依，今天天气很好。")), s);
    }
};

QTEST_GUILESS_MAIN(TestSpeechAudio)
#include "tst_speechaudio.moc"
