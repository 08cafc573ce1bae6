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

// Knowledge items as the retriever writes them: entity summaries and relations as sentences.
QString systemPrompt(bool withKnowledge = true)
{
    return QStringLiteral("You are Luo Tianyi.\n") + promptsections::render(promptsections::kPersona, {QStringLiteral("活泼可爱的虚拟歌手")})
           + promptsections::render(promptsections::kUserProfile, {QStringLiteral("昵称：小明")})
           + promptsections::render(promptsections::kKnowledge,
                                    withKnowledge ? QStringList{QStringLiteral("洛天依：上海禾念以 Vsinger 品牌推出的中文虚拟歌手，基于雅马哈 VOCALOID3 引擎的中文声库，"
                                                                               "2012年7月12日发布；声源是配音演员山新，形象由 MOTH 设计。"),
                                                                QStringLiteral("洛天依的形象是MOTH设计的"), QStringLiteral("洛天依的声源是山新"),
                                                                QStringLiteral("洛天依的生日是7月12日"), QStringLiteral("Tianyi's favourite food is xiaolongbao"),
                                                                QStringLiteral("《达拉崩吧》：ilem 作词作曲、洛天依与言和演唱的 VOCALOID 中文歌曲，2017年3月25日发表于哔哩哔哩，"
                                                                               "讲述勇者斗恶龙的故事，以超长的人名地名著称。")}
                                                  : QStringList{})
           + promptsections::render(promptsections::kUserMemories, {QStringLiteral("用户养了一只叫团子的猫")})
           + promptsections::render(promptsections::kSummary, {QStringLiteral("- 不是事实：这一行属于摘要")});
}

// A later turn: the request carries an earlier exchange.
LlmRequest chat(const QString &user, bool withKnowledge = true)
{
    LlmRequest r;
    r.messages = {{QStringLiteral("system"), systemPrompt(withKnowledge)},
                  {QStringLiteral("user"), QStringLiteral("早上好")},
                  {QStringLiteral("assistant"), QStringLiteral("[开心]早上好呀！")},
                  {QStringLiteral("user"), user}};
    return r;
}

// The first turn: nothing said before (no earlier messages, no summary).
LlmRequest firstChat(const QString &user)
{
    QString system = systemPrompt();
    system.truncate(system.indexOf(promptsections::heading(promptsections::kSummary)));
    LlmRequest r;
    r.messages = {{QStringLiteral("system"), system}, {QStringLiteral("user"), user}};
    return r;
}

const QStringList kTags{QStringLiteral("[开心]"), QStringLiteral("[生气]"), QStringLiteral("[悲伤]"),
                        QStringLiteral("[惊讶]"), QStringLiteral("[撒娇]"), QStringLiteral("[平静]")};

int cjkCount(const QString &s)
{
    QString t = s;
    for (const QString &tag : kTags)
        t.remove(tag);
    return int(std::count_if(t.begin(), t.end(), [](QChar c) { return c.unicode() >= 0x3400 && c.unicode() <= 0x9FFF; }));
}

