// The endpointer alone: exact frame counts for onset (with gaps), sustained, endpointing, the
// utterance cap and finish, with the default settings (200 / 600 / 500 ms, 30 s).

#include "voice/endpointer.h"

#include <QtTest>

using namespace tianyi;
using namespace tianyi::voice;

namespace {

// Pushes `count` frames of one verdict; returns the steps that did something, with the index of
// the frame (counted from `*frame`) that caused each.
struct Driver {
    explicit Driver(const VoiceSettings &s = VoiceSettings()) : e(s) {}

    QList<QPair<int, EndpointerStep>> push(bool voiced, int count)
    {
        QList<QPair<int, EndpointerStep>> out;
        for (int i = 0; i < count; ++i, ++frame) {
            const EndpointerStep step = e.push(voiced);
            if (step.started || step.sustained || step.ended)
                out.append({frame, step});
        }
        return out;
    }

    Endpointer e;
    int frame = 0;
};

} // namespace

class TestEndpointer : public QObject
{
    Q_OBJECT
private slots:
    void speechStartsAfterSpeechMinOfVoicedFrames()
    {
        Driver d;
        QVERIFY(d.push(false, 50).isEmpty());
        QVERIFY(d.push(true, 19).isEmpty());
        const auto steps = d.push(true, 1);
        QCOMPARE(steps.size(), 1);
        QVERIFY(steps[0].second.started && !steps[0].second.sustained && !steps[0].second.ended);
        QCOMPARE(steps[0].second.startedFramesAgo, 20);
        QVERIFY(d.e.inSpeech());
        QCOMPARE(d.e.onsetWindowFrames(), 30);
    }

    void shortGapsInsideTheOnsetDoNotResetIt()
    {
        Driver d;
        d.push(true, 10);
        d.push(false, 5);
        QVERIFY(d.push(true, 9).isEmpty());
        const auto steps = d.push(true, 1);
        QVERIFY(steps.size() == 1 && steps[0].second.started);
        // The utterance begins at the first voiced frame, before the gap.
        QCOMPARE(steps[0].second.startedFramesAgo, 25);
    }

    void aLongGapStartsTheOnsetAgain()
    {
        Driver d;
        d.push(true, 10);
        d.push(false, 20);
        // The window (30 frames) now holds 10 unvoiced frames and 19 voiced ones at most.
        QVERIFY(d.push(true, 19).isEmpty());
        const auto steps = d.push(true, 1);
        QVERIFY(steps.size() == 1 && steps[0].second.started);
        QCOMPARE(steps[0].second.startedFramesAgo, 20);
    }

    void aBurstShorterThanSpeechMinNeverStarts()
    {
        Driver d;
        for (int i = 0; i < 100; ++i) {
            QVERIFY(d.push(true, 15).isEmpty());   // a 150 ms click or cough...
            QVERIFY(d.push(false, 20).isEmpty());  // ...and the silence after it
        }
    }

    void sustainedCountsVoicedFramesOnly()
    {
        Driver d;
        d.push(true, 20);                                    // started: 20 voiced
        QVERIFY(d.push(false, 55).isEmpty());                // a pause: no progress, no end (< 60)
        QVERIFY(d.push(true, 29).isEmpty());                 // 49 voiced
        const auto steps = d.push(true, 1);                  // 50 voiced = 500 ms
        QVERIFY(steps.size() == 1 && steps[0].second.sustained && !steps[0].second.started);
        QVERIFY(d.push(true, 500).isEmpty());                // once per utterance
    }

    void endpointingSilenceEndsTheUtterance()
    {
        Driver d;
        d.push(true, 20);
        d.push(false, 30);
        d.push(true, 40);                                    // last voiced frame: 90 frames after the first
        QVERIFY(d.push(false, 59).isEmpty());
        const auto steps = d.push(false, 1);
        QVERIFY(steps.size() == 1 && steps[0].second.ended);
        QCOMPARE(steps[0].second.end, UtteranceEnd::Silence);
        QCOMPARE(steps[0].second.durationMs, 900);
        QVERIFY(!d.e.inSpeech());
        // A new utterance needs a whole onset again: the old frames do not count.
        QVERIFY(d.push(true, 19).isEmpty());
        QVERIFY(d.push(true, 1).first().second.started);
    }

    void theUtteranceCapEndsItAtTheCap()
    {
        VoiceSettings s;
        s.maxUtteranceSeconds = 1;
        Driver d(s);
        const auto steps = d.push(true, 100);
        QCOMPARE(steps.size(), 3);   // started (frame 19), sustained (49), ended by the cap (99)
        QCOMPARE(steps[2].first, 99);
        QCOMPARE(steps[2].second.end, UtteranceEnd::LengthCap);
        QCOMPARE(steps[2].second.durationMs, 1000);
        // Speech going on after the cap is a new utterance, after a new onset.
        const auto next = d.push(true, 20);
        QVERIFY(next.size() == 1 && next[0].first == 119 && next[0].second.started);
        QCOMPARE(next[0].second.startedFramesAgo, 20);
    }

    void finishEndsOnlyAnUtteranceInProgress()
    {
        Driver d;
        d.push(true, 15);
        QVERIFY(!d.e.finish().ended);                        // an onset is not an utterance
        d.push(true, 20);
        d.push(false, 10);
        const EndpointerStep step = d.e.finish();
        QVERIFY(step.ended);
        QCOMPARE(step.end, UtteranceEnd::Finished);
        QCOMPARE(step.durationMs, 200);
        QVERIFY(!d.e.inSpeech());
    }

    void speechMinLongerThanInterruptionMinStartsSustained()
    {
        VoiceSettings s;
        s.speechMinMs = 600;
        s.interruptionMinMs = 300;
        Driver d(s);
        const auto steps = d.push(true, 60);
        QVERIFY(steps.size() == 1 && steps[0].second.started && steps[0].second.sustained);
    }
};

QTEST_GUILESS_MAIN(TestEndpointer)
#include "tst_endpointer.moc"
