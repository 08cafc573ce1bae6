// TurnRecorder fed with scripted event sequences: what it accumulates, its client-side timings,
// and the guarantee checker (protocol guarantees 1 and 2).
#include "tianyi/turnrecorder.h"

#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::client;

namespace {

// Builds events as ChatClient would deliver them, with explicit arrival times.
class Script
{
public:
    explicit Script(TurnRecorder &r) : m_r(r) {}

    void chat(const QString &text, qint64 at, const QString &msgId = {}) { m_r.onChatSent(text, msgId, at); }

    void json(qint64 at, const QString &type, QJsonObject fields)
    {
        fields.insert(QStringLiteral("type"), type);
        ChatEvent e;
        e.json = fields;
        e.type = type;
        e.receivedMs = at;
        static const QHash<QString, ChatEvent::Kind> kinds{
            {QStringLiteral("turn_start"), ChatEvent::Kind::TurnStart}, {QStringLiteral("emotion"), ChatEvent::Kind::Emotion},
            {QStringLiteral("text_delta"), ChatEvent::Kind::TextDelta}, {QStringLiteral("sentence"), ChatEvent::Kind::Sentence},
            {QStringLiteral("turn_end"), ChatEvent::Kind::TurnEnd},     {QStringLiteral("stopped"), ChatEvent::Kind::Stopped},
            {QStringLiteral("error"), ChatEvent::Kind::Error},          {QStringLiteral("pong"), ChatEvent::Kind::Pong}};
        e.kind = kinds.value(type, ChatEvent::Kind::Other);
        e.turn = e.integer(QStringLiteral("turn"), -1);
        m_r.onEvent(e);
    }
    void turnStart(qint64 at, int turn, const QString &userText)
    {
        json(at, QStringLiteral("turn_start"), {{QStringLiteral("turn"), turn},
                                                {QStringLiteral("correlation_id"), QStringLiteral("c%1").arg(turn)},
                                                {QStringLiteral("user_text"), userText}});
    }
    void emotion(qint64 at, int turn, int sentence, const QString &emotion)
    {
        json(at, QStringLiteral("emotion"), {{QStringLiteral("turn"), turn}, {QStringLiteral("sentence"), sentence},
                                             {QStringLiteral("emotion"), emotion}, {QStringLiteral("label"), emotion.toUpper()}});
    }
    void delta(qint64 at, int turn, const QString &text)
    {
        json(at, QStringLiteral("text_delta"), {{QStringLiteral("turn"), turn}, {QStringLiteral("delta"), text}});
    }
    void sentence(qint64 at, int turn, int index, const QString &text, const QString &emotion = {})
    {
        QJsonObject o{{QStringLiteral("turn"), turn}, {QStringLiteral("index"), index}, {QStringLiteral("text"), text}};
        if (!emotion.isEmpty())
            o.insert(QStringLiteral("emotion"), emotion);
        json(at, QStringLiteral("sentence"), o);
    }
    void audio(qint64 at, int turn, int sentence, int seq, bool last, const QByteArray &pcm, int rate = 16000)
    {
        ChatEvent e;
        e.kind = ChatEvent::Kind::Audio;
        e.type = QStringLiteral("audio");
        e.turn = turn;
        e.receivedMs = at;
        e.audio.turn = turn;
        e.audio.sentence = sentence;
        e.audio.seq = seq;
        e.audio.last = last;
        e.audio.sampleRate = rate;
        e.audio.pcm = pcm;
        m_r.onEvent(e);
    }
    void stopped(qint64 at, int turn, int stopMs)
    {
        json(at, QStringLiteral("stopped"), {{QStringLiteral("turn"), turn}, {QStringLiteral("stop_ms"), stopMs}});
    }
    void turnEnd(qint64 at, int turn, const QString &status, const QString &text = {})
    {
        json(at, QStringLiteral("turn_end"), {{QStringLiteral("turn"), turn},
                                              {QStringLiteral("status"), status},
                                              {QStringLiteral("text"), text},
                                              {QStringLiteral("stats"), QJsonObject{{QStringLiteral("ttft_ms"), 11},
                                                                                    {QStringLiteral("first_audio_ms"), 22},
                                                                                    {QStringLiteral("total_ms"), 33},
                                                                                    {QStringLiteral("tokens"), 4},
                                                                                    {QStringLiteral("sentences"), 2},
                                                                                    {QStringLiteral("audio_ms"), 55}}}});
    }

private:
    TurnRecorder &m_r;
};

QByteArray pcm(int samples, char fill)
{
    return QByteArray(samples * 2, fill);
}

bool anyContains(const QStringList &list, const QString &needle)
{
    for (const QString &s : list)
        if (s.contains(needle))
            return true;
    return false;
}

} // namespace

