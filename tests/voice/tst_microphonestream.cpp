// MicrophoneStream: real speech (espeak-ng) against silence, noise, a cough and her own voice
// leaking back; the endpointing of pauses; chunking invariance; every cap; bounded memory.
// Wall time (the rate cap, the listen timeout) comes from a clock the test moves by hand.

#include "speechaudio.h"
#include "voice/microphonestream.h"

#include <QtTest>

#include <functional>

using namespace tianyi;
namespace audio = tianyi::test::speechaudio;

namespace {

// Wall time that moves only when the test says so.
class ManualClock : public voice::StreamClock
{
    Q_OBJECT
public:
    qint64 nowMs() const override { return m_now; }
    void setNowMs(qint64 ms)
    {
        m_now = ms;
        emit advanced();
    }
    void advance(qint64 ms) { setNowMs(m_now + ms); }

private:
    qint64 m_now = 1'000'000;
};

// Everything a stream emits, as lines; consecutive speechAudio pieces are merged, so the lines
// do not depend on how the input was chunked when the behaviour does not.
struct Recorder {
    QStringList events;
    QList<QByteArray> utterances;    // leadingPcm + speechAudio of each utterance
    QList<int> durations;
    QStringList capMessages;
    int sustainedCount = 0;

    void attach(MicrophoneStream &s)
    {
        QObject::connect(&s, &MicrophoneStream::speechStarted, &s, [this](const QByteArray &leading) {
            events << QStringLiteral("start %1").arg(leading.size());
            utterances << leading;
        });
        QObject::connect(&s, &MicrophoneStream::speechAudio, &s, [this](const QByteArray &pcm) {
            QVERIFY(!utterances.isEmpty());
            utterances.last() += pcm;
        });
        QObject::connect(&s, &MicrophoneStream::speechSustained, &s, [this] {
            ++sustainedCount;
            events << QStringLiteral("sustained");
        });
        QObject::connect(&s, &MicrophoneStream::speechEnded, &s, [this](int ms) {
            durations << ms;
            events << QStringLiteral("end %1 audio %2").arg(ms).arg(utterances.isEmpty() ? -1 : utterances.last().size());
        });
        QObject::connect(&s, &MicrophoneStream::capExceeded, &s, [this](const QString &code, const QString &message, bool stopped) {
            events << QStringLiteral("cap %1 %2").arg(code, stopped ? QStringLiteral("stopped") : QStringLiteral("goes-on"));
            capMessages << message;
        });
    }
    int starts() const { return int(events.filter(QRegularExpression(QStringLiteral("^start "))).size()); }
    int ends() const { return int(durations.size()); }
    QString dump() const { return events.join(QStringLiteral(" | ")); }
};

VoiceSettings defaults()
{
    VoiceSettings s;
    s.maxSilentSeconds = 86400;   // the listen timeout has its own test
    return s;
}

// Feeds pcm in pieces of `chunk` bytes, each arriving when real time says it was recorded.
void feed(MicrophoneStream &stream, ManualClock &clock, const QByteArray &pcm, qsizetype chunk = 3200)
{
    const qint64 start = clock.nowMs();
    for (qsizetype pos = 0; pos < pcm.size(); pos += chunk) {
        const qsizetype n = std::min(chunk, pcm.size() - pos);
        clock.setNowMs(start + (pos + n) / audio::kBytesPerMs);
        stream.append(pcm.mid(pos, n));
    }
}

// A stream on a hand-moved clock, with everything it emits recorded.
struct Harness {
    explicit Harness(const VoiceSettings &settings = defaults())
        : stream(settings, nullptr, &clock)
    {
        r.attach(stream);
    }
    void feed(const QByteArray &pcm, qsizetype chunk = 3200) { ::feed(stream, clock, pcm, chunk); }

