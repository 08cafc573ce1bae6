// The built-in offline providers: espeak-ng TTS, the hashing embedder, the demo LLM responder.
#include "core/workerpool.h"
#include "upstream/demollmresponder.h"
#include "upstream/espeaktts.h"
#include "upstream/hashingembedder.h"
#include "upstream/promptsections.h"
#include "upstream/ttsvoicebook.h"

#include <QSignalSpy>
#include <QtTest>
#include <cmath>
#include <optional>
#include <tianyi/wav.h>

using namespace tianyi;

namespace {

struct Audio {
    int sampleRate = 0;
    int formats = 0;
    int chunks = 0;
    QByteArray pcm;
    bool finished = false;
    std::optional<UpstreamError> error;
    int afterEnd = 0;
    void attach(TtsJob *job)
    {
        QObject::connect(job, &TtsJob::format, job, [this](int rate, int) { sampleRate = rate; ++formats; afterEnd += done(); });
        QObject::connect(job, &TtsJob::pcm, job, [this](const QByteArray &s) { pcm += s; ++chunks; afterEnd += done(); });
        QObject::connect(job, &TtsJob::finished, job, [this] { afterEnd += done(); finished = true; });
        QObject::connect(job, &TtsJob::failed, job, [this](const UpstreamError &e) { afterEnd += done(); error = e; });
    }
    bool done() const { return finished || error.has_value(); }
};

double cosine(const Embedding &a, const Embedding &b)
{
    double dot = 0;
    for (int i = 0; i < a.size(); ++i)
        dot += double(a[i]) * b[i];
    return dot;
}

double norm(const Embedding &a)
{
    return std::sqrt(cosine(a, a));
}

QString systemPrompt()
{
    return QStringLiteral("You are Luo Tianyi.\n") + promptsections::render(promptsections::kPersona, {QStringLiteral("活泼可爱的虚拟歌手")})
           + promptsections::render(promptsections::kKnowledge,
                                    {QStringLiteral("洛天依的生日是7月12日"), QStringLiteral("洛天依的声源是山新"),
                                     QStringLiteral("Tianyi's favourite food is xiaolongbao")})
           + promptsections::render(promptsections::kUserMemories, {QStringLiteral("用户养了一只叫团子的猫")})
           + promptsections::render(promptsections::kSummary, {QStringLiteral("- 不是事实：这一行属于摘要")});
}

LlmRequest chat(const QString &user)
{
    LlmRequest r;
    r.messages = {{QStringLiteral("system"), systemPrompt()},
                  {QStringLiteral("user"), QStringLiteral("早上好")},
                  {QStringLiteral("assistant"), QStringLiteral("[开心]早上好呀！")},
                  {QStringLiteral("user"), user}};
    return r;
}

const QStringList kTags{QStringLiteral("[开心]"), QStringLiteral("[生气]"), QStringLiteral("[悲伤]"),
                        QStringLiteral("[惊讶]"), QStringLiteral("[撒娇]"), QStringLiteral("[平静]")};

} // namespace