// Every sentence starts with a persona tag: the reply does, and after each sentence end comes a tag.
bool tagsAtSentenceStarts(const QString &reply)
{
    static const QRegularExpression sentence(QStringLiteral("(\\[[^\\]]+\\])([^\\[]+)"));
    qsizetype covered = 0;
    for (auto it = sentence.globalMatch(reply); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        if (m.capturedStart() != covered || !kTags.contains(m.captured(1)))
            return false;
        const QString body = m.captured(2).trimmed();
        if (body.isEmpty() || !QStringLiteral("。！？～.!?").contains(body.back()))
            return false;
        covered = m.capturedEnd();
    }
    return covered == reply.size() && covered > 0;
}

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
        QCOMPARE(promptsections::items(p, promptsections::kKnowledge).size(), 6);
        QCOMPARE(promptsections::items(p, promptsections::kUserMemories), QStringList{QStringLiteral("用户养了一只叫团子的猫")});
        QCOMPARE(promptsections::items(p, promptsections::kUserProfile), QStringList{QStringLiteral("昵称：小明")});
        // Memories are written to the user; the user speaks of themselves.
        QCOMPARE(promptsections::swapPersons(QStringLiteral("你喜欢听我唱歌")), QStringLiteral("我喜欢听你唱歌"));
        QCOMPARE(promptsections::swapPersons(QStringLiteral("I love my dog and you")), QStringLiteral("you love your dog and me"));
        QCOMPARE(promptsections::swapPersons(QStringLiteral("Mind your mines")), QStringLiteral("Mind my mines"));
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
        QVERIFY2(reply.contains(QStringLiteral("我的生日是7月12日")), qPrintable(reply)); // the fact, said as her own
        QVERIFY(!reply.contains(QStringLiteral("摘要")));                                 // other sections are not facts
        QVERIFY2(tagsAtSentenceStarts(reply), qPrintable(reply));
        QCOMPARE(DemoLlmResponder::composeReply(chat(QStringLiteral("洛天依的生日是哪天？"))), reply); // deterministic
    }

    void demoResponderSaysFactsAsChineseSentences_data()
    {
        QTest::addColumn<QString>("question");
        QTest::addColumn<QString>("said");
        QTest::newRow("designed_by") << QStringLiteral("洛天依的形象是谁设计的？") << QStringLiteral("我的形象是MOTH设计的");
        QTest::newRow("voiced_by") << QStringLiteral("天依的声源是谁呀") << QStringLiteral("我的声源是山新");
        QTest::newRow("summary") << QStringLiteral("洛天依是哪个公司推出的中文虚拟歌手？") << QStringLiteral("我是上海禾念以 Vsinger 品牌推出的中文虚拟歌手");
        QTest::newRow("song summary") << QStringLiteral("《达拉崩吧》是谁唱的？") << QStringLiteral("《达拉崩吧》是ilem 作词作曲、我与言和演唱的 VOCALOID 中文歌曲");
    }
    void demoResponderSaysFactsAsChineseSentences()
    {
        QFETCH(QString, question);
        QFETCH(QString, said);
        const QString reply = DemoLlmResponder::composeReply(chat(question));
        QVERIFY2(reply.contains(said), qPrintable(reply));
        QVERIFY2(!reply.contains(QRegularExpression(QStringLiteral("[a-z]+_[a-z]+|->|—"))), qPrintable(reply)); // no relation identifier, no triple
        QVERIFY2(!reply.contains(QStringLiteral("洛天依")), qPrintable(reply)); // she speaks of herself as 我
        QVERIFY2(!reply.contains(QStringLiteral("雅马哈")), qPrintable(reply)); // a long summary is cut to its first clauses
        QVERIFY2(tagsAtSentenceStarts(reply), qPrintable(reply));
    }

    void demoResponderIntroducesHerselfOnlyOnTheFirstTurn()
    {
        const QString first = DemoLlmResponder::composeReply(firstChat(QStringLiteral("你好")));
        QVERIFY2(first.contains(QStringLiteral("我是洛天依")) && first.contains(QStringLiteral("演示")) && first.contains(QStringLiteral("大模型")),
                 qPrintable(first));
        QVERIFY2(first.contains(QStringLiteral("小明")), qPrintable(first)); // greeted by the profile's nickname
        QVERIFY2(tagsAtSentenceStarts(first), qPrintable(first));
        const QString firstEn = DemoLlmResponder::composeReply(firstChat(QStringLiteral("Hello!")));
        QVERIFY2(firstEn.contains(QStringLiteral("offline demo")) && firstEn.contains(QStringLiteral("Luo Tianyi")), qPrintable(firstEn));
        // A first question is still answered, after the introduction.
        const QString firstQuestion = DemoLlmResponder::composeReply(firstChat(QStringLiteral("洛天依的形象是谁设计的？")));
        QVERIFY2(firstQuestion.contains(QStringLiteral("演示")) && firstQuestion.contains(QStringLiteral("我的形象是MOTH设计的")), qPrintable(firstQuestion));

        // With an earlier exchange in the request (or a summary of older turns): no introduction.
        for (const QString &text : {QStringLiteral("你好"), QStringLiteral("洛天依的形象是谁设计的？"), QStringLiteral("我今天好难过"),
                                    QStringLiteral("Hello!"), QStringLiteral("What is your favourite food?")}) {
            const QString later = DemoLlmResponder::composeReply(chat(text));
            QVERIFY2(!later.contains(QStringLiteral("我是洛天依")) && !later.contains(QStringLiteral("演示")) && !later.contains(QStringLiteral("offline demo")),
                     qPrintable(later));
            LlmRequest summarized = firstChat(text);
            summarized.messages.first().content += promptsections::render(promptsections::kSummary, {QStringLiteral("用户说过：你好")});
            const QString afterSummary = DemoLlmResponder::composeReply(summarized);
            QVERIFY2(!afterSummary.contains(QStringLiteral("演示")) && !afterSummary.contains(QStringLiteral("offline demo")), qPrintable(afterSummary));
        }
    }

    void demoResponderRepliesAreShort_data()
    {
        QTest::addColumn<QString>("text");
        for (const char *t : {"你好", "洛天依的形象是谁设计的？", "洛天依是哪个公司推出的中文虚拟歌手？", "我今天好难过", "我好生气", "谢谢你", "拜拜",
                              "我叫小明，我住在上海，我喜欢草莓", "你还记得我的猫吗？", "量子力学是什么？", "今天天气不错",
                              "Hello!", "What is your favourite food?", "Who designed you?", "I live in Berlin", "I'm so tired today"})
            QTest::newRow(t) << QString::fromUtf8(t);
    }
    void demoResponderRepliesAreShort()
    {
        QFETCH(QString, text);
        const QString later = DemoLlmResponder::composeReply(chat(text));
        const QString first = DemoLlmResponder::composeReply(firstChat(text));
        const QString unknown = DemoLlmResponder::composeReply(chat(text, false));
        QVERIFY2(tagsAtSentenceStarts(unknown), qPrintable(unknown));
        QVERIFY2(cjkCount(unknown) <= 60, qPrintable(unknown));
        for (const QString &reply : {later, first}) {
            QVERIFY2(tagsAtSentenceStarts(reply), qPrintable(reply));
            QVERIFY2(reply.count(QRegularExpression(QStringLiteral("[。！？.!?～](?=\\[|$| \\[)"))) <= (reply == first ? 5 : 3), qPrintable(reply));
        }
        // About 60 CJK characters (a few seconds of speech); 90 with the introduction.
        QVERIFY2(cjkCount(later) <= 60, qPrintable(later));
        QVERIFY2(cjkCount(first) <= 90, qPrintable(first));
        QVERIFY2(later.split(QLatin1Char(' ')).size() <= 30, qPrintable(later));
    }

    void demoResponderAnswersEnglishInEnglish()
    {
        const QString reply = DemoLlmResponder::composeReply(chat(QStringLiteral("What is your favourite food?")));
        QVERIFY2(reply.contains(QStringLiteral("xiaolongbao")), qPrintable(reply));
        QCOMPARE(cjkCount(reply), 0);
        QVERIFY2(tagsAtSentenceStarts(reply), qPrintable(reply));
        // A Chinese fact in an English reply is announced as such, the rest stays English.
        const QString chineseNotes = DemoLlmResponder::composeReply(chat(QStringLiteral("Who is 山新?")));
        QVERIFY2(chineseNotes.contains(QStringLiteral("in Chinese")) && chineseNotes.contains(QStringLiteral("我的声源是山新")), qPrintable(chineseNotes));
        QVERIFY2(!DemoLlmResponder::composeReply(chat(QStringLiteral("Hello!"), false)).contains(QStringLiteral("团子")), "a Chinese memory in an English reply");
        const QString noKnowledge = DemoLlmResponder::composeReply(chat(QStringLiteral("Do you like rainy days?"), false));
        QCOMPARE(cjkCount(noKnowledge), 0);
        QVERIFY2(noKnowledge.contains(QStringLiteral("language model")), qPrintable(noKnowledge)); // honest about what it cannot do
        // Chinese in, Chinese out; a Chinese name in an English question stays English.
        QVERIFY(cjkCount(DemoLlmResponder::composeReply(chat(QStringLiteral("天依喜欢吃什么？")))) > 0);
        QVERIFY(DemoLlmResponder::composeReply(chat(QStringLiteral("Do you know 山新?"))).contains(QRegularExpression(QStringLiteral("[A-Za-z]{3,} [A-Za-z]{2,}"))));
        QVERIFY(DemoLlmResponder::composeReply(chat(QStringLiteral("我今天好难过"))).startsWith(QStringLiteral("[悲伤]")));
        QVERIFY(DemoLlmResponder::composeReply(chat(QStringLiteral("I'm so sad today"))).startsWith(QStringLiteral("[悲伤]")));
    }

    void demoResponderRecallsMemories()
    {
        const QString reply = DemoLlmResponder::composeReply(chat(QStringLiteral("你还记得我养的猫吗？"), false));
        QVERIFY2(reply.contains(QStringLiteral("你养了一只叫团子的猫")), qPrintable(reply));
        QVERIFY2(!reply.contains(QStringLiteral("用户")), qPrintable(reply));
        // The memory is the answer: no "I don't know" before it.
        QVERIFY2(!reply.contains(QStringLiteral("没有")) && !reply.contains(QStringLiteral("答不上")) && !reply.contains(QStringLiteral("难倒")), qPrintable(reply));
        LlmRequest en = chat(QStringLiteral("Do you remember my name?"), false);
        en.messages.first().content.replace(QStringLiteral("用户养了一只叫团子的猫"), QStringLiteral("Your name is Ann"));
        const QString english = DemoLlmResponder::composeReply(en);
        QVERIFY2(english.contains(QStringLiteral("Your name is Ann")) && tagsAtSentenceStarts(english), qPrintable(english));
    }

    void demoResponderGreetsOnlyASayableNickname()
    {
        LlmRequest r = firstChat(QStringLiteral("你好"));
        r.messages.first().content.replace(QStringLiteral("昵称：小明"), QStringLiteral("昵称：tianyi_fan2"));
        const QString reply = DemoLlmResponder::composeReply(r);
        QVERIFY2(!reply.contains(QStringLiteral("tianyi_fan2")) && reply.contains(QStringLiteral("演示")), qPrintable(reply));
    }

    void demoResponderIsVariedButDeterministic()
    {
        // The same message at different points of a conversation is not answered the same way every
        // time, and the same request always gets the same reply.
        QSet<QString> replies;
        for (int turns = 1; turns <= 8; ++turns) {
            LlmRequest r = chat(QStringLiteral("洛天依的形象是谁设计的？"));
            for (int i = 1; i < turns; ++i) {
                r.messages.insert(1, {QStringLiteral("assistant"), QStringLiteral("[开心]嗯嗯。")});
                r.messages.insert(1, {QStringLiteral("user"), QStringLiteral("第%1句").arg(i)});
            }
            const QString reply = DemoLlmResponder::composeReply(r);
            QCOMPARE(DemoLlmResponder::composeReply(r), reply);
            QVERIFY2(reply.contains(QStringLiteral("我的形象是MOTH设计的")), qPrintable(reply));
            replies.insert(reply);
        }
        QVERIFY2(replies.size() >= 3, qPrintable(QStringList(replies.values()).join(QLatin1Char('\n'))));
        QSet<QString> openings;
        for (const char *t : {"今天天气不错", "我刚吃完饭", "我在听歌", "周末去爬山了", "好无聊啊", "嗯嗯"})
            openings.insert(DemoLlmResponder::composeReply(chat(QString::fromUtf8(t), false)).section(QChar(0x3002), 0, 0));
        QVERIFY(openings.size() >= 2);
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