class TestTurnRecorder : public QObject
{
    Q_OBJECT

private slots:
    void correctTurn()
    {
        TurnRecorder r;
        QSignalSpy finished(&r, &TurnRecorder::turnFinished);
        QSignalSpy violations(&r, &TurnRecorder::violation);
        Script s(r);
        s.chat(QStringLiteral("你好"), 1000);
        s.turnStart(1010, 5, QStringLiteral("你好"));
        QVERIFY(r.currentTurn());
        QCOMPARE(r.currentTurn()->turn, 5);
        s.emotion(1020, 5, 0, QStringLiteral("happy"));
        s.delta(1050, 5, QStringLiteral("你好"));
        s.delta(1060, 5, QStringLiteral("呀！"));
        s.sentence(1070, 5, 0, QStringLiteral("你好呀！"), QStringLiteral("happy"));
        s.audio(1100, 5, 0, 0, false, pcm(160, 1));
        s.audio(1110, 5, 0, 1, true, pcm(160, 2));
        s.emotion(1120, 5, 1, QStringLiteral("sad"));
        s.delta(1130, 5, QStringLiteral("累了。"));
        s.sentence(1140, 5, 1, QStringLiteral("累了。")); // emotion comes from the emotion event
        s.audio(1150, 5, 1, 0, true, pcm(800, 3));
        s.json(1160, QStringLiteral("pong"), {});        // not part of any turn
        s.turnEnd(1200, 5, QStringLiteral("completed"), QStringLiteral("你好呀！累了。"));

        QCOMPARE(violations.count(), 0);
        QVERIFY(r.violations().isEmpty());
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.at(0).at(0).toLongLong(), 5);
        QVERIFY(!r.currentTurn());
        QVERIFY(r.unfinishedTurns().isEmpty());

        const RecordedTurn *t = r.turn(5);
        QVERIFY(t);
        QVERIFY(t->started && t->ended && !t->stopped);
        QCOMPARE(t->userText, QStringLiteral("你好"));
        QCOMPARE(t->correlationId, QStringLiteral("c5"));
        QCOMPARE(t->text, QStringLiteral("你好呀！累了。"));
        QCOMPARE(t->finalText, QStringLiteral("你好呀！累了。"));
        QCOMPARE(t->status, QStringLiteral("completed"));
        QCOMPARE(t->emotions.size(), 2);
        QCOMPARE(t->emotions.at(1).label, QStringLiteral("SAD"));
        QCOMPARE(t->sentences.size(), 2);
        QCOMPARE(t->sentences.value(0).text, QStringLiteral("你好呀！"));
        QCOMPARE(t->sentences.value(0).emotion, QStringLiteral("happy"));
        QCOMPARE(t->sentences.value(1).emotion, QStringLiteral("sad"));
        QCOMPARE(t->sentences.value(0).pcm, pcm(160, 1) + pcm(160, 2));
        QCOMPARE(t->sentences.value(0).chunks, 2);
        QVERIFY(t->sentences.value(0).lastChunk);
        QCOMPARE(t->sentences.value(1).pcm, pcm(800, 3));
        QCOMPARE(t->sentences.value(1).sampleRate, 16000);
        QCOMPARE(t->sentences.value(0).audioMs(), 20);
        QCOMPARE(t->sentences.value(1).audioMs(), 50);
        QCOMPARE(t->audioMs(), 70);
        QCOMPARE(t->sampleRate(), 16000);