    ManualClock clock;   // before the stream: the stream holds it
    MicrophoneStream stream;
    Recorder r;
};

// One stream over `pcm` with the default settings (or `settings`); the recorder's events.
Recorder run(const QByteArray &pcm, const VoiceSettings &settings = defaults(), qsizetype chunk = 3200,
             const std::function<void(MicrophoneStream &)> &setup = {})
{
    Harness h(settings);
    if (setup)
        setup(h.stream);
    h.feed(pcm, chunk);
    h.stream.finish();
    return h.r;
}

// The part of the speech that is sound: first to last 10 ms frame at or above -50 dBFS.
int audibleMs(const QByteArray &pcm)
{
    return audio::durationMs(audio::trimSilence(pcm));
}

} // namespace

class TestMicrophoneStream : public QObject
{
    Q_OBJECT

    QByteArray m_sentence;    // one sentence without a pause in it
    QByteArray m_phrase;      // a short phrase
    QByteArray m_long;        // several sentences, ~8 s with pauses at the commas

    static QByteArray speech(const QString &text)
    {
        QString error;
        // Trimmed: the pauses the tests put between phrases are then the real gaps.
        const QByteArray pcm = audio::trimSilence(audio::speech(text, &error));
        if (pcm.isEmpty())
            qFatal("espeak-ng: %s", qPrintable(error));
        return pcm;
    }

private slots:
    void initTestCase()
    {
        m_sentence = speech(QStringLiteral("我想听你唱一首新歌"));
        m_phrase = speech(QStringLiteral("明天见"));
        m_long = speech(QStringLiteral("你好天依，今天天气很好，我们去公园散步吧。"));
        qInfo() << "sentence" << audio::durationMs(m_sentence) << "ms audible" << audibleMs(m_sentence)
                << "level" << audio::rmsDbfs(m_sentence) << "phrase" << audio::durationMs(m_phrase);
    }

    void speechIsOneUtteranceOfItsDuration()
    {
        const Recorder r = run(audio::concat({audio::silence(500), m_sentence, audio::silence(1500)}));
        QVERIFY2(r.starts() == 1 && r.ends() == 1, qPrintable(r.dump()));
        // Its duration is the audible part of the speech, within what the detector's edges cost.
        const int audible = audibleMs(m_sentence);
        QVERIFY2(std::abs(r.durations[0] - audible) <= 250, qPrintable(QStringLiteral("%1 vs %2").arg(r.durations[0]).arg(audible)));
        QCOMPARE(r.sustainedCount, 1);
        // The leading PCM reaches back before the first voiced frame: the utterance holds the whole
        // sentence, pre-roll before it and the endpointing silence after it.
        const QByteArray &u = r.utterances[0];
        QVERIFY2(audio::durationMs(u) >= audible + MicrophoneStream::kPreRollMs + defaults().endpointingMs - 100,
                 qPrintable(QString::number(audio::durationMs(u))));
        QVERIFY(audio::rmsDbfs(u.left(MicrophoneStream::kPreRollMs * audio::kBytesPerMs / 2)) < -60);
        QCOMPARE(r.events.last(), QStringLiteral("end %1 audio %2").arg(r.durations[0]).arg(u.size()));
    }

    void aShortPauseStaysInOneUtterance()
    {
        const Recorder r = run(audio::concat({audio::silence(300), m_sentence, audio::silence(300), m_phrase, audio::silence(1500)}));
        QVERIFY2(r.starts() == 1 && r.ends() == 1, qPrintable(r.dump()));
        QVERIFY(r.durations[0] >= audibleMs(m_sentence) + 300);
    }

    void phrasesApartAreTwoUtterances()
    {
        const Recorder r = run(audio::concat({audio::silence(300), m_sentence, audio::silence(1500), m_phrase, audio::silence(1500)}));
        QVERIFY2(r.starts() == 2 && r.ends() == 2, qPrintable(r.dump()));
        QVERIFY(std::abs(r.durations[1] - audibleMs(m_phrase)) <= 250);
    }

