// Units of the dialog area: the persona card, the prompt builder and the TTS scheduler.
#include "prompt/personacard.h"
#include "prompt/promptbuilder.h"
#include "dialog/ttsscheduler.h"
#include "upstream/promptsections.h"

#include <QPointer>
#include <QtTest>

using namespace tianyi;

namespace {

// A TTS job the test finishes by hand.
class ManualJob : public TtsJob
{
    Q_OBJECT
public:
    using TtsJob::TtsJob;
    void cancel() override { cancelled = true; }
    TtsRequest request;
    bool cancelled = false;
};

class ManualTts : public TtsProvider
{
public:
    QString name() const override { return QStringLiteral("manual"); }
    bool isBuiltIn() const override { return true; }
    int capacity() const override { return cap; }
    TtsJob *synthesize(const TtsRequest &request, QObject *parent) override
    {
        auto *job = new ManualJob(parent);
        job->request = request;
        jobs.append(job);
        return job;
    }
    int running() const
    {
        int n = 0;
        for (const auto &j : jobs)
            n += j && !j->cancelled && !done.contains(j.data());
        return n;
    }
    void finish(ManualJob *job)
    {
        done.append(job);
        emit job->format(16000, 1);
        emit job->pcm(QByteArray(320, '\x01'));
        emit job->finished();
    }
    int cap = 1;
    QList<QPointer<ManualJob>> jobs;
    QList<ManualJob *> done;
};

TtsRequest req(const QString &text)
{
    TtsRequest r;
    r.text = text;
    return r;
}

} // namespace

class TestChatUnits : public QObject
{
    Q_OBJECT

private slots:
    void builtInPersonaLoads()
    {
        QString error;
        const auto card = PersonaCard::load(QStringLiteral("luotianyi"), &error);
        QVERIFY2(card, qPrintable(error));
        QCOMPARE(card->name, QStringLiteral("洛天依"));
        QCOMPARE(card->defaultEmotion, QStringLiteral("calm"));
        QCOMPARE(card->labels(), (QStringList{QStringLiteral("开心"), QStringLiteral("生气"), QStringLiteral("悲伤"), QStringLiteral("惊讶"),
                                              QStringLiteral("撒娇"), QStringLiteral("平静")}));
        QCOMPARE(card->emotionByLabel(QStringLiteral("撒娇"))->id, QStringLiteral("coquettish"));
        QVERIFY(!card->emotionById(QStringLiteral("happy"))->voice.refAudioPath.isEmpty());
        QVERIFY(card->persona.contains(QStringLiteral("2012")));
    }