        // Server stats and client timings (from the chat send at 1000).
        QCOMPARE(t->stats.ttftMs, 11);
        QCOMPARE(t->stats.audioMs, 55);
        QCOMPARE(t->sentAtMs, 1000);
        QCOMPARE(t->turnStartMs, 10);
        QCOMPARE(t->firstTextMs, 50);
        QCOMPARE(t->firstAudioMs, 100);
        QCOMPARE(t->turnEndMs, 200);

        const QJsonObject j = t->toJson();
        QCOMPARE(j.value(QStringLiteral("turn")).toInt(), 5);
        QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QCOMPARE(j.value(QStringLiteral("ttft_ms")).toInt(), 11);
        QCOMPARE(j.value(QStringLiteral("first_audio_ms")).toInt(), 22);
        QCOMPARE(j.value(QStringLiteral("total_ms")).toInt(), 33);
        QCOMPARE(j.value(QStringLiteral("sentences")).toInt(), 2);
        QCOMPARE(j.value(QStringLiteral("audio_ms")).toInt(), 55);
        QCOMPARE(j.value(QStringLiteral("client")).toObject().value(QStringLiteral("first_text_ms")).toInt(), 50);
        QCOMPARE(j.value(QStringLiteral("client")).toObject().value(QStringLiteral("audio_ms")).toInt(), 70);
        QVERIFY(!j.contains(QStringLiteral("stop_ms")));
        QVERIFY(!j.contains(QStringLiteral("violations")));
    }

    void audioBeforeItsSentenceIsAViolation()
    {
        TurnRecorder r;
        QSignalSpy violations(&r, &TurnRecorder::violation);
        Script s(r);
        s.turnStart(0, 1, QStringLiteral("hi"));
        s.delta(1, 1, QStringLiteral("a."));
        s.audio(2, 1, 0, 0, true, pcm(10, 1)); // sentence 0 not announced yet
        s.sentence(3, 1, 0, QStringLiteral("a."));
        s.turnEnd(4, 1, QStringLiteral("completed"));
        QCOMPARE(violations.count(), 1);
        QVERIFY(violations.at(0).at(0).toString().contains(QStringLiteral("audio of sentence 0")));
        QVERIFY(r.violations().at(0).startsWith(QStringLiteral("turn 1: ")));
        QCOMPARE(r.turn(1)->violations.size(), 1);
        QVERIFY(r.turn(1)->toJson().contains(QStringLiteral("violations")));
        // The audio is still recorded.
        QCOMPARE(r.turn(1)->sentences.value(0).pcm, pcm(10, 1));
    }

    void audioOfALaterSentenceBeforeItsSentence()
    {
        TurnRecorder r;
        Script s(r);
        s.turnStart(0, 1, QStringLiteral("hi"));
        s.sentence(1, 1, 0, QStringLiteral("a."));
        s.audio(2, 1, 0, 0, true, pcm(10, 1));
        s.audio(3, 1, 1, 0, true, pcm(10, 1)); // sentence 1's event has not come
        s.sentence(4, 1, 1, QStringLiteral("b."));
        s.turnEnd(5, 1, QStringLiteral("completed"));
        QCOMPARE(r.violations().size(), 1);
        QVERIFY(r.violations().at(0).contains(QStringLiteral("audio of sentence 1")));
    }

    void audioOutOfOrder()
    {
        TurnRecorder r;
        Script s(r);
        s.turnStart(0, 1, QStringLiteral("hi"));
        s.sentence(1, 1, 0, QStringLiteral("a."));
        s.sentence(2, 1, 1, QStringLiteral("b."));
        s.audio(3, 1, 1, 0, true, pcm(10, 1));
        s.audio(4, 1, 0, 0, true, pcm(10, 1)); // (0,0) after (1,0)
        s.audio(5, 1, 1, 1, false, pcm(10, 1)); // after the last chunk of sentence 1
        s.turnEnd(6, 1, QStringLiteral("completed"));
        QVERIFY(anyContains(r.violations(), QStringLiteral("after (sentence 1, seq 0)")));
        QVERIFY(anyContains(r.violations(), QStringLiteral("after its last chunk")));
    }

    void sentencesOutOfOrder()
    {
        TurnRecorder r;
        Script s(r);
        s.turnStart(0, 1, QStringLiteral("hi"));
        s.sentence(1, 1, 1, QStringLiteral("b."));
        s.sentence(2, 1, 0, QStringLiteral("a."));
        s.turnEnd(3, 1, QStringLiteral("completed"));
        QCOMPARE(r.violations().size(), 1);
        QVERIFY(r.violations().at(0).contains(QStringLiteral("sentence 0 arrived after sentence 1")));
    }

    void textAfterStoppedIsAViolation()
    {
        TurnRecorder r;
        Script s(r);
        s.chat(QStringLiteral("hi"), 100);
        s.turnStart(110, 2, QStringLiteral("hi"));
        s.sentence(120, 2, 0, QStringLiteral("a."));
        s.audio(130, 2, 0, 0, false, pcm(10, 1));
        r.onStopSent(2, 140);
        s.stopped(150, 2, 4);
        s.delta(151, 2, QStringLiteral("late text"));
        s.audio(152, 2, 0, 1, true, pcm(10, 1));
        s.turnEnd(160, 2, QStringLiteral("interrupted"));
        QCOMPARE(r.violations().size(), 2);
        QVERIFY(r.violations().at(0).contains(QStringLiteral("text_delta after stopped")));
        QVERIFY(r.violations().at(1).contains(QStringLiteral("audio after stopped")));
        const RecordedTurn *t = r.turn(2);
        QVERIFY(t->stopped);
        QCOMPARE(t->stopMs, 4);
        QCOMPARE(t->stopSentMs, 40);
        QCOMPARE(t->toJson().value(QStringLiteral("stop_ms")).toInt(), 4);
    }

    void correctStop()
    {
        TurnRecorder r;
        Script s(r);
        s.turnStart(0, 3, QStringLiteral("hi"));
        s.sentence(1, 3, 0, QStringLiteral("a."));
        s.stopped(2, 3, 1);
        s.turnEnd(3, 3, QStringLiteral("interrupted"));
        s.turnStart(4, 4, QStringLiteral("next"));
        s.turnEnd(5, 4, QStringLiteral("completed"));
        QVERIFY2(r.violations().isEmpty(), qPrintable(r.violations().join(QLatin1Char('\n'))));
        QCOMPARE(r.turn(3)->status, QStringLiteral("interrupted"));
        QCOMPARE(r.turnNumbers(), (QList<qint64>{3, 4}));
    }

    void stoppedThenOtherTurnOrWrongStatus()
    {
        TurnRecorder r;
        Script s(r);
        s.turnStart(0, 3, QStringLiteral("hi"));
        s.stopped(1, 3, 1);
        s.turnStart(2, 4, QStringLiteral("next")); // turn 3's turn_end must come first
        s.turnEnd(3, 3, QStringLiteral("completed")); // and be interrupted
        QVERIFY(anyContains(r.violations(), QStringLiteral("turn_start of turn 4 between stopped and turn_end")));
        QVERIFY(anyContains(r.violations(), QStringLiteral("not interrupted")));
    }

    void turnEndNotLastIsAViolation()
    {
        TurnRecorder r;
        Script s(r);
        s.turnStart(0, 1, QStringLiteral("hi"));
        s.sentence(1, 1, 0, QStringLiteral("a."));
        s.turnEnd(2, 1, QStringLiteral("completed"));
        s.delta(3, 1, QStringLiteral("more"));
        s.audio(4, 1, 0, 0, true, pcm(10, 1));
        s.turnEnd(5, 1, QStringLiteral("completed"));
        QCOMPARE(r.violations().size(), 3);
        QVERIFY(r.violations().at(0).contains(QStringLiteral("text_delta after turn_end")));
        QVERIFY(r.violations().at(1).contains(QStringLiteral("audio after turn_end")));
        QVERIFY(r.violations().at(2).contains(QStringLiteral("turn_end after turn_end")));
        // A second turn_end does not overwrite the first.
        QCOMPARE(r.turn(1)->status, QStringLiteral("completed"));
    }

    void eventsBeforeTurnStartAndOverlappingTurns()
    {
        TurnRecorder r;
        Script s(r);
        s.delta(0, 1, QStringLiteral("early"));
        s.turnStart(1, 1, QStringLiteral("hi"));
        s.turnStart(2, 2, QStringLiteral("again")); // turn 1 has not ended
        s.turnStart(3, 2, QStringLiteral("again")); // duplicate
        QVERIFY(anyContains(r.violations(), QStringLiteral("text_delta before turn_start")));
        QVERIFY(anyContains(r.violations(), QStringLiteral("turn 2 started before this turn's turn_end")));
        QVERIFY(anyContains(r.violations(), QStringLiteral("a second turn_start")));
        QCOMPARE(r.unfinishedTurns(), (QList<qint64>{1, 2}));
    }

    void chatsAreMatchedToTheirTurns()
    {
        TurnRecorder r;
        Script s(r);
        s.chat(QStringLiteral("refused"), 100); // e.g. rate limited: never becomes a turn
        s.chat(QStringLiteral("second"), 200, QStringLiteral("m2"));
        s.json(250, QStringLiteral("error"), {{QStringLiteral("code"), QStringLiteral("rate_limited")}});
        s.turnStart(260, 8, QStringLiteral("second"));
        QCOMPARE(r.turn(8)->sentAtMs, 200);
        QCOMPARE(r.turn(8)->turnStartMs, 60);
        QCOMPARE(r.turn(8)->clientMsgId, QStringLiteral("m2"));
        // A turn nobody here sent (speech input) has no client timings.
        s.turnEnd(270, 8, QStringLiteral("completed"));
        s.turnStart(300, 9, QStringLiteral("spoken"));
        s.delta(310, 9, QStringLiteral("x"));
        QCOMPARE(r.turn(9)->sentAtMs, -1);
        QCOMPARE(r.turn(9)->firstTextMs, -1);
        QVERIFY(r.turn(9)->toJson().value(QStringLiteral("client")).toObject().value(QStringLiteral("first_text_ms")).isNull());
        QVERIFY(r.violations().isEmpty());
    }

    void boundedAudioAndTurns()
    {
        TurnRecorder r;
        r.setMaxAudioBytesPerTurn(100);
        r.setMaxTurns(2);
        Script s(r);
        s.turnStart(0, 1, QStringLiteral("hi"));
        s.sentence(1, 1, 0, QStringLiteral("a."));
        s.audio(2, 1, 0, 0, false, pcm(40, 1)); // 80 bytes: kept
        s.audio(3, 1, 0, 1, true, pcm(40, 2));  // would be 160: dropped, counted
        s.turnEnd(4, 1, QStringLiteral("completed"));
        const RecordedTurn *t = r.turn(1);
        QVERIFY(t->audioTruncated);
        QCOMPARE(t->sentences.value(0).pcm.size(), 80);
        QCOMPARE(t->audioBytes(), 160);
        for (int n = 2; n <= 4; ++n) {
            s.turnStart(10 * n, n, QStringLiteral("x"));
            s.turnEnd(10 * n + 1, n, QStringLiteral("completed"));
        }
        QCOMPARE(r.turnNumbers(), (QList<qint64>{3, 4}));
        QVERIFY(!r.turn(1));
        QVERIFY(r.violations().isEmpty());

        TurnRecorder noAudio;
        noAudio.setKeepAudio(false);
        Script s2(noAudio);
        s2.turnStart(0, 1, QStringLiteral("hi"));
        s2.sentence(1, 1, 0, QStringLiteral("a."));
        s2.audio(2, 1, 0, 0, true, pcm(160, 1));
        QVERIFY(noAudio.turn(1)->sentences.value(0).pcm.isEmpty());
        QCOMPARE(noAudio.turn(1)->audioMs(), 10);
    }
};

QTEST_GUILESS_MAIN(TestTurnRecorder)
#include "tst_turnrecorder.moc"
