// The chat socket end to end: a real server in-process, real QWebSocket clients, and the fake
// upstream speaking the OpenAI-compatible and GPT-SoVITS wire protocols.
#include "authtest.h"
#include "chatfixture.h"

#include <QSemaphore>
#include <QtTest>
#include <optional>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kReply = QStringLiteral("[开心]你好呀！今天想聊点什么呢？[悲伤]可是我有点累了。");
const QString kLong = QStringLiteral("[开心]第一句话说完了。第二句话也说完了。第三句话还在路上。第四句话更远一些。第五句话是最后一句。");

ChatFixture::Options fastOptions(const QString &reply = kReply)
{
    return ChatFixture::fast(reply);
}

QString statusOf(const ChatTestClient &c, int turn)
{
    return c.first(chat::kTurnEnd, turn).value(QStringLiteral("status")).toString();
}

// Every message of `turn` after its `stopped`: must be exactly its turn_end.
int messagesAfterStopped(const ChatTestClient &c, int turn)
{
    const int stopped = c.indexOfType(chat::kStopped, turn);
    if (stopped < 0)
        return -1;
    int n = 0;
    for (int i = stopped + 1; i < c.messages.size(); ++i) {
        if (c.messages.at(i).turn() == turn)
            ++n;
    }
    return n;
}

// Holds the server's storage thread busy from construction until open() (or destruction, so that a
// failing test never leaves it blocked): work queued meanwhile waits behind it (the queue is FIFO).
class StorageGate
{
public:
    static constexpr int kLongestHoldMs = 20000; // a safety net; tests open the gate long before

    explicit StorageGate(ChatFixture &fx)
    {
        fx.app().database().write<bool>(&fx.app(), [gate = m_gate](SqlSession &) { return gate->tryAcquire(1, kLongestHoldMs); },
                                        [](DbResult<bool>) {});
    }
    ~StorageGate() { open(); }
    void open() const
    {
        if (m_gate->available() == 0)
            m_gate->release();
    }

private:
    std::shared_ptr<QSemaphore> m_gate = std::make_shared<QSemaphore>();
};
} // namespace

