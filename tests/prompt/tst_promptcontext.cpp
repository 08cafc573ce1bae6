// The per-user prompt context held in memory while a user has a chat session (PromptContextCache):
// turns of an open session take it from memory (the LLM request leaves without a storage round
// trip), and it never hides a change from the next prompt: the previous turn, a turn just
// interrupted by a barge-in, another device's turn, a profile update.
#include "chatfixture.h"
#include "chattestclient.h"
#include "dialog/chatgateway.h"
#include "prompt/promptcontextcache.h"
#include "metrics/metrics.h"

#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {

ChatFixture::Options fastOptions()
{
    return ChatFixture::fast(QStringLiteral("[开心]好的呀。"));
}

// The messages of the /chat/completions request whose last message is `userText`.
QJsonArray requestFor(const ChatFixture &fx, const QString &userText)
{
    for (const QJsonValue &v : fx.fake.recorded()) {
        const QJsonArray m = v.toObject().value(QStringLiteral("body")).toObject().value(QStringLiteral("messages")).toArray();
        if (!m.isEmpty() && m.last().toObject().value(QStringLiteral("content")).toString() == userText)
            return m;
    }
    return {};
}

// The user-role contents before the last message (the replayed earlier turns).
QStringList replayedUserTexts(const QJsonArray &messages)
{
    QStringList out;
    for (qsizetype i = 1; i + 1 < messages.size(); ++i) {
        const QJsonObject m = messages.at(i).toObject();
        if (m.value(QStringLiteral("role")).toString() == QLatin1String("user"))
            out << m.value(QStringLiteral("content")).toString();
    }
    return out;
}

double cacheCount(ChatFixture &fx, const QString &result)
{
    const QString text = QString::fromUtf8(fx.app().metrics().render());
    const QString key = QStringLiteral("tianyi_prompt_context_cache_total{result=\"%1\"} ").arg(result);
    const qsizetype at = text.indexOf(key);
    if (at < 0)
        return 0;
    return text.mid(at + key.size()).section(QLatin1Char('\n'), 0, 0).toDouble();
}

} // namespace

class TestPromptContext : public QObject
{
    Q_OBJECT

private slots:
    void turnsOfAnOpenSessionTakeTheContextFromMemory()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        PromptContextCache &cache = fx.app().chat().promptContexts();
        const ChatUser u = fx.user();
        QVERIFY(!cache.holds(u.id));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        QTRY_VERIFY(cache.holds(u.id)); // loaded when the session opened, before any chat
        c.chat(QStringLiteral("第一句"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QTRY_VERIFY(cache.holds(u.id)); // reloaded after the finished turn was stored
        c.chat(QStringLiteral("第二句"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(cacheCount(fx, QStringLiteral("hit")), 2.0);
        QCOMPARE(cacheCount(fx, QStringLiteral("miss")), 0.0);
        // The reloaded context has turn 1 with its reply.
        const QJsonArray second = requestFor(fx, QStringLiteral("第二句"));
        QCOMPARE(replayedUserTexts(second), QStringList{QStringLiteral("第一句")});
        QCOMPARE(second.at(2).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("好的呀。"));
        // The entry goes with the user's last session.
        c.socket.close();
        QTRY_COMPARE(cache.size(), 0);
        QVERIFY(!cache.holds(u.id));
    }

    // A new chat during a turn interrupts it and starts the next turn at once, in the same event:
    // the interrupted turn's write is only queued, yet the new prompt must contain it.
    void aBargeInTurnSeesTheTurnItInterrupted()
    {
        ChatFixture::Options o = fastOptions();
        o.fake.replyText = QStringLiteral("[开心]第一句话说完了。第二句话也说完了。第三句话还在路上。");
        o.fake.tokensPerSecond = 10;
        o.fake.script = {{QStringLiteral("短"), QStringLiteral("好的。")}};
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        PromptContextCache &cache = fx.app().chat().promptContexts();
        const ChatUser u = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        QTRY_VERIFY(cache.holds(u.id));
        c.chat(QStringLiteral("讲个长故事"));
        QVERIFY(c.waitForType(chat::kTextDelta, 1));
        c.chat(QStringLiteral("短一点"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kInterrupted);
        QCOMPARE(replayedUserTexts(requestFor(fx, QStringLiteral("短一点"))), QStringList{QStringLiteral("讲个长故事")});
    }

    void anotherDevicesTurnIsInTheNextPrompt()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        PromptContextCache &cache = fx.app().chat().promptContexts();
        const ChatUser u = fx.user();
        ChatTestClient phone;
        ChatTestClient laptop;
        QVERIFY(phone.openAndHello(fx.port(), u.token));
        QVERIFY(laptop.openAndHello(fx.port(), u.token));
        QTRY_VERIFY(cache.holds(u.id));
        laptop.chat(QStringLiteral("在电脑上说的"));
        QVERIFY(laptop.waitForType(chat::kTurnEnd, 1));
        phone.chat(QStringLiteral("在手机上说的"));
        QVERIFY(phone.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(replayedUserTexts(requestFor(fx, QStringLiteral("在手机上说的"))), QStringList{QStringLiteral("在电脑上说的")});
        // One session closing keeps the entry for the other.
        laptop.socket.close();
        QTRY_COMPARE(fx.app().chat().sessionCount(u.id), 1);
        QTRY_VERIFY(cache.holds(u.id));
    }

    void aProfileUpdateIsInTheNextPrompt()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        PromptContextCache &cache = fx.app().chat().promptContexts();
        const ChatUser u = fx.user(QString(), QStringLiteral("旧名字"));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), u.token));
        QTRY_VERIFY(cache.holds(u.id));
        HttpClient http(fx.server->baseUrl());
        const HttpResult put = http.putJson(QStringLiteral("/api/v1/me/profile"), {{QStringLiteral("nickname"), QStringLiteral("新名字")}}, u.token);
        QCOMPARE(put.status, 200);
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        const QString system = requestFor(fx, QStringLiteral("你好")).first().toObject().value(QStringLiteral("content")).toString();
        QVERIFY2(system.contains(QStringLiteral("新名字")), qPrintable(system));
        QVERIFY(!system.contains(QStringLiteral("旧名字")));
    }

    // Users' entries are their own: B's turn never shows in A's prompt.
    void entriesArePerUser()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        PromptContextCache &cache = fx.app().chat().promptContexts();
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        ChatTestClient ca;
        ChatTestClient cb;
        QVERIFY(ca.openAndHello(fx.port(), a.token));
        QVERIFY(cb.openAndHello(fx.port(), b.token));
        QTRY_VERIFY(cache.holds(a.id) && cache.holds(b.id));
        cb.chat(QStringLiteral("B的秘密"));
        QVERIFY(cb.waitForType(chat::kTurnEnd, 1));
        ca.chat(QStringLiteral("A的问题"));
        QVERIFY(ca.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(replayedUserTexts(requestFor(fx, QStringLiteral("A的问题"))), QStringList());
        QCOMPARE(cache.size(), 2);
    }
};

QTEST_GUILESS_MAIN(TestPromptContext)
#include "tst_promptcontext.moc"