    void silenceAndNoiseNeverStartSpeech_data()
    {
        QTest::addColumn<QByteArray>("pcm");
        QTest::addColumn<int>("noiseSuppression");
        for (int ns = 0; ns <= 3; ++ns) {
            QTest::addRow("silence ns%d", ns) << audio::silence(20000) << ns;
            QTest::addRow("noise -40 dBFS ns%d", ns) << audio::whiteNoise(20000, -40, 11) << ns;
            // Without noise suppression, WebRTC's detector takes steady noise this loud for speech
            // (docs/voice-detection.md): that row is the next test.
            if (ns > 0)
                QTest::addRow("noise -25 dBFS ns%d", ns) << audio::whiteNoise(20000, -25, 12) << ns;
        }
    }
    void silenceAndNoiseNeverStartSpeech()
    {
        QFETCH(QByteArray, pcm);
        QFETCH(int, noiseSuppression);
        VoiceSettings s = defaults();
        s.noiseSuppression = noiseSuppression;
        const Recorder r = run(pcm, s);
        QVERIFY2(r.events.isEmpty(), qPrintable(r.dump()));
    }

    // Documents why noise suppression is on by default: without it loud steady noise is speech.
    void withoutNoiseSuppressionLoudNoiseIsSpeech()
    {
        VoiceSettings s = defaults();
        s.noiseSuppression = 0;
        const Recorder r = run(audio::whiteNoise(20000, -25, 12), s);
        QVERIFY2(r.starts() >= 1, qPrintable(r.dump()));
    }

    // A voice far below the silence floor (-66 dBFS) is not speech; the same sentence 20 dB louder
    // is. (WebRTC's own energy threshold rejects the quiet one too; the floor's observable job is
    // to cut the detector's hangover into silence: the cough test's duration bound fails without it.)
    void speechUnderTheSilenceFloorIsNotSpeech()
    {
        const QByteArray quiet = audio::scaledDb(m_sentence, -45);
        qInfo() << "quiet sentence at" << audio::rmsDbfs(quiet) << "dBFS";
        const Recorder r = run(audio::concat({audio::silence(500), quiet, audio::silence(1500)}));
        QVERIFY2(r.events.isEmpty(), qPrintable(r.dump()));
        const Recorder louder = run(audio::concat({audio::silence(500), audio::scaledDb(m_sentence, -25), audio::silence(1500)}));
        QVERIFY2(louder.starts() == 1, qPrintable(louder.dump()));
    }

    void speechOverNoiseIsStillHeard()
    {
        // The noise test above means something only if the same noise does not deafen the stream.
        const QByteArray noise = audio::whiteNoise(3000 + audio::durationMs(m_sentence), -40, 13);
        QByteArray mixed = noise;
        const QByteArray s = audio::concat({audio::silence(1500), m_sentence, audio::silence(1500)});
        for (qsizetype i = 0; i + 1 < std::min(mixed.size(), s.size()); i += 2) {
            const int v = qint16(quint8(mixed[i]) | quint8(mixed[i + 1]) << 8) + qint16(quint8(s[i]) | quint8(s[i + 1]) << 8);
            const auto c = quint16(qint16(std::clamp(v, -32768, 32767)));
            mixed[i] = char(c & 0xff);
            mixed[i + 1] = char(c >> 8);
        }
        const Recorder r = run(mixed);
        QVERIFY2(r.starts() == 1 && r.ends() == 1, qPrintable(r.dump()));
    }

    // What the detector does with a cough (docs/voice-detection.md): quiet and ordinary coughs are
    // not speech at all; a loud one (-8 dBFS) can be voiced for its whole 200 ms, which is
    // speech_min_ms, and so start speech (she ducks) — but it never lasts interruption_min_ms, so
    // it never confirms a barge-in (she unducks), and it ends as an utterance of its own length.
    void aCoughNeverConfirmsSpeech()
    {
        int started = 0;
        for (quint32 seed : {1u, 2u, 3u}) {
            for (double level : {-25.0, -15.0, -8.0}) {
                const Recorder r = run(audio::concat({audio::silence(1000), audio::coughBurst(200, level, seed), audio::silence(1500)}));
                QVERIFY2(r.sustainedCount == 0, qPrintable(r.dump()));
                QCOMPARE(r.starts(), r.ends());
                for (int d : r.durations)
                    QVERIFY(d <= 200);
                started += r.starts();
                if (level > -10.0)
                    continue;
                QVERIFY2(r.events.isEmpty(), qPrintable(QStringLiteral("%1 dBFS: %2").arg(level).arg(r.dump())));
            }
        }
        qInfo() << "loud coughs that made speech_start:" << started << "of 3";
    }

