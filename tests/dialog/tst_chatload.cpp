// 100 chat sessions at once, each completing a correct turn (fake upstream at small latencies).
#include "chatfixture.h"

#include <QtTest>
#include <memory>
#include <vector>

using namespace tianyi;
using namespace tianyi::test;

class TestChatLoad : public QObject
{
    Q_OBJECT

private slots:
    void hundredConcurrentSessions()
    {
        constexpr int kUsers = 20;
        constexpr int kPerUser = 5;
        ChatFixture::Options o;
        o.fake.replyText = QStringLiteral("[开心]你好！很高兴见到你。");
        o.fake.ttftMs = 5;
        o.fake.tokensPerSecond = 500;
        o.fake.ttsFirstChunkMs = 2;
        o.fake.ttsRealTimeFactor = 0.01;
        o.fake.ttsSampleRate = 16000;
        o.adjust = [](Config &c) {
            c.tts.perBackendConcurrency = 16;
            c.llm.firstByteTimeoutMs = 30000;
            c.llm.inactivityTimeoutMs = 30000;
            c.tts.timeoutMs = 30000;
        };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        std::vector<std::unique_ptr<ChatTestClient>> clients;
        for (int u = 0; u < kUsers; ++u) {
            const ChatUser user = fx.user();
            for (int k = 0; k < kPerUser; ++k) {
                auto c = std::make_unique<ChatTestClient>();
                c->open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(user.token)}});
                clients.push_back(std::move(c));
            }
        }
        QVERIFY(QTest::qWaitFor([&]() {
            for (const auto &c : clients) {
                if (c->indexOfType(chat::kHello) < 0)
                    return false;
            }
            return true;
        }, 60000));
        for (const auto &c : clients)
            c->chat(QStringLiteral("你好"));
        QVERIFY(QTest::qWaitFor([&]() {
            for (const auto &c : clients) {
                if (c->indexOfType(chat::kTurnEnd, 1) < 0)
                    return false;
            }
            return true;
        }, 120000));
        for (const auto &c : clients) {
            QCOMPARE(checkTurnOrder(c->messages, 1), QString());
            QCOMPARE(c->first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kCompleted);
            QCOMPARE(c->first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString(), QStringLiteral("你好！很高兴见到你。"));
            QVERIFY(c->sentenceAudioComplete(1, 0));
        }
        QCOMPARE(fx.app().metrics().value(QStringLiteral("tianyi_chat_sessions")), double(kUsers * kPerUser));
    }
};

QTEST_GUILESS_MAIN(TestChatLoad)
#include "tst_chatload.moc"