    void badPersonaIsAClearError_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("not json") << QByteArray("{") << QStringLiteral("not valid JSON");
        QTest::newRow("no name") << QByteArray(R"({"persona":"x","default_emotion":"a","emotions":[{"id":"a","label":"A"}]})") << QStringLiteral("name");
        QTest::newRow("no emotions") << QByteArray(R"({"name":"n","persona":"x","default_emotion":"a","emotions":[]})") << QStringLiteral("emotions");
        QTest::newRow("unknown default") << QByteArray(R"({"name":"n","persona":"x","default_emotion":"b","emotions":[{"id":"a","label":"A"}]})")
                                         << QStringLiteral("default_emotion");
        QTest::newRow("duplicate label") << QByteArray(R"({"name":"n","persona":"x","default_emotion":"a","emotions":[{"id":"a","label":"A"},{"id":"b","label":"A"}]})")
                                         << QStringLiteral("twice");
    }
    void badPersonaIsAClearError()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, mentions);
        QString error;
        QVERIFY(!PersonaCard::parse(json, QStringLiteral("test.json"), &error));
        QVERIFY2(error.contains(mentions) && error.contains(QStringLiteral("chat.persona")), qPrintable(error));
        QVERIFY(!PersonaCard::load(QStringLiteral("/nonexistent/card.json"), &error));
        QVERIFY(error.contains(QStringLiteral("/nonexistent/card.json")));
    }

    void promptHasSectionsHistoryAndNoMarkers()
    {
        QString error;
        const auto card = PersonaCard::load(QStringLiteral("luotianyi"), &error);
        QVERIFY(card);
        LlmSettings llm;
        llm.temperature = 0.3;
        llm.maxTokens = 123;
        PromptBuilder builder(*card, llm);
        PromptContext ctx;
        ctx.nickname = QStringLiteral("小明");
        ctx.description = QStringLiteral("喜欢唱歌");
        StoredTurn done;
        done.userText = QStringLiteral("你好");
        done.replyText = QStringLiteral("你好呀！");
        done.status = QStringLiteral("completed");
        StoredTurn cut;
        cut.userText = QStringLiteral("讲故事");
        cut.replyText = QStringLiteral("从前有座山。");
        cut.status = QStringLiteral("interrupted");
        StoredTurn silent;
        silent.userText = QStringLiteral("算了");
        silent.status = QStringLiteral("interrupted");
        ctx.recentTurns = {done, cut, silent};
        const LlmRequest r = builder.build(ctx, QStringLiteral("继续"), QStringLiteral("1#s#3"));
        QCOMPARE(r.temperature, 0.3);
        QCOMPARE(r.maxTokens, 123);
        QCOMPARE(r.correlationId, QStringLiteral("1#s#3"));
        QCOMPARE(r.messages.size(), 7);
        const QString system = r.messages.at(0).content;
        QCOMPARE(r.messages.at(0).role, QStringLiteral("system"));
        QVERIFY(system.contains(card->persona));
        for (const char *h : {promptsections::kPersona, promptsections::kEmotionProtocol, promptsections::kUserProfile,
                              promptsections::kUserMemories, promptsections::kKnowledge})
            QVERIFY2(system.contains(QString::fromUtf8(h)), h);
        QVERIFY(system.contains(QStringLiteral("[开心]")) && system.contains(QStringLiteral("[撒娇]")));
        QCOMPARE(promptsections::items(system, promptsections::kUserProfile),
                 (QStringList{QStringLiteral("昵称：小明"), QStringLiteral("自我介绍：喜欢唱歌")}));
        QVERIFY(promptsections::items(system, promptsections::kKnowledge).isEmpty());
        QCOMPARE(r.messages.at(3).role, QStringLiteral("user"));
        QCOMPARE(r.messages.at(4).content, QStringLiteral("从前有座山。"));
        QCOMPARE(r.messages.at(5).content, QStringLiteral("算了")); // nothing heard: no assistant message
        QCOMPARE(r.messages.at(6).content, QStringLiteral("继续"));
        for (const ChatMessage &m : r.messages)
            QVERIFY(!m.content.contains(QStringLiteral("interrupt"), Qt::CaseInsensitive));
    }

    void schedulerNeverExceedsCapacity()
    {
        ManualTts tts;
        tts.cap = 2;
        TtsScheduler s(tts, 100, nullptr);
        int finished = 0;
        for (int i = 0; i < 6; ++i) {
            TtsScheduler::Callbacks cb;
            cb.finished = [&]() { ++finished; };
            QVERIFY(s.submit(quint64(i + 1), i + 1, 0, req(QString::number(i)), cb));
        }
        QCOMPARE(tts.jobs.size(), 2);
        QCOMPARE(s.queued(), 4);
        while (finished < 6) {
            QVERIFY(tts.running() <= 2);
            ManualJob *next = nullptr;
            for (const auto &j : tts.jobs) {
                if (j && !tts.done.contains(j.data()))
                    next = j;
            }
            QVERIFY(next);
            tts.finish(next);
        }
        QCOMPARE(tts.jobs.size(), 6);
    }

    void schedulerIsFairAndFirstSentencesGoFirst()
    {
        ManualTts tts;
        tts.cap = 1;
        TtsScheduler s(tts, 100, nullptr);
        // User 1 queues a long reply (sentences 0..5 of turn 1); user 2's first sentence comes later.
        for (int i = 0; i < 6; ++i)
            QVERIFY(s.submit(1, 1, i, req(QStringLiteral("a%1").arg(i)), {}));
        QVERIFY(s.submit(2, 2, 0, req(QStringLiteral("b0")), {}));
        QVERIFY(s.submit(2, 2, 1, req(QStringLiteral("b1")), {}));
        QStringList order;
        while (order.size() < 8) {
            ManualJob *job = tts.jobs.last();
            order << job->request.text;
            tts.finish(job);
            if (order.size() < 8)
                QVERIFY(tts.jobs.last() != job);
        }
        // a0 was running; b0 (a first sentence) next; then the users alternate.
        QCOMPARE(order.mid(0, 4), (QStringList{QStringLiteral("a0"), QStringLiteral("b0"), QStringLiteral("a1"), QStringLiteral("b1")}));
        QCOMPARE(order.mid(4), (QStringList{QStringLiteral("a2"), QStringLiteral("a3"), QStringLiteral("a4"), QStringLiteral("a5")}));
    }

    void schedulerPipelinesWithinATurn()
    {
        ManualTts tts;
        tts.cap = 4;
        TtsScheduler s(tts, 100, nullptr);
        for (int i = 0; i < 5; ++i)
            QVERIFY(s.submit(7, 1, i, req(QString::number(i)), {}));
        QCOMPARE(tts.jobs.size(), TtsScheduler::kMaxInFlightPerTurn); // k and k+1, not the whole reply
    }

    void cancelTurnDropsQueuedAndAbortsRunning()
    {
        ManualTts tts;
        tts.cap = 1;
        TtsScheduler s(tts, 100, nullptr);
        int callbacks = 0;
        TtsScheduler::Callbacks cb;
        cb.pcm = [&](const QByteArray &) { ++callbacks; };
        cb.finished = [&]() { ++callbacks; };
        cb.failed = [&](const UpstreamError &) { ++callbacks; };
        QVERIFY(s.submit(1, 1, 0, req(QStringLiteral("a0")), cb));
        QVERIFY(s.submit(1, 1, 1, req(QStringLiteral("a1")), cb));
        QVERIFY(s.submit(2, 2, 0, req(QStringLiteral("b0")), {}));
        QPointer<ManualJob> running = tts.jobs.first();
        s.cancelTurn(1);
        QVERIFY(running->cancelled);
        QCOMPARE(s.queued(), 0);
        QCOMPARE(tts.jobs.size(), 2);
        QCOMPARE(tts.jobs.last()->request.text, QStringLiteral("b0"));
        if (running) {
            emit running->pcm(QByteArray(10, '\0'));
            emit running->finished();
        }
        QCOMPARE(callbacks, 0);
    }

    void queueCapRefuses()
    {
        ManualTts tts;
        TtsScheduler s(tts, 2, nullptr);
        QVERIFY(s.submit(1, 1, 0, req(QStringLiteral("a")), {})); // starts at once
        QVERIFY(s.submit(2, 2, 0, req(QStringLiteral("b")), {}));
        QVERIFY(s.submit(3, 3, 0, req(QStringLiteral("c")), {}));
        QVERIFY(!s.submit(4, 4, 0, req(QStringLiteral("d")), {}));
    }
};

QTEST_GUILESS_MAIN(TestChatUnits)
#include "tst_chatunits.moc"