    // The same burst stretched past interruption_min_ms is confirmed: the test above passes
    // because of the sustained rule, not because bursts are never voiced.
    void aLongLoudBurstIsSustained()
    {
        const Recorder r = run(audio::concat({audio::silence(1000), audio::whiteNoise(800, -8, 5), audio::silence(1500)}));
        QVERIFY2(r.starts() == 1 && r.sustainedCount == 1, qPrintable(r.dump()));
    }

    void herVoiceLeakingBackIsNotSpeech()
    {
        const QByteArray leak = audio::concat({audio::silence(500), audio::scaledDb(m_long, -25), audio::silence(1500)});
        const auto guard = [](MicrophoneStream &s) { s.setEchoGuard(true); };
        const Recorder guarded = run(leak, defaults(), 3200, guard);
        QVERIFY2(guarded.events.isEmpty(), qPrintable(guarded.dump()));
        // Without the guard the same audio is speech: the gate, not deafness, kept it out.
        const Recorder unguarded = run(leak);
        QVERIFY2(unguarded.starts() >= 1, qPrintable(unguarded.dump()));
    }

    void aLoudUserStillBargesInThroughTheEchoGuard()
    {
        const auto guard = [](MicrophoneStream &s) { s.setEchoGuard(true); };
        const Recorder r = run(audio::concat({audio::silence(500), m_sentence, audio::silence(1500)}), defaults(), 3200, guard);
        QVERIFY2(r.starts() == 1 && r.sustainedCount == 1, qPrintable(r.dump()));
    }

    void theSameAudioGivesTheSameEventsHoweverChunked()
    {
        const QByteArray pcm = audio::concat({audio::silence(400), m_sentence, audio::silence(300), m_phrase, audio::silence(1200),
                                              m_phrase, audio::silence(800)});
        // Whole frames as the reference (the input is 7.5 s: one append of it all would exceed the
        // rate cap's 5 s burst, which is the cap's own test).
        const Recorder frames = run(pcm, defaults(), 320);
        QVERIFY2(frames.starts() == 2 && frames.ends() == 2, qPrintable(frames.dump()));
        for (qsizetype chunk : {qsizetype(1), qsizetype(7), qsizetype(321), qsizetype(3200), qsizetype(32001), qsizetype(150001)}) {
            const Recorder r = run(pcm, defaults(), chunk);
            QVERIFY2(r.events == frames.events, qPrintable(QStringLiteral("chunk %1: %2 vs %3").arg(chunk).arg(r.dump(), frames.dump())));
            QCOMPARE(r.utterances, frames.utterances);
        }
    }

    void finishEndsTheUtteranceInProgress()
    {
        Harness h;
        auto &[clock, stream, r] = h;
        feed(stream, clock, audio::concat({audio::silence(300), m_sentence.left(m_sentence.size() / 2)}));
        QVERIFY(stream.inSpeech());
        QCOMPARE(r.ends(), 0);
        stream.finish();
        QVERIFY(!stream.inSpeech());
        QVERIFY2(r.starts() == 1 && r.ends() == 1, qPrintable(r.dump()));
        // Nothing is processed after finish.
        stream.append(m_sentence);
        QCOMPARE(r.events.size(), 3);   // start, sustained, end
    }