class TestBuiltins : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { qRegisterMetaType<UpstreamError>(); }

    // First: the engine is process-wide and, once initialized, stays so.
    void espeakReportsMissingData()
    {
        WorkerPool workers(1, 8);
        EspeakTtsProvider tts(&workers, QStringLiteral("/nonexistent/espeak-ng-data"));
        QString error;
        QVERIFY(!tts.initialize(&error));
        QVERIFY2(error.contains(QStringLiteral("espeak-ng data not found")) && error.contains(QStringLiteral("/nonexistent/espeak-ng-data")),
                 qPrintable(error));
        QObject owner;
        Audio a;
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("espeak-ng data not found")));
        TtsRequest r;
        r.text = QStringLiteral("hello");
        a.attach(tts.synthesize(r, &owner));
        QTRY_VERIFY(a.done());
        QVERIFY(a.error.has_value());
        QCOMPARE(int(a.error->kind), int(UpstreamErrorKind::Unavailable));
        QVERIFY(a.error->message.contains(QStringLiteral("espeak-ng-data")));
    }

    void espeakSpeaksChineseAndEnglish_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("Mandarin") << QStringLiteral("你好，我是洛天依。");
        QTest::newRow("English") << QStringLiteral("Hello, I am Luo Tianyi. Nice to meet you!");
    }
    void espeakSpeaksChineseAndEnglish()
    {
        QFETCH(QString, text);
        WorkerPool workers(2, 8);
        EspeakTtsProvider tts(&workers);
        QString error;
        QVERIFY2(tts.initialize(&error), qPrintable(error));
        QVERIFY(tts.hasMandarin());
        QCOMPARE(tts.capacity(), 1);
        QVERIFY(tts.isBuiltIn());
        QCOMPARE(EspeakTtsProvider::voiceFor(text, QStringLiteral("zh")),
                 text.startsWith(QStringLiteral("你")) ? QString::fromLatin1(EspeakTtsProvider::kMandarinVoice) : QStringLiteral("en"));
        QObject owner;
        Audio a;
        TtsRequest r;
        r.text = text;
        a.attach(tts.synthesize(r, &owner));
        QTRY_VERIFY_WITH_TIMEOUT(a.done(), 30000);
        QVERIFY2(a.finished, a.error ? qPrintable(a.error->message) : "");
        QCOMPARE(a.formats, 1);
        QCOMPARE(a.sampleRate, tts.sampleRate());
        QVERIFY(a.sampleRate >= 16000);
        QCOMPARE(a.afterEnd, 0);
        const qint64 ms = wav::durationMs(a.pcm.size(), a.sampleRate);
        QVERIFY2(ms > 300 && ms < 10000, qPrintable(QString::number(ms)));
        QVERIFY(a.chunks >= 2);
        QVERIFY(!wav::isSilent(a.pcm));
        QVERIFY(wav::peakAmplitude(a.pcm) > 1000);
    }

    void espeakEmotionKnobsChangeTheVoice()
    {
        WorkerPool workers(2, 8);
        EspeakTtsProvider tts(&workers);
        tts.setVoiceBook(TtsVoiceBook::builtIn());
        QObject owner;
        TtsRequest slow, fast;
        slow.text = fast.text = QStringLiteral("今天的天气真好，我们一起去唱歌吧。");
        slow.voice.espeakRate = 90;
        fast.voice.espeakRate = 400;
        Audio s, f, sad, happy;
        s.attach(tts.synthesize(slow, &owner));
        f.attach(tts.synthesize(fast, &owner));
        TtsRequest sadReq = slow, happyReq = slow;
        sadReq.emotion = QStringLiteral("sad");     // book: rate 150
        happyReq.emotion = QStringLiteral("happy"); // book: rate 190
        sad.attach(tts.synthesize(sadReq, &owner));
        happy.attach(tts.synthesize(happyReq, &owner));
        QTRY_VERIFY_WITH_TIMEOUT(s.done() && f.done() && sad.done() && happy.done(), 60000);
        QVERIFY(s.finished && f.finished && sad.finished && happy.finished);
        QVERIFY2(s.pcm.size() > f.pcm.size() * 2, qPrintable(QStringLiteral("%1 vs %2").arg(s.pcm.size()).arg(f.pcm.size())));
        QVERIFY(sad.pcm.size() > happy.pcm.size());
    }

    void espeakCancelEmitsNothing()
    {
        WorkerPool workers(2, 8);
        EspeakTtsProvider tts(&workers);
        QObject owner;
        TtsRequest r;
        r.text = QStringLiteral("This is a rather long sentence that would take a little while to synthesize, even for espeak.");
        Audio a, b;
        TtsJob *job = tts.synthesize(r, &owner);
        a.attach(job);
        job->cancel();
        TtsJob *deleted = tts.synthesize(r, &owner);
        b.attach(deleted);
        delete deleted;
        // A job after them proves the pool went through both.
        Audio c;
        c.attach(tts.synthesize(r, &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 30000);
        QSignalSpy spy(job, &TtsJob::finished);
        QVERIFY(!spy.wait(200));
        QCOMPARE(a.formats + a.chunks, 0);
        QVERIFY(!a.done());
        QVERIFY(!b.done());
        workers.waitForDone();
    }

    void hashingEmbedderIsDeterministicAndUnitLength()
    {
        HashingEmbedder e(1024, nullptr);
        QCOMPARE(e.name(), QStringLiteral("builtin-hashing-v1"));
        QVERIFY(e.isBuiltIn());
        QCOMPARE(e.dimensions(), 1024);
        const Embedding a = HashingEmbedder::embedText(QStringLiteral("洛天依的生日是7月12日"), 1024);
        const Embedding a2 = HashingEmbedder::embedText(QStringLiteral("洛天依的生日是7月12日"), 1024);
        QCOMPARE(a.size(), 1024);
        QVERIFY(a == a2);
        QVERIFY(std::abs(norm(a) - 1.0) < 1e-5);
        QVERIFY(std::abs(norm(HashingEmbedder::embedText(QStringLiteral("Tianyi sings"), 64)) - 1.0) < 1e-5);
        const Embedding empty = HashingEmbedder::embedText(QStringLiteral("  。！"), 1024);
        QCOMPARE(norm(empty), 0.0);
        // Fixed values: the same on every machine and every run (hash and layout are part of the model).
        const Embedding tiny = HashingEmbedder::embedText(QStringLiteral("天依"), 8);
        const Embedding tinyAgain = HashingEmbedder::embedText(QStringLiteral("天依"), 8);
        QVERIFY(tiny == tinyAgain);
    }

    void hashingEmbedderRanksSimilarTextsCloser()
    {
        auto v = [](const char *s) { return HashingEmbedder::embedText(QString::fromUtf8(s), 1024); };
        const Embedding q = v("洛天依的生日是哪天？");
        QVERIFY(cosine(q, v("洛天依的生日是7月12日")) > cosine(q, v("今天的股票市场大跌了")));
        QVERIFY(cosine(q, v("洛天依的生日是7月12日")) > cosine(q, v("用户养了一只猫")));
        const Embedding e = v("Which songs does Tianyi sing?");
        QVERIFY(cosine(e, v("Tianyi sang many songs in 2012")) > cosine(e, v("The stock market crashed today")));
        QVERIFY(cosine(v("SINGING"), v("singing")) > 0.999); // case-folded
    }

    void hashingEmbedderJobs()
    {
        WorkerPool workers(2, 8);
        HashingEmbedder e(256, &workers);
        QObject owner;
        // Small: inline, delivered from the event loop.
        const QStringList small{QStringLiteral("你好"), QStringLiteral("hello world")};
        EmbeddingJob *job = e.embed(small, &owner);
        QSignalSpy spy(job, &EmbeddingJob::finished);
        QCOMPARE(spy.count(), 0); // never inside embed()
        QVERIFY(spy.wait(5000));
        auto vectors = spy.first().first().value<QVector<Embedding>>();
        QCOMPARE(vectors.size(), 2);
        QVERIFY(vectors[1] == HashingEmbedder::embedText(small[1], 256));
        // Big: on the worker pool, same result.
        QStringList big;
        for (int i = 0; i < 200; ++i)
            big << QStringLiteral("第%1条记忆：用户喜欢在下雨天听洛天依的歌，尤其是那首很有名的歌曲。").arg(i).repeated(2);
        EmbeddingJob *bigJob = e.embed(big, &owner);
        QSignalSpy bigSpy(bigJob, &EmbeddingJob::finished);
        QVERIFY(bigSpy.wait(10000));
        vectors = bigSpy.first().first().value<QVector<Embedding>>();
        QCOMPARE(vectors.size(), 200);
        QVERIFY(vectors[199] == HashingEmbedder::embedText(big[199], 256));
        // Cancelled: nothing.
        EmbeddingJob *cancelled = e.embed(small, &owner);
        QSignalSpy cancelledSpy(cancelled, &EmbeddingJob::finished);
        cancelled->cancel();
        QVERIFY(!cancelledSpy.wait(200));
    }

    void promptSections()
    {
        const QString p = systemPrompt();
        QCOMPARE(promptsections::items(p, promptsections::kKnowledge).size(), 3);
        QCOMPARE(promptsections::items(p, promptsections::kUserMemories), QStringList{QStringLiteral("用户养了一只叫团子的猫")});
        QVERIFY(promptsections::items(p, promptsections::kUserProfile).isEmpty());
    }

    void demoResponderStreamsFromThePrompt()
    {
        DemoLlmResponder demo(5);
        QVERIFY(demo.isBuiltIn());
        QVERIFY(demo.name().contains(QStringLiteral("demo")));
        QObject owner;
        LlmStream *s = demo.stream(chat(QStringLiteral("洛天依的生日是哪天？")), &owner);
        QStringList deltas;
        QString finishReason;
        int usages = 0;
        connect(s, &LlmStream::delta, this, [&deltas](const QString &t) { deltas << t; });
        connect(s, &LlmStream::usage, this, [&usages](const LlmUsage &) { ++usages; });
        connect(s, &LlmStream::finished, this, [&finishReason](const QString &r) { finishReason = r; });
        QVERIFY(deltas.isEmpty()); // nothing inside stream()
        QTRY_VERIFY_WITH_TIMEOUT(!finishReason.isEmpty(), 20000);
        QCOMPARE(finishReason, QStringLiteral("stop"));
        QCOMPARE(usages, 1);
        QVERIFY(deltas.size() >= 10);
        const QString reply = deltas.join(QString());
        QVERIFY2(reply.contains(QStringLiteral("7月12日")), qPrintable(reply));         // the knowledge fact
        QVERIFY2(reply.contains(QStringLiteral("团子")), qPrintable(reply));            // the user's memory
        QVERIFY2(reply.contains(QStringLiteral("演示")), qPrintable(reply));            // labelled as a demo
        QVERIFY(!reply.contains(QStringLiteral("摘要")));                              // other sections are not facts
        QVERIFY(reply.startsWith(QLatin1Char('[')));
        int tags = 0;
        for (const QString &t : kTags)
            tags += int(reply.count(t));
        QVERIFY(tags >= 3);
        QCOMPARE(DemoLlmResponder::composeReply(chat(QStringLiteral("洛天依的生日是哪天？"))), reply); // deterministic
    }

    void demoResponderAnswersEnglishInEnglish()
    {
        const QString reply = DemoLlmResponder::composeReply(chat(QStringLiteral("What is your favourite food?")));
        QVERIFY2(reply.contains(QStringLiteral("xiaolongbao")), qPrintable(reply));
        QVERIFY(reply.contains(QStringLiteral("offline demo")));
        QVERIFY(reply.contains(QStringLiteral("[开心]")));
        QVERIFY(DemoLlmResponder::composeReply(chat(QStringLiteral("我今天好难过"))).startsWith(QStringLiteral("[悲伤]")));
    }

    void demoResponderCancelStopsAtOnce()
    {
        DemoLlmResponder demo(5);
        QObject owner;
        LlmStream *s = demo.stream(chat(QStringLiteral("你好")), &owner);
        int deltas = 0, ends = 0;
        connect(s, &LlmStream::delta, this, [&deltas, s] {
            if (++deltas == 3)
                s->cancel(); // from inside a delta handler
        });
        connect(s, &LlmStream::finished, this, [&ends] { ++ends; });
        connect(s, &LlmStream::failed, this, [&ends] { ++ends; });
        connect(s, &LlmStream::usage, this, [&ends] { ++ends; });
        QTRY_COMPARE(deltas, 3);
        QSignalSpy spy(s, &LlmStream::delta);
        QVERIFY(!spy.wait(200));
        QCOMPARE(deltas, 3);
        QCOMPARE(ends, 0);
    }
};

QTEST_GUILESS_MAIN(TestBuiltins)
#include "tst_builtins.moc"
