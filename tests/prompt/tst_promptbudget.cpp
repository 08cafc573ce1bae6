// Prompt budgets: token estimates, and each slot trimmed the way its kind of content wants.
#include "prompt/personacard.h"
#include "prompt/promptbudget.h"
#include "prompt/promptbuilder.h"

#include <QtTest>

using namespace tianyi;

namespace {
PersonaCard card()
{
    PersonaCard p;
    p.id = QStringLiteral("t");
    p.name = QStringLiteral("洛天依");
    p.persona = QStringLiteral("你是洛天依。");
    PersonaEmotion calm;
    calm.id = QStringLiteral("calm");
    calm.label = QStringLiteral("平静");
    p.emotions = {calm};
    p.defaultEmotion = QStringLiteral("calm");
    return p;
}

StoredTurn turn(const QString &user, const QString &reply)
{
    StoredTurn t;
    t.userText = user;
    t.replyText = reply;
    t.status = QStringLiteral("completed");
    return t;
}
} // namespace

class TestPromptBudget : public QObject
{
    Q_OBJECT
private slots:
    void estimates_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("tokens");
        QTest::newRow("empty") << QString() << 0;
        QTest::newRow("cjk one each") << QStringLiteral("你好世界") << 4;
        QTest::newRow("latin per 4 chars") << QStringLiteral("hello world") << 4; // 5 -> 2, 5 -> 2
        QTest::newRow("mixed") << QStringLiteral("我喜欢 Vocaloid 音乐") << 7;          // 3 + 2 + 2
        QTest::newRow("full-width punctuation") << QStringLiteral("好。") << 2;
    }
    void estimates()
    {
        QFETCH(QString, text);
        QFETCH(int, tokens);
        QCOMPARE(estimateTokens(text), tokens);
    }

    void clipKeepsTheRightEnd()
    {
        const QString text = QStringLiteral("一二三四五六七八九十");
        QCOMPARE(clipToTokens(text, 3, true), QStringLiteral("一二三"));
        QCOMPARE(clipToTokens(text, 3, false), QStringLiteral("八九十"));
        QCOMPARE(clipToTokens(text, 100, true), text);
    }

    void slotsStayWithinTheirBudgets()
    {
        const PersonaCard persona = card();
        PromptSettings budget;
        budget.memoriesTokens = 10;
        budget.knowledgeTokens = 8;
        budget.recentTurnsTokens = 20;
        budget.summaryTokens = 5;
        budget.userTextTokens = 6;
        PromptContext ctx;
        ctx.memories = {QStringLiteral("用户叫小明"), QStringLiteral("用户喜欢草莓"), QStringLiteral("用户住在上海")}; // 5 + 6 + 6 tokens
        ctx.knowledge = {QStringLiteral("洛天依是歌手"), QStringLiteral("普通DISCO是歌曲")};                    // 6 + 7
        ctx.summary = QStringLiteral("很久以前聊过天，最近聊了唱歌");
        ctx.recentTurns = {turn(QStringLiteral("第一轮问题"), QStringLiteral("第一轮回答")),    // 10
                           turn(QStringLiteral("第二轮问题"), QStringLiteral("第二轮回答")),    // 10
                           turn(QStringLiteral("第三轮问题"), QStringLiteral("第三轮回答"))};   // 10
        PromptReport report;
        const LlmRequest req = PromptBuilder(persona, LlmSettings{}, budget).build(ctx, QStringLiteral("一二三四五六七八"), QStringLiteral("c"), &report);

        const QString system = req.messages.first().content;
        QVERIFY(system.contains(QStringLiteral("用户叫小明")));      // best memory kept
        QVERIFY(!system.contains(QStringLiteral("用户喜欢草莓")));   // the next would pass the budget
        QVERIFY(system.contains(QStringLiteral("洛天依是歌手")));
        QVERIFY(!system.contains(QStringLiteral("普通DISCO是歌曲")));
        QVERIFY(system.contains(QStringLiteral("聊了唱歌")));        // the summary's newest part survives
        QVERIFY(!system.contains(QStringLiteral("很久以前")));
        // The two newest turns fit (20 tokens), the oldest is dropped.
        QCOMPARE(req.messages.size(), 1 + 4 + 1);
        QCOMPARE(req.messages.at(1).content, QStringLiteral("第二轮问题"));
        QCOMPARE(req.messages.last().content, QStringLiteral("一二三四五六")); // user text clipped at its end

        const QJsonObject slots_ = report.slotUsage;
        QCOMPARE(slots_.value(QStringLiteral("memories")).toObject().value(QStringLiteral("dropped")).toInt(), 2);
        QCOMPARE(slots_.value(QStringLiteral("knowledge")).toObject().value(QStringLiteral("dropped")).toInt(), 1);
        QCOMPARE(slots_.value(QStringLiteral("recent_turns")).toObject().value(QStringLiteral("dropped")).toInt(), 1);
        QCOMPARE(slots_.value(QStringLiteral("recent_turns")).toObject().value(QStringLiteral("tokens")).toInt(), 20);
        QCOMPARE(slots_.value(QStringLiteral("user_text")).toObject().value(QStringLiteral("dropped")).toInt(), 1);
        for (const QString &slot : slots_.keys())
            QVERIFY2(slots_.value(slot).toObject().value(QStringLiteral("tokens")).toInt()
                         <= slots_.value(slot).toObject().value(QStringLiteral("budget")).toInt(),
                     qPrintable(slot));
    }
};

QTEST_GUILESS_MAIN(TestPromptBudget)
#include "tst_promptbudget.moc"