class TestChatSocket : public QObject
{
    Q_OBJECT

private slots:
    void fullTurn_data()
    {
        QTest::addColumn<bool>("jsonAudio");
        QTest::newRow("binary") << false;
        QTest::newRow("json") << true;
    }
    void fullTurn()
    {
        QFETCH(bool, jsonAudio);
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser alice = fx.user(QStringLiteral("alice"), QStringLiteral("小爱"));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), alice.token, jsonAudio));

        const QJsonObject hello = c.first(chat::kHello);
        QCOMPARE(hello.value(QStringLiteral("protocol")).toInt(), 1);
        QVERIFY(!hello.value(QStringLiteral("session_id")).toString().isEmpty());
        QCOMPARE(hello.value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger(), alice.id);
        QCOMPARE(hello.value(QStringLiteral("user")).toObject().value(QStringLiteral("nickname")).toString(), QStringLiteral("小爱"));
        const QJsonObject persona = hello.value(QStringLiteral("persona")).toObject();
        QCOMPARE(persona.value(QStringLiteral("name")).toString(), QStringLiteral("洛天依"));
        QCOMPARE(persona.value(QStringLiteral("emotions")).toArray().size(), 6);
        QCOMPARE(hello.value(QStringLiteral("audio")).toObject().value(QStringLiteral("format")).toString(), QStringLiteral("pcm_s16le"));
        QCOMPARE(hello.value(QStringLiteral("audio")).toObject().value(QStringLiteral("sample_rate")).toInt(), 32000);
        QCOMPARE(hello.value(QStringLiteral("audio")).toObject().value(QStringLiteral("channels")).toInt(), 1);

        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        QCOMPARE(c.badFrames, 0);
        const QJsonObject start = c.first(chat::kTurnStart, 1);
        QCOMPARE(start.value(QStringLiteral("user_text")).toString(), QStringLiteral("你好"));
        QVERIFY(start.value(QStringLiteral("correlation_id")).toString().endsWith(QLatin1String("#1")));

        const QJsonObject end = c.first(chat::kTurnEnd, 1);
        QCOMPARE(end.value(QStringLiteral("status")).toString(), chat::kCompleted);
        const QString expected = QStringLiteral("你好呀！今天想聊点什么呢？可是我有点累了。");
        QCOMPARE(end.value(QStringLiteral("text")).toString(), expected);
        QCOMPARE(c.deltaText(1), expected);
        const QJsonObject stats = end.value(QStringLiteral("stats")).toObject();
        for (const char *key : {"ttft_ms", "first_audio_ms", "total_ms", "tokens", "sentences", "audio_ms"})
            QVERIFY2(stats.value(QLatin1String(key)).isDouble(), key);
        QVERIFY(stats.value(QStringLiteral("audio_ms")).toInt() > 0);

        // Sentences, each with audio that ends with a last chunk; emotions from the split tags.
        QList<ChatMessage> sentences;
        for (const ChatMessage &m : c.ofTurn(1)) {
            if (m.type() == chat::kSentence)
                sentences << m;
        }
        QCOMPARE(stats.value(QStringLiteral("sentences")).toInt(), sentences.size());
        QVERIFY(sentences.size() >= 3);
        QCOMPARE(sentences.first().json.value(QStringLiteral("emotion")).toString(), QStringLiteral("happy"));
        QCOMPARE(sentences.last().json.value(QStringLiteral("emotion")).toString(), QStringLiteral("sad"));
        for (int i = 0; i < sentences.size(); ++i) {
            QVERIFY2(c.sentenceAudioComplete(1, i), qPrintable(QString::number(i)));
            QVERIFY(!c.sentencePcm(1, i).isEmpty());
        }
        QList<QPair<QString, int>> emotions;
        for (const ChatMessage &m : c.ofTurn(1)) {
            if (m.type() == chat::kEmotion)
                emotions << qMakePair(m.json.value(QStringLiteral("emotion")).toString(), m.json.value(QStringLiteral("sentence")).toInt());
        }
        QCOMPARE(emotions.size(), 2);
        QCOMPARE(emotions.at(0), qMakePair(QStringLiteral("happy"), 0));
        QCOMPARE(emotions.at(1).first, QStringLiteral("sad"));
        QCOMPARE(emotions.at(1).second, sentences.size() - 1);

        if (jsonAudio) {
            for (const ChatMessage &m : c.ofTurn(1)) {
                if (!m.isAudio())
                    continue;
                QVERIFY(!m.binary);
                const int samples = int(m.audioPcm().size() / 2);
                const int window = m.sampleRate() * 20 / 1000;
                QCOMPARE(m.json.value(QStringLiteral("volumes")).toArray().size(), (samples + window - 1) / window);
            }
        } else {
            QVERIFY(c.indexOf([](const ChatMessage &m) { return m.binary; }) >= 0);
        }

        // Stored as completed, with the whole reply.
        QVector<StoredTurn> turns;
        QTRY_VERIFY_WITH_TIMEOUT((turns = fx.storedTurns(alice.id)).size() == 1 && turns.first().status == chat::kCompleted, 10000);
        QCOMPARE(turns.first().userText, QStringLiteral("你好"));
        QCOMPARE(turns.first().replyText, expected);
        // Each sentence's audio is kept for replay (AudioStore, asynchronous).
        QTRY_VERIFY_WITH_TIMEOUT((turns = fx.storedTurns(alice.id)).first().sentences.size() == sentences.size(), 10000);
        QCOMPARE(turns.first().sentences.first().text, sentences.first().json.value(QStringLiteral("text")).toString());
        QVERIFY(turns.first().sentences.first().durationMs > 0);

        // A second turn on the same socket.
        c.chat(QStringLiteral("再来一次"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(checkTurnOrder(c.messages, 2), QString());
        QCOMPARE(statusOf(c, 2), chat::kCompleted);
    }

    void slowConsumerIsDropped()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) { c.limits.wsMaxSendQueueBytes = 4096; }; // smaller than one audio chunk
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseSlowConsumer);
        QVector<StoredTurn> turns;
        QTRY_VERIFY_WITH_TIMEOUT((turns = fx.storedTurns(u.id)).size() == 1 && turns.first().status == chat::kInterrupted, 10000);
    }

    void metricsCountTurnsAndSessions()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        QCOMPARE(fx.app().metrics().value(QStringLiteral("tianyi_chat_sessions")), 1.0);
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(fx.app().metrics().value(QStringLiteral("tianyi_chat_turns_total"), {{QStringLiteral("status"), chat::kCompleted}}), 1.0);
        const QByteArray text = fx.app().metrics().render();
        for (const char *name : {"tianyi_chat_ttft_seconds_count", "tianyi_chat_first_audio_seconds_count", "tianyi_tts_scheduler_wait_seconds_count",
                                 "tianyi_tts_scheduler_queue_length"})
            QVERIFY2(text.contains(name), name);
    }

    void emotionTagSplitAcrossDeltas()
    {
        // The fake streams one CJK character per SSE chunk, so "[惊讶]" arrives as "[", "惊", "讶", "]".
        ChatFixture::Options o = fastOptions(QStringLiteral("[惊讶]诶？真的吗？[撒娇]那你要陪我多聊一会儿嘛。"));
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        int deltas = 0;
        QStringList emotions;
        for (const ChatMessage &m : c.ofTurn(1)) {
            if (m.type() == chat::kTextDelta) {
                ++deltas;
                const QString d = m.json.value(QStringLiteral("delta")).toString();
                QVERIFY2(!d.contains(QLatin1Char('[')) && !d.contains(QLatin1Char(']')), qPrintable(d));
            }
            if (m.type() == chat::kEmotion)
                emotions << m.json.value(QStringLiteral("emotion")).toString() + QLatin1Char('@')
                                + QString::number(m.json.value(QStringLiteral("sentence")).toInt());
        }
        QVERIFY(deltas > 5);
        QCOMPARE(c.deltaText(1), QStringLiteral("诶？真的吗？那你要陪我多聊一会儿嘛。"));
        QCOMPARE(emotions, (QStringList{QStringLiteral("surprised@0"), QStringLiteral("coquettish@2")}));
        QCOMPARE(c.first(chat::kSentence, 1).value(QStringLiteral("emotion")).toString(), QStringLiteral("surprised"));
    }

    void oversizedMessageClosesTheSocket()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) { c.limits.wsMaxMessageBytes = 1024; };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QString(2000, QLatin1Char('x')));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, int(QWebSocketProtocol::CloseCodeTooMuchData));
    }

    void badPersonaStopsStartup()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) { c.chat.persona = QStringLiteral("/nonexistent/persona.json"); };
        ChatFixture fx(o);
        QVERIFY(!fx.started());
        QVERIFY2(fx.error().contains(QStringLiteral("chat.persona")) && fx.error().contains(QStringLiteral("/nonexistent/persona.json")),
                 qPrintable(fx.error()));
    }

    void bargeIn_data()
    {
        QTest::addColumn<QString>("when");
        QTest::newRow("before first token") << QStringLiteral("before_first_token");
        QTest::newRow("mid text") << QStringLiteral("mid_text");
        QTest::newRow("mid audio") << QStringLiteral("mid_audio");
        QTest::newRow("between sentences") << QStringLiteral("between_sentences");
    }
    void bargeIn()
    {
        QFETCH(QString, when);
        ChatFixture::Options o = fastOptions(kLong);
        if (when == QLatin1String("before_first_token"))
            o.fake.ttftMs = 5000;
        if (when == QLatin1String("mid_text"))
            o.fake.tokensPerSecond = 10;
        if (when == QLatin1String("mid_audio") || when == QLatin1String("between_sentences"))
            o.fake.ttsRealTimeFactor = 1.0;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        c.chat(QStringLiteral("讲个故事"));
        if (when == QLatin1String("before_first_token")) {
            QVERIFY(c.waitForType(chat::kTurnStart, 1));
            QTRY_VERIFY(fx.fake.recordedCount() > 0);
        } else if (when == QLatin1String("mid_text")) {
            QVERIFY(c.waitForType(chat::kTextDelta, 1));
        } else if (when == QLatin1String("mid_audio")) {
            QVERIFY(c.waitFor([&]() { return c.indexOf([](const ChatMessage &m) { return m.isAudio() && !m.last(); }) >= 0; }));
        } else {
            QVERIFY(c.waitFor([&]() { return c.sentenceAudioComplete(1, 0); }));
        }
        c.send({{QStringLiteral("type"), chat::kStop}, {QStringLiteral("turn"), 1}});
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(statusOf(c, 1), chat::kInterrupted);
        QVERIFY(c.first(chat::kStopped, 1).value(QStringLiteral("stop_ms")).isDouble());
        if (when == QLatin1String("before_first_token") || when == QLatin1String("mid_text"))
            QTRY_VERIFY(fx.fake.disconnectsSeen() > 0); // the LLM request was really aborted

        // A fence: a whole next turn; nothing of turn 1 may have come after its stopped but turn_end.
        c.chat(QStringLiteral("换个话题"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(messagesAfterStopped(c, 1), 1);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        QCOMPARE(checkTurnOrder(c.messages, 2), QString());

        QVector<StoredTurn> turns;
        QTRY_VERIFY_WITH_TIMEOUT((turns = fx.storedTurns(u.id)).size() == 2 && turns.last().status == chat::kInterrupted, 10000);
        const QString heard = turns.last().replyText;
        QVERIFY(!heard.contains(QLatin1Char('[')));
        if (when == QLatin1String("before_first_token") || when == QLatin1String("mid_text"))
            QCOMPARE(heard, QString()); // no audio was fully sent
        if (when == QLatin1String("between_sentences"))
            QVERIFY(heard.startsWith(QStringLiteral("第一句话说完了。")));
    }

    void chatDuringTurnStopsIt_data()
    {
        QTest::addColumn<bool>("storeHeld");
        QTest::newRow("at once") << false;
        // The stopped turn's turn_end waits for its store (see turnEndOnlyOnceTheTurnIsStored): the
        // new chat waits behind it, so turns stay in order on the socket.
        QTest::newRow("while the stopped turn is stored") << true;
    }
    void chatDuringTurnStopsIt()
    {
        QFETCH(bool, storeHeld);
        ChatFixture::Options o = fastOptions(kLong);
        o.fake.tokensPerSecond = 10;
        o.fake.script = {{QStringLiteral("短"), QStringLiteral("好的。")}};
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QStringLiteral("讲个长故事"));
        QVERIFY(c.waitForType(chat::kTextDelta, 1));
        std::optional<StorageGate> gate;
        if (storeHeld)
            gate.emplace(fx);
        c.chat(QStringLiteral("短一点"));
        if (gate) {
            c.send({{QStringLiteral("type"), chat::kPing}});
            QVERIFY(c.waitForType(chat::kPong)); // the socket is ordered: all sent before it is here
            QVERIFY(c.indexOfType(chat::kStopped, 1) >= 0);
            QCOMPARE(c.indexOfType(chat::kTurnEnd, 1), -1);
            QCOMPARE(c.indexOfType(chat::kTurnStart, 2), -1);
            gate->open();
        }
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        const int stopped = c.indexOfType(chat::kStopped, 1);
        const int end1 = c.indexOfType(chat::kTurnEnd, 1);
        const int start2 = c.indexOfType(chat::kTurnStart, 2);
        QVERIFY(stopped >= 0);
        QVERIFY(stopped < end1);
        QVERIFY(end1 < start2);
        QCOMPARE(statusOf(c, 1), chat::kInterrupted);
        QCOMPARE(statusOf(c, 2), chat::kCompleted);
        QCOMPARE(messagesAfterStopped(c, 1), 1);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        QCOMPARE(checkTurnOrder(c.messages, 2), QString());
        QCOMPARE(c.first(chat::kTurnEnd, 2).value(QStringLiteral("text")).toString(), QStringLiteral("好的。"));
    }

    // turn_end acknowledges a turn: it goes out once the finished turn and its outbox jobs are
    // committed, so a crash right after it cannot lose or fail a turn the client was told about
    // (bench/chaos.py found acknowledged turns stored as failed after a SIGKILL). The storage thread
    // is held busy here: the turn finishes, its turn_end waits for the write.
    void turnEndOnlyOnceTheTurnIsStored()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTextDelta, 1)); // the turn's own storage work before the reply is done
        const StorageGate gate(fx);
        QTRY_COMPARE_WITH_TIMEOUT(fx.app().metrics().value(QStringLiteral("tianyi_chat_turns_total"), {{QStringLiteral("status"), chat::kCompleted}}),
                                  1.0, 20000);
        // The socket is ordered: whatever the server sent before the pong arrives before it.
        c.send({{QStringLiteral("type"), chat::kPing}});
        QVERIFY(c.waitForType(chat::kPong));
        QCOMPARE(c.indexOfType(chat::kTurnEnd, 1), -1);
        gate.open();
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(statusOf(c, 1), chat::kCompleted);
        const QVector<StoredTurn> turns = fx.storedTurns(u.id);
        QCOMPARE(turns.size(), 1);
        QCOMPARE(turns.first().status, chat::kCompleted);
    }

    void llmFaults_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::newRow("401") << QStringLiteral("401");
        QTest::newRow("429") << QStringLiteral("429");
        QTest::newRow("500") << QStringLiteral("500");
        QTest::newRow("cut") << QStringLiteral("cut");
        QTest::newRow("stall") << QStringLiteral("stall");
        QTest::newRow("sse-error") << QStringLiteral("sse-error");
    }
    void llmFaults()
    {
        QFETCH(QString, fault);
        ChatFixture::Options o = fastOptions();
        o.llmFault = fault;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        for (int turn = 1; turn <= 2; ++turn) {
            c.chat(QStringLiteral("你好"));
            QVERIFY(c.waitForType(chat::kTurnEnd, turn));
            QCOMPARE(statusOf(c, turn), chat::kFailed);
            const QJsonObject error = c.first(chat::kError, turn);
            QCOMPARE(error.value(QStringLiteral("code")).toString(), chat::kErrLlmUnavailable);
            QVERIFY(!error.value(QStringLiteral("message")).toString().isEmpty());
            QVERIFY(c.indexOfType(chat::kError, turn) < c.indexOfType(chat::kTurnEnd, turn));
            if (fault == QLatin1String("429"))
                QVERIFY(error.value(QStringLiteral("retry_after_ms")).toInt() > 0);
            QCOMPARE(checkTurnOrder(c.messages, turn), QString());
        }
        c.send({{QStringLiteral("type"), chat::kPing}});
        QVERIFY(c.waitForType(chat::kPong));
        QVERIFY(!c.closed);
    }

    void llmRecoversForTheNextTurn()
    {
        ChatFixture::Options o = fastOptions();
        o.llmFault = QStringLiteral("flaky"); // 503 once, then normal
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(statusOf(c, 1), chat::kFailed);
        QCOMPARE(c.first(chat::kError, 1).value(QStringLiteral("code")).toString(), chat::kErrLlmUnavailable);
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(statusOf(c, 2), chat::kCompleted);
        QCOMPARE(checkTurnOrder(c.messages, 2), QString());
    }

    void ttsFaults_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::newRow("500") << QStringLiteral("500");
        QTest::newRow("400") << QStringLiteral("400");
        QTest::newRow("silent") << QStringLiteral("silent");
    }
    void ttsFaults()
    {
        QFETCH(QString, fault);
        ChatFixture::Options o = fastOptions();
        o.ttsFault = fault;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(statusOf(c, 1), chat::kCompleted);
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString(), QStringLiteral("你好呀！今天想聊点什么呢？可是我有点累了。"));
        int errors = 0;
        for (const ChatMessage &m : c.ofTurn(1)) {
            if (m.type() == chat::kError) {
                ++errors;
                QCOMPARE(m.json.value(QStringLiteral("code")).toString(), chat::kErrTtsUnavailable);
            }
        }
        QCOMPARE(errors, 1);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
    }

    void disconnectMidTurnCancelsAndStores()
    {
        ChatFixture::Options o = fastOptions(kLong);
        o.fake.tokensPerSecond = 10;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        {
            ChatTestClient c;
            QVERIFY(c.openAndHello(fx.port(), u.token));
            c.chat(QStringLiteral("讲个故事"));
            QVERIFY(c.waitForType(chat::kTextDelta, 1));
            c.socket.abort();
        }
        QTRY_VERIFY_WITH_TIMEOUT(fx.fake.disconnectsSeen() > 0, 10000);
        QVector<StoredTurn> turns;
        QTRY_VERIFY_WITH_TIMEOUT((turns = fx.storedTurns(u.id)).size() == 1 && turns.first().status == chat::kInterrupted, 10000);
        QTRY_COMPARE(fx.app().metrics().value(QStringLiteral("tianyi_chat_sessions")), 0.0);
    }

    void twoUsersNoCrossTalk()
    {
        ChatFixture::Options o = fastOptions();
        o.fake.script = {{QStringLiteral("alpha"), QStringLiteral("这是给阿尔法的回答。")}, {QStringLiteral("beta"), QStringLiteral("这是给贝塔的回答。")}};
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        ChatTestClient ca;
        ChatTestClient cb;
        QVERIFY(ca.openAndHello(fx.port(), a.token));
        QVERIFY(cb.openAndHello(fx.port(), b.token, true));
        ca.chat(QStringLiteral("alpha"));
        cb.chat(QStringLiteral("beta"));
        QVERIFY(ca.waitForType(chat::kTurnEnd, 1));
        QVERIFY(cb.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(ca.first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString(), QStringLiteral("这是给阿尔法的回答。"));
        QCOMPARE(cb.first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString(), QStringLiteral("这是给贝塔的回答。"));
        QCOMPARE(ca.first(chat::kHello).value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger(), a.id);
        QCOMPARE(cb.first(chat::kHello).value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger(), b.id);
        for (const ChatMessage &m : ca.messages)
            QVERIFY(!QJsonDocument(m.json).toJson().contains("贝塔"));
        for (const ChatMessage &m : cb.messages)
            QVERIFY(!QJsonDocument(m.json).toJson().contains("阿尔法"));
        QCOMPARE(checkTurnOrder(ca.messages, 1), QString());
        QCOMPARE(checkTurnOrder(cb.messages, 1), QString());
        QTRY_COMPARE(fx.storedTurns(a.id).size(), 1);
        QCOMPARE(fx.storedTurns(a.id).first().userText, QStringLiteral("alpha"));
        QCOMPARE(fx.storedTurns(b.id).first().userText, QStringLiteral("beta"));
    }

    void nextPromptHoldsOnlyWhatWasHeard()
    {
        ChatFixture::Options o = fastOptions(kLong);
        o.fake.ttsRealTimeFactor = 1.0;
        o.fake.script = {{QStringLiteral("继续"), QStringLiteral("好的。")}};
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        c.chat(QStringLiteral("讲个故事"));
        QVERIFY(c.waitFor([&]() { return c.sentenceAudioComplete(1, 0); }));
        const QByteArray pcm0 = c.sentencePcm(1, 0);
        int rate = 0;
        for (const ChatMessage &m : c.ofTurn(1)) {
            if (m.isAudio())
                rate = m.sampleRate();
        }
        const qint64 played = qint64(pcm0.size()) * 1000 / (qint64(rate) * 2);
        c.send({{QStringLiteral("type"), chat::kStop}, {QStringLiteral("played_ms"), played}});
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(statusOf(c, 1), chat::kInterrupted);
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString(), QStringLiteral("第一句话说完了。"));

        c.chat(QStringLiteral("继续"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        const QJsonArray messages = fx.lastLlmMessages();
        QCOMPARE(messages.size(), 4);
        QCOMPARE(messages.at(0).toObject().value(QStringLiteral("role")).toString(), QStringLiteral("system"));
        QCOMPARE(messages.at(1).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("讲个故事"));
        QCOMPARE(messages.at(2).toObject().value(QStringLiteral("role")).toString(), QStringLiteral("assistant"));
        QCOMPARE(messages.at(2).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("第一句话说完了。"));
        QCOMPARE(messages.at(3).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("继续"));
        const QByteArray all = QJsonDocument(messages).toJson();
        QVERIFY(!all.toLower().contains("interrupt"));
        QVERIFY(!all.contains("第二句话"));
        QVERIFY(!all.contains("打断"));
    }

    void authentication()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) {
            c.chat.authTimeoutMs = 300;
            c.chat.maxSessionsPerUser = 2;
        };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        {   // a bad token
            ChatTestClient c;
            c.open(fx.port(), {{QStringLiteral("token"), QStringLiteral("not.a.jwt")}});
            QVERIFY(c.waitClosed());
            QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
            QCOMPARE(c.indexOfType(chat::kHello), -1);
        }
        {   // an expired token
            ChatTestClient c;
            c.open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(fx.tokenFor(u.id, -10))}});
            QVERIFY(c.waitClosed());
            QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        }
        {   // the auth message
            ChatTestClient c;
            c.open(fx.port());
            QTRY_COMPARE(c.socket.state(), QAbstractSocket::ConnectedState);
            c.send({{QStringLiteral("type"), chat::kAuth}, {QStringLiteral("token"), QString::fromLatin1(u.token)}});
            QVERIFY(c.waitForType(chat::kHello));
            QCOMPARE(c.first(chat::kHello).value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger(), u.id);
        }
        {   // no auth in time
            ChatTestClient c;
            c.open(fx.port());
            QVERIFY(c.waitClosed());
            QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        }
        {   // another message before auth
            ChatTestClient c;
            c.open(fx.port());
            QTRY_COMPARE(c.socket.state(), QAbstractSocket::ConnectedState);
            c.chat(QStringLiteral("你好"));
            QVERIFY(c.waitClosed());
            QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        }
        {   // the per-user session limit
            ChatTestClient c1;
            ChatTestClient c2;
            ChatTestClient c3;
            QVERIFY(c1.openAndHello(fx.port(), u.token));
            QVERIFY(c2.openAndHello(fx.port(), u.token));
            c3.open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(u.token)}});
            QVERIFY(c3.waitClosed());
            QCOMPARE(c3.closeCode, chat::kCloseTooManySessions);
        }
        {   // a disabled user
            const ChatUser d = fx.user();
            QVERIFY(fx.execSql(QStringLiteral("UPDATE users SET disabled = 1 WHERE id = ?"), {d.id}));
            ChatTestClient c;
            c.open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(d.token)}});
            QVERIFY(c.waitClosed());
            QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        }
    }

    void rateLimited()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) { c.chat.turnsPerMinute = 2; };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QStringLiteral("一"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        c.chat(QStringLiteral("二"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        c.chat(QStringLiteral("三"));
        QVERIFY(c.waitFor([&]() { return c.first(chat::kError).value(QStringLiteral("code")).toString() == chat::kErrRateLimited; }));
        QVERIFY(c.first(chat::kError).value(QStringLiteral("retry_after_ms")).toInt() > 0);
        QCOMPARE(c.indexOfType(chat::kTurnStart, 3), -1);
    }

    void badMessages()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) {
            c.chat.maxMalformed = 3;
            c.chat.maxTextChars = 10;
        };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.send({{QStringLiteral("type"), chat::kPing}});
        QVERIFY(c.waitForType(chat::kPong));
        c.chat(QStringLiteral("这句话一定超过了十个字符的限制"));
        QVERIFY(c.waitForType(chat::kError));
        QCOMPARE(c.first(chat::kError).value(QStringLiteral("code")).toString(), chat::kErrTooLarge);
        c.socket.sendTextMessage(QStringLiteral("{not json"));
        c.send({{QStringLiteral("type"), QStringLiteral("dance")}});
        QVERIFY(c.waitFor([&]() {
            int n = 0;
            for (const ChatMessage &m : c.messages)
                n += m.json.value(QStringLiteral("code")).toString() == chat::kErrBadRequest;
            return n == 2;
        }));
        QVERIFY(!c.closed);
        c.send({{QStringLiteral("type"), chat::kChat}});
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseAbuse);
    }

    // A socket lives as long as its login: its access token's expiry closes it (4001)...
    void anExpiredAccessTokenClosesTheSocket()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.tokenFor(fx.user().id, 2)));
        const qint64 expiresAt = c.first(chat::kHello).value(QStringLiteral("token_expires_at")).toInteger();
        QVERIFY(expiresAt >= QDateTime::currentSecsSinceEpoch());
        QVERIFY(c.waitClosed(15000));
        QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        QVERIFY(QDateTime::currentSecsSinceEpoch() >= expiresAt); // not before it expired
    }

    // ...unless the client sends a fresh token of the same account on the socket first.
    void aFreshTokenKeepsTheSocketOpenPastTheOldExpiry()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.tokenFor(u.id, 2)));
        const qint64 oldExpiry = c.first(chat::kHello).value(QStringLiteral("token_expires_at")).toInteger();
        c.send({{QStringLiteral("type"), chat::kAuth}, {QStringLiteral("token"), QString::fromUtf8(fx.tokenFor(u.id, 600))}});
        QVERIFY(c.waitForType(chat::kAuthenticated));
        QVERIFY(c.first(chat::kAuthenticated).value(QStringLiteral("token_expires_at")).toInteger() >= oldExpiry + 500);
        QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentSecsSinceEpoch() > oldExpiry + 1, 10000);
        c.chat(QStringLiteral("still here"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QVERIFY(!c.closed);
    }

    void aTokenOfAnotherAccountOnAnOpenSocketClosesIt()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser other = fx.user(); // each call registers another account
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.send({{QStringLiteral("type"), chat::kAuth}, {QStringLiteral("token"), QString::fromUtf8(other.token)}});
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(c.indexOfType(chat::kAuthenticated), -1);
    }

    // Logging one device out closes the sockets of that login at once, and only those: the same
    // account's other login keeps chatting. A logged-out login's access token opens nothing more,
    // on the socket or over HTTP; a reused (stolen) refresh token ends its login's sockets too.
    void aLogoutClosesTheSocketsOfThatLoginOnly()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        HttpClient http(fx.server->baseUrl());
        const ChatUser u = fx.user();
        const HttpResult laptop = loginForm(http, u.username, QStringLiteral("correct horse battery"));
        const HttpResult phone = loginForm(http, u.username, QStringLiteral("correct horse battery"));
        QVERIFY(!jwtPayload(accessTokenOf(laptop)).value(QStringLiteral("sid")).toString().isEmpty());
        QVERIFY(jwtPayload(accessTokenOf(laptop)).value(QStringLiteral("sid")) != jwtPayload(accessTokenOf(phone)).value(QStringLiteral("sid")));
        ChatTestClient onLaptop, alsoOnLaptop, onPhone;
        QVERIFY(onLaptop.openAndHello(fx.port(), accessTokenOf(laptop)));
        QVERIFY(alsoOnLaptop.openAndHello(fx.port(), accessTokenOf(laptop)));
        QVERIFY(onPhone.openAndHello(fx.port(), accessTokenOf(phone)));

        const HttpResult out = http.postJson(QStringLiteral("/api/v1/auth/logout"), {{QStringLiteral("refresh_token"), QString::fromLatin1(refreshTokenOf(laptop))}});
        QCOMPARE(out.status, 204);
        QVERIFY(onLaptop.waitClosed());
        QVERIFY(alsoOnLaptop.waitClosed());
        QCOMPARE(onLaptop.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(alsoOnLaptop.closeCode, chat::kCloseUnauthorized);
        onPhone.chat(QStringLiteral("still here"));
        QVERIFY(onPhone.waitForType(chat::kTurnEnd, 1));
        QVERIFY(!onPhone.closed);

        // The laptop's access token has not expired, but its login has.
        ChatTestClient again;
        again.open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(accessTokenOf(laptop))}});
        QVERIFY(again.waitClosed());
        QCOMPARE(again.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(again.indexOfType(chat::kHello), -1);
        QCOMPARE(http.get(QStringLiteral("/api/v1/me/profile"), accessTokenOf(laptop)).status, 401);
        QCOMPARE(http.get(QStringLiteral("/api/v1/me/profile"), accessTokenOf(phone)).status, 200);

        // A renewed token of the phone's login keeps its socket; presenting the rotated refresh
        // token again (a stolen copy) revokes that login and closes its socket.
        const HttpResult renewed = refreshGrant(http, refreshTokenOf(phone));
        QCOMPARE(renewed.status, 200);
        QCOMPARE(jwtPayload(accessTokenOf(renewed)).value(QStringLiteral("sid")), jwtPayload(accessTokenOf(phone)).value(QStringLiteral("sid")));
        onPhone.send({{QStringLiteral("type"), chat::kAuth}, {QStringLiteral("token"), QString::fromLatin1(accessTokenOf(renewed))}});
        QVERIFY(onPhone.waitForType(chat::kAuthenticated));
        QCOMPARE(oauthErrorCode(refreshGrant(http, refreshTokenOf(phone))), QStringLiteral("invalid_grant"));
        QVERIFY(onPhone.waitClosed());
        QCOMPARE(onPhone.closeCode, chat::kCloseUnauthorized);
    }

    void speechInput()
    {
        ChatFixture::Options o = fastOptions();
        o.asr = true;
        o.fake.asrText = QStringLiteral("你好");
        o.adjust = [](Config &c) { c.chat.maxAudioInputBytes = 20000; };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.send({{QStringLiteral("type"), chat::kAudioStart}, {QStringLiteral("sample_rate"), 16000}, {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
        c.socket.sendBinaryMessage(QByteArray(8000, '\x10'));
        c.socket.sendBinaryMessage(QByteArray(8000, '\x20'));
        c.send({{QStringLiteral("type"), chat::kAudioEnd}});
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        const QJsonObject transcript = c.first(chat::kTranscript);
        QCOMPARE(transcript.value(QStringLiteral("text")).toString(), QStringLiteral("你好"));
        QCOMPARE(transcript.value(QStringLiteral("final")).toBool(), true);
        QVERIFY(c.indexOfType(chat::kTranscript) < c.indexOfType(chat::kTurnStart, 1));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("你好"));
        QCOMPARE(statusOf(c, 1), chat::kCompleted);

        // Speech input over its cap: too_large, nothing transcribed.
        const int asrRequests = fx.fake.recordedCount(QStringLiteral("/v1/audio/transcriptions"));
        c.send({{QStringLiteral("type"), chat::kAudioStart}, {QStringLiteral("sample_rate"), 16000}, {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
        for (int i = 0; i < 3; ++i)
            c.socket.sendBinaryMessage(QByteArray(8000, '\x10'));
        QVERIFY(c.waitFor([&]() { return c.first(chat::kError).value(QStringLiteral("code")).toString() == chat::kErrTooLarge; }));
        QCOMPARE(fx.fake.recordedCount(QStringLiteral("/v1/audio/transcriptions")), asrRequests);
        // The microphone's frames still in flight and the closing audio_end are not malformed messages.
        for (int i = 0; i < 10; ++i)
            c.socket.sendBinaryMessage(QByteArray(3200, '\x10'));
        c.send({{QStringLiteral("type"), chat::kAudioEnd}});
        c.chat(QStringLiteral("still here"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(c.countType(chat::kError), 1); // only the too_large
        QCOMPARE(fx.fake.recordedCount(QStringLiteral("/v1/audio/transcriptions")), asrRequests);
        QVERIFY(c.first(chat::kHello).value(QStringLiteral("speech_input")).toBool());
    }

    void speechInputUnavailable()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.send({{QStringLiteral("type"), chat::kAudioStart}, {QStringLiteral("sample_rate"), 16000}, {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
        QVERIFY(c.waitForType(chat::kError));
        QCOMPARE(c.first(chat::kError).value(QStringLiteral("code")).toString(), chat::kErrAsrUnavailable);
        QVERIFY(!c.first(chat::kError).value(QStringLiteral("message")).toString().isEmpty());
        QCOMPARE(c.first(chat::kHello).value(QStringLiteral("speech_input")).toBool(true), false);
        // A microphone keeps streaming until the page has read the error: more than chat.max_malformed
        // frames must neither be answered as malformed nor close the socket.
        for (int i = 0; i < 20; ++i)
            c.socket.sendBinaryMessage(QByteArray(3200, '\x10'));
        c.send({{QStringLiteral("type"), chat::kAudioEnd}});
        c.chat(QStringLiteral("typed instead"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(statusOf(c, 1), chat::kCompleted);
        QCOMPARE(c.countType(chat::kError), 1);
        QVERIFY(c.socket.state() == QAbstractSocket::ConnectedState);
    }

    void builtInProvidersTurn()
    {
        // No upstream configured: the offline demo responder and espeak-ng.
        ChatFixture::Options o;
        o.fakeLlm = false;
        o.fakeTts = false;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1, 60000));
        QCOMPARE(statusOf(c, 1), chat::kCompleted);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        QVERIFY(!c.deltaText(1).contains(QLatin1Char('[')));
    }
};

QTEST_GUILESS_MAIN(TestChatSocket)
#include "tst_chatsocket.moc"