    // The listener may end or delete the stream from any of its signals (a session closing on an
    // error): the stream must not touch itself afterwards (AddressSanitizer would see it).
    void aListenerMayDeleteOrFinishTheStreamFromASignal()
    {
        const QByteArray pcm = audio::concat({audio::silence(300), m_sentence, audio::silence(1500), m_phrase, audio::silence(1000)});
        ManualClock clock;
        auto *stream = new MicrophoneStream(defaults(), nullptr, &clock);
        QPointer<MicrophoneStream> watch(stream);
        int started = 0;
        connect(stream, &MicrophoneStream::speechStarted, stream, [&](const QByteArray &) {
            ++started;
            delete stream;
        });
        feed(*stream, clock, pcm.left(pcm.size() / 2), pcm.size() / 2);   // one append holds the onset
        QVERIFY(!watch);
        QCOMPARE(started, 1);

        Harness h;
        int ends = 0;
        connect(&h.stream, &MicrophoneStream::speechSustained, &h.stream, [&] { h.stream.finish(); });
        connect(&h.stream, &MicrophoneStream::speechEnded, &h.stream, [&](int) { ++ends; });
        h.feed(pcm, 32000);
        QCOMPARE(ends, 1);   // finished at sustained; the phrase after it is never processed
        QVERIFY(!h.stream.inSpeech());
    }

    void anUtteranceLongerThanTheCapIsCutAndListeningGoesOn()
    {
        VoiceSettings s = defaults();
        s.maxUtteranceSeconds = 2;
        const Recorder r = run(audio::concat({audio::silence(300), m_long, audio::silence(1500), m_phrase, audio::silence(1500)}), s);
        QVERIFY2(r.events.contains(QStringLiteral("cap utterance_too_long goes-on")), qPrintable(r.dump()));
        QCOMPARE(r.durations.first(), 2000);
        const int capAt = int(r.events.indexOf(QStringLiteral("cap utterance_too_long goes-on")));
        QVERIFY(r.events[capAt - 1].startsWith(QStringLiteral("end 2000 ")));
        QVERIFY(r.capMessages.first().contains(QStringLiteral("voice.max_utterance_seconds")));
        QVERIFY(r.capMessages.first().contains(QStringLiteral("2 seconds")));
        // No utterance lasts longer than the cap, and the phrase after it is still heard.
        for (int d : r.durations)
            QVERIFY(d <= 2000);
        QVERIFY(std::abs(r.durations.last() - audibleMs(m_phrase)) <= 250);
    }

    void aClientFasterThanTheRateCapIsStopped()
    {
        VoiceSettings s = defaults();   // 48000 B/s
        Harness h(s);
        auto &[clock, stream, r] = h;
        // Twice real time, 64000 B each wall second: the bucket (5 s of the cap: 240000 B) loses
        // 64000 - 48000 = 16000 B per second, so after 11 seconds 64000 B no longer fit: the 12th
        // second is admitted, the 13th is not.
        const QByteArray second = audio::silence(1000);
        int seconds = 0;
        while (r.events.isEmpty() && seconds < 60) {
            stream.append(second);
            stream.append(second);
            clock.advance(1000);
            ++seconds;
        }
        QCOMPARE(r.events, QStringList{QStringLiteral("cap rate_exceeded stopped")});
        QCOMPARE(seconds, 13);
        QVERIFY(r.capMessages.first().contains(QStringLiteral("48000 bytes per second")));
        QVERIFY(r.capMessages.first().contains(QStringLiteral("voice.max_bytes_per_second")));
        // Stopped: nothing more is processed.
        stream.append(m_sentence);
        QCOMPARE(r.events.size(), 1);
    }

    void aClientCatchingUpABacklogIsNotCut()
    {
        Harness h;
        auto &[clock, stream, r] = h;
        const QByteArray pcm = audio::concat({audio::silence(60000)});
        feed(stream, clock, pcm.left(30 * 32000));              // real time for 30 s
        clock.advance(4000);                                     // a 4 s stall...
        stream.append(pcm.mid(30 * 32000, 4 * 32000));          // ...then its backlog at once
        feed(stream, clock, pcm.mid(34 * 32000), 32000);         // and real time again
        QVERIFY2(r.events.isEmpty(), qPrintable(r.dump()));
        // A larger catch-up than the bucket holds is cut.
        clock.advance(10000);
        stream.append(audio::silence(16000));
        QCOMPARE(r.events, QStringList{QStringLiteral("cap rate_exceeded stopped")});
    }

