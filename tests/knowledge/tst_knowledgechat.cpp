// The prompt's knowledge slot end to end: a real server (with the bundled graph imported at
// startup), a real chat socket, and the prompt the fake upstream recorded; then the built-in demo
// responder saying a fact back as a Chinese sentence.
#include "chatfixture.h"
#include "upstream/promptsections.h"

#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {

const QString kQuestion = QStringLiteral("天依，你唱过《普通DISCO》吗？");

ChatFixture::Options fastOptions()
{
    return ChatFixture::fast(QStringLiteral("[开心]唱过呀！"));
}

QString systemPrompt(const QJsonArray &messages)
{
    return messages.isEmpty() ? QString() : messages.first().toObject().value(QStringLiteral("content")).toString();
}

QString withoutSpaces(QString s)
{
    s.remove(QLatin1Char(' '));
    return s;
}

} // namespace

class TestKnowledgeChat : public QObject
{
    Q_OBJECT

private slots:
    void mentionedEntitiesReachThePromptUnderTheKnowledgeHeading()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));

        // Nothing known mentioned: the heading is there, with no facts.
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        const QString first = systemPrompt(fx.lastLlmMessages());
        QVERIFY(first.contains(promptsections::heading(promptsections::kKnowledge)));
        QCOMPARE(promptsections::items(first, promptsections::kKnowledge), QStringList{});

        c.chat(kQuestion);
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        const QString prompt = systemPrompt(fx.lastLlmMessages());
        const QStringList facts = promptsections::items(prompt, promptsections::kKnowledge);
        const QString all = facts.join(QLatin1Char('\n'));
        QVERIFY2(facts.contains(QStringLiteral("洛天依唱过《普通DISCO》")), qPrintable(all));
        QVERIFY2(std::any_of(facts.begin(), facts.end(), [](const QString &f) { return f.startsWith(QStringLiteral("洛天依：")); }), qPrintable(all));
        QVERIFY2(std::any_of(facts.begin(), facts.end(), [](const QString &f) { return f.startsWith(QStringLiteral("《普通DISCO》：")); }), qPrintable(all));
        QCOMPARE(QStringList(facts).removeDuplicates(), 0);
        // Facts are knowledge, not memories of the user.
        QCOMPARE(promptsections::items(prompt, promptsections::kUserMemories).filter(QStringLiteral("普通DISCO")), QStringList{});
    }

    void demoResponderQuotesAFact()
    {
        ChatFixture::Options o = fastOptions();
        o.fakeLlm = false; // the built-in offline demo responder reads the knowledge section back
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.chat(kQuestion);
        QVERIFY(c.waitForType(chat::kTurnEnd, 1, 60000));
        const QJsonObject end = c.first(chat::kTurnEnd, 1);
        QCOMPARE(end.value(QStringLiteral("status")).toString(), chat::kCompleted);
        const QString reply = withoutSpaces(end.value(QStringLiteral("text")).toString());
        // The fact as she says it: a Chinese sentence about herself, not the graph's triple.
        QVERIFY2(reply.contains(QStringLiteral("我唱过《普通DISCO》")), qPrintable(reply));
        QVERIFY2(!reply.contains(QRegularExpression(QStringLiteral("sung_by|->|—"))), qPrintable(reply));
        // The first turn says, once, that this is a demo.
        QVERIFY2(reply.contains(QStringLiteral("演示")), qPrintable(reply));

        // The next turn does not introduce her again.
        c.chat(QStringLiteral("天依的形象是谁设计的？"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2, 60000));
        const QString next = withoutSpaces(c.first(chat::kTurnEnd, 2).value(QStringLiteral("text")).toString());
        QVERIFY2(next.contains(QStringLiteral("我的形象是MOTH设计的")), qPrintable(next));
        QVERIFY2(!next.contains(QStringLiteral("演示")), qPrintable(next));
    }
};

QTEST_GUILESS_MAIN(TestKnowledgeChat)
#include "tst_knowledgechat.moc"