    void aRateCapMidUtteranceEndsItFirst()
    {
        Harness h;
        auto &[clock, stream, r] = h;
        feed(stream, clock, audio::concat({audio::silence(300), m_sentence.left(m_sentence.size() / 2)}));
        QVERIFY(stream.inSpeech());
        stream.append(audio::silence(20000));   // 640 KB at once
        QVERIFY2(r.events.size() >= 3 && r.events.last() == QStringLiteral("cap rate_exceeded stopped")
                     && r.events[r.events.size() - 2].startsWith(QStringLiteral("end ")),
                 qPrintable(r.dump()));
        QVERIFY(!stream.inSpeech());
    }

    void listeningWithoutSpeechTimesOut()
    {
        VoiceSettings s = defaults();
        s.maxSilentSeconds = 300;
        Harness h(s);
        auto &[clock, stream, r] = h;
        // A client that sends nothing at all: only the clock moves.
        clock.advance(299'999);
        QVERIFY(r.events.isEmpty());
        clock.advance(1);
        QCOMPARE(r.events, QStringList{QStringLiteral("cap listen_timeout stopped")});
        QVERIFY(r.capMessages.first().contains(QStringLiteral("300 seconds")));
        QVERIFY(r.capMessages.first().contains(QStringLiteral("voice.max_silent_seconds")));
        stream.append(m_sentence);
        QCOMPARE(r.events.size(), 1);
    }

    // The production path: the system clock and a real timer wake the stream when the client sends
    // nothing. One second (below the config's minimum of 5, set here on the struct directly) so
    // the test waits for the signal briefly instead of moving a clock.
    void theSystemClockTimesOutAStreamThatGetsNothing()
    {
        VoiceSettings s = defaults();
        s.maxSilentSeconds = 1;
        MicrophoneStream stream(s);
        Recorder r;
        r.attach(stream);
        QTRY_COMPARE_WITH_TIMEOUT(r.events, QStringList{QStringLiteral("cap listen_timeout stopped")}, 10000);
    }

    void speechRestartsTheListenTimeout()
    {
        VoiceSettings s = defaults();
        s.maxSilentSeconds = 10;
        Harness h(s);
        auto &[clock, stream, r] = h;
        // Silence (sent in real time) for 8 s, then speech that ends at about 8 s + its length + 0.6 s.
        feed(stream, clock, audio::concat({audio::silence(8000), m_sentence, audio::silence(1000)}));
        QVERIFY2(r.starts() == 1 && r.ends() == 1, qPrintable(r.dump()));
        const qint64 afterSpeech = clock.nowMs();
        // Nearly 10 s after the speech ended: still listening (without the restart it would have
        // timed out long ago).
        clock.advance(9000);
        QVERIFY2(r.capMessages.isEmpty(), qPrintable(r.dump()));
        clock.setNowMs(afterSpeech + 10'000);
        QVERIFY2(r.events.last() == QStringLiteral("cap listen_timeout stopped"), qPrintable(r.dump()));
    }

    void aSilentStreamHoldsFixedMemory()
    {
        ManualClock clock;
        MicrophoneStream stream(defaults(), nullptr, &clock);
        feed(stream, clock, audio::silence(1000), 3333);
        const qsizetype afterOneSecond = stream.bufferedBytes();
        // Pre-roll (250 ms) + onset window (1.5 x 200 ms) + a partial frame: well under a second.
        QVERIFY2(afterOneSecond <= (MicrophoneStream::kPreRollMs + 300) * audio::kBytesPerMs + 2 * 320,
                 qPrintable(QString::number(afterOneSecond)));
        const QByteArray minute = audio::silence(60000);
        for (int i = 0; i < 10; ++i)
            feed(stream, clock, minute, 3333);
        QCOMPARE(stream.bufferedBytes(), afterOneSecond);
    }
};

QTEST_GUILESS_MAIN(TestMicrophoneStream)
#include "tst_microphonestream.moc"
