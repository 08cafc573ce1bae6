// Memories end to end: a real server in-process with the fake upstream (or the built-in demo
// responder). Facts told in one session reach the prompt of a later one, never another user's;
// the memory routes; account deletion leaves nothing behind; a re-run extraction adds nothing.
#include "chatfixture.h"
#include "memory/memoryextractor.h"
#include "memory/memoryservice.h"
#include "memory/summarycompressor.h"
#include "outbox/outbox.h"
#include "upstream/promptsections.h"

#include <QDir>
#include <QSignalSpy>
#include <QtTest>
#include <limits>

using namespace tianyi;
using namespace tianyi::test;

namespace {

const QString kFactsText = QStringLiteral("我叫小明，我喜欢草莓");
const QString kRecallText = QStringLiteral("你还记得我叫什么、喜欢吃什么吗？");
const QString kExtractionJson = QStringLiteral(
    R"([{"text":"你叫小明","kind":"profile","importance":0.9},{"text":"你喜欢草莓","kind":"preference","importance":0.7}])");

ChatFixture::Options fastOptions()
{
    ChatFixture::Options o = ChatFixture::fast(QStringLiteral("[开心]好的，我记住啦。"));
    o.fake.script = {{QString::fromLatin1(MemoryExtractor::kMarker), kExtractionJson}};
    return o;
}

void fastOutbox(ChatFixture &fx)
{
    fx.app().memory().outbox().setPollInterval(20);
    fx.app().memory().outbox().setRetryPolicy(OutboxWorker::kMaxAttempts, 20, 100);
}

QJsonArray memoriesOf(ChatFixture &fx, const QByteArray &token, int *status = nullptr)
{
    HttpClient http(fx.server->baseUrl());
    const HttpResult r = http.get(QStringLiteral("/api/v1/me/memories"), token);
    if (status)
        *status = r.status;
    return r.json().value(QStringLiteral("memories")).toArray();
}

QStringList textsOf(const QJsonArray &memories)
{
    QStringList out;
    for (const QJsonValue &v : memories)
        out << v.toObject().value(QStringLiteral("text")).toString();
    out.sort();
    return out;
}

// Every /chat/completions request whose last message is `userText`: its system prompt.
QStringList systemPromptsFor(const ChatFixture &fx, const QString &userText)
{
    QStringList out;
    for (const QJsonValue &v : fx.fake.recorded()) {
        const QJsonObject r = v.toObject();
        if (!r.value(QStringLiteral("path")).toString().endsWith(QLatin1String("/chat/completions")))
            continue;
        const QJsonArray messages = r.value(QStringLiteral("body")).toObject().value(QStringLiteral("messages")).toArray();
        if (messages.isEmpty() || messages.last().toObject().value(QStringLiteral("content")).toString() != userText)
            continue;
        out << messages.first().toObject().value(QStringLiteral("content")).toString();
    }
    return out;
}

int extractionRequests(const ChatFixture &fx)
{
    int n = 0;
    for (const QJsonValue &v : fx.fake.recorded()) {
        const QJsonArray messages = v.toObject().value(QStringLiteral("body")).toObject().value(QStringLiteral("messages")).toArray();
        if (!messages.isEmpty() && messages.last().toObject().value(QStringLiteral("content")).toString().startsWith(QString::fromLatin1(MemoryExtractor::kMarker)))
            ++n;
    }
    return n;
}

bool chatOneTurn(ChatFixture &fx, const ChatUser &u, const QString &text, QString *replyText = nullptr)
{
    ChatTestClient c;
    if (!c.openAndHello(fx.port(), u.token))
        return false;
    c.chat(text);
    if (!c.waitForType(chat::kTurnEnd, 1))
        return false;
    if (replyText)
        *replyText = c.first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString();
    return c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString() == chat::kCompleted;
}

qint64 countRows(ChatFixture &fx, const QString &sql, const QVariantList &values)
{
    qint64 out = -1;
    bool done = false;
    fx.app().database().read<qint64>(&fx.app(), [sql, values](SqlSession &s) { return s.scalar(sql, values)->toLongLong(); },
                                     [&](DbResult<qint64> r) {
                                         out = r.ok() ? *r.value : -1;
                                         done = true;
                                     });
    if (!QTest::qWaitFor([&]() { return done; }, 10000))
        qWarning("countRows: no answer from the storage thread");
    return out;
}

} // namespace

class TestMemoryServer : public QObject
{
    Q_OBJECT

private slots:
    void factToldInOneSessionIsInALaterPrompt_fakeLlm()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        QVERIFY(chatOneTurn(fx, a, kFactsText));
        // The extraction job runs after the turn (outbox) and stores both facts.
        QTRY_COMPARE_WITH_TIMEOUT(textsOf(memoriesOf(fx, a.token)), (QStringList{QStringLiteral("你叫小明"), QStringLiteral("你喜欢草莓")}), 15000);
        QCOMPARE(extractionRequests(fx), 1);

        // A new session of A: the prompt's memories section holds both facts.
        QVERIFY(chatOneTurn(fx, a, kRecallText));
        const QStringList promptsA = systemPromptsFor(fx, kRecallText);
        QCOMPARE(promptsA.size(), 1);
        QStringList items = promptsections::items(promptsA.first(), promptsections::kUserMemories);
        items.sort();
        QCOMPARE(items, (QStringList{QStringLiteral("你叫小明"), QStringLiteral("你喜欢草莓")}));

        // ISOLATION: B asks the same; B's prompt has no memories and nothing of A's.
        const QString recallB = QStringLiteral("你知道我叫什么、喜欢吃什么吗？");
        QVERIFY(chatOneTurn(fx, b, recallB));
        const QStringList promptsB = systemPromptsFor(fx, recallB);
        QCOMPARE(promptsB.size(), 1);
        QCOMPARE(promptsections::items(promptsB.first(), promptsections::kUserMemories), QStringList());
        QVERIFY(!promptsB.first().contains(QStringLiteral("小明")));
        QVERIFY(!promptsB.first().contains(QStringLiteral("草莓")));
        for (const QJsonValue &v : fx.fake.recorded()) {
            const QByteArray body = QJsonDocument(v.toObject().value(QStringLiteral("body")).toObject()).toJson();
            if (body.contains(recallB.toUtf8()))
                QVERIFY(!body.contains("小明"));
        }
        // Over HTTP, B lists only rows of B's own (the fake extracts the same scripted facts from B's turn).
        QSet<qint64> idsOfA;
        for (const QJsonValue &v : memoriesOf(fx, a.token))
            idsOfA.insert(v.toObject().value(QStringLiteral("id")).toInteger());
        QCOMPARE(idsOfA.size(), 2);
        for (const QJsonValue &v : memoriesOf(fx, b.token))
            QVERIFY(!idsOfA.contains(v.toObject().value(QStringLiteral("id")).toInteger()));
    }

    void rerunExtractionAddsNoDuplicate()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        const ChatUser a = fx.user();
        QVERIFY(chatOneTurn(fx, a, kFactsText));
        QTRY_COMPARE_WITH_TIMEOUT(memoriesOf(fx, a.token).size(), 2, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(countRows(fx, QStringLiteral("SELECT COUNT(*) FROM outbox WHERE user_id = ? AND kind = 'extract_memories' AND status = 'done'"), {a.id}), 1, 10000);
        // As if the process died after storing the facts but before marking the job done.
        QSignalSpy finished(&fx.app().memory().outbox(), &OutboxWorker::jobFinished);
        QVERIFY(fx.execSql(QStringLiteral("UPDATE outbox SET status = 'pending', next_attempt_at = 0 WHERE user_id = ? AND kind = 'extract_memories'"), {a.id}));
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 15000);
        QCOMPARE(finished.first().at(2).toString(), QStringLiteral("done"));
        QCOMPARE(extractionRequests(fx), 2);
        QCOMPARE(memoriesOf(fx, a.token).size(), 2);
    }

    void extractionRetriesAfterAnEmbeddingOrLlmFailure()
    {
        // The LLM fails for the extraction (503 once via "flaky" would hit the chat turn too), so
        // point the fake's extraction reply at invalid JSON: asked twice, then given up, nothing stored.
        ChatFixture::Options o = fastOptions();
        o.fake.script = {{QString::fromLatin1(MemoryExtractor::kMarker), QStringLiteral("Sure! 你叫小明。")}};
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        const ChatUser a = fx.user();
        QVERIFY(chatOneTurn(fx, a, kFactsText));
        QTRY_COMPARE_WITH_TIMEOUT(countRows(fx, QStringLiteral("SELECT COUNT(*) FROM outbox WHERE user_id = ? AND kind = 'extract_memories' AND status = 'done'"), {a.id}), 1, 15000);
        QCOMPARE(extractionRequests(fx), 2);
        QCOMPARE(memoriesOf(fx, a.token).size(), 0);
    }

    void factToldInOneSessionIsInALaterPrompt_demo()
    {
        ChatFixture::Options o = fastOptions();
        o.fakeLlm = false;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        // Three facts in one message: all three are kept (the demo's extraction is rule based).
        QVERIFY(chatOneTurn(fx, a, QStringLiteral("我叫小明，我住在上海，我喜欢草莓")));
        QTRY_COMPARE_WITH_TIMEOUT(textsOf(memoriesOf(fx, a.token)),
                                  (QStringList{QStringLiteral("你住在上海"), QStringLiteral("你叫小明"), QStringLiteral("你喜欢草莓")}), 15000); // sorted
        // The demo responder says back the memory the question is about.
        QString reply;
        QVERIFY(chatOneTurn(fx, a, QStringLiteral("你还记得我叫什么吗？"), &reply));
        QVERIFY2(reply.contains(QStringLiteral("小明")), qPrintable(reply));
        QString home;
        QVERIFY(chatOneTurn(fx, a, QStringLiteral("你还记得我住在哪里吗？"), &home));
        QVERIFY2(home.contains(QStringLiteral("上海")), qPrintable(home));
        QString replyB;
        QVERIFY(chatOneTurn(fx, b, QStringLiteral("你还记得我叫什么吗？"), &replyB));
        QVERIFY2(!replyB.contains(QStringLiteral("小明")), qPrintable(replyB));
    }

    // Over separate sessions (the context is read from storage) and within one open session (the
    // context is held in memory and must be reloaded when the summary is stored).
    void olderTurnsAreFoldedIntoARollingSummary_data()
    {
        QTest::addColumn<bool>("oneSession");
        QTest::newRow("a session per turn") << false;
        QTest::newRow("one open session") << true;
    }
    void olderTurnsAreFoldedIntoARollingSummary()
    {
        QFETCH(bool, oneSession);
        ChatFixture::Options o = fastOptions();
        o.fake.script.append({QString::fromLatin1(SummaryCompressor::kMarker), QStringLiteral("你们聊了三个话题。")});
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        fx.app().memory().summaries().setBudget(3, 1); // more than 3 unsummarized turns: fold all but the newest
        const ChatUser a = fx.user();
        ChatTestClient session;
        int turn = 0;
        auto say = [&](const QString &text) {
            if (!oneSession)
                return chatOneTurn(fx, a, text);
            session.chat(text);
            return session.waitForType(chat::kTurnEnd, ++turn)
                   && session.first(chat::kTurnEnd, turn).value(QStringLiteral("status")).toString() == chat::kCompleted;
        };
        if (oneSession)
            QVERIFY(session.openAndHello(fx.port(), a.token));
        for (int i = 1; i <= 4; ++i)
            QVERIFY(say(QStringLiteral("话题%1").arg(i)));
        QTRY_COMPARE_WITH_TIMEOUT(countRows(fx, QStringLiteral("SELECT COUNT(*) FROM summaries WHERE user_id = ?"), {a.id}), 1, 15000);
        QVERIFY(say(QStringLiteral("话题5")));
        const QStringList prompts = systemPromptsFor(fx, QStringLiteral("话题5"));
        QCOMPARE(prompts.size(), 1);
        QCOMPARE(promptsections::items(prompts.first(), promptsections::kSummary), QStringList{QStringLiteral("你们聊了三个话题。")});
        // Only the turn after the summary is replayed: system, 话题4 + reply, 话题5.
        QJsonArray messages;
        for (const QJsonValue &v : fx.fake.recorded()) {
            const QJsonArray m = v.toObject().value(QStringLiteral("body")).toObject().value(QStringLiteral("messages")).toArray();
            if (!m.isEmpty() && m.last().toObject().value(QStringLiteral("content")).toString() == QStringLiteral("话题5"))
                messages = m;
        }
        QCOMPARE(messages.size(), 4);
        QCOMPARE(messages.at(1).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("话题4"));
        // The fold asked the LLM with the three older exchanges.
        bool asked = false;
        for (const QJsonValue &v : fx.fake.recorded()) {
            const QJsonArray m = v.toObject().value(QStringLiteral("body")).toObject().value(QStringLiteral("messages")).toArray();
            const QString last = m.isEmpty() ? QString() : m.last().toObject().value(QStringLiteral("content")).toString();
            if (last.startsWith(QString::fromLatin1(SummaryCompressor::kMarker)))
                asked = last.contains(QStringLiteral("话题1")) && last.contains(QStringLiteral("话题3")) && !last.contains(QStringLiteral("话题4"));
        }
        QVERIFY(asked);
    }

    void memoryRoutes()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        QVERIFY(fx.execSql(QStringLiteral("INSERT INTO memories(user_id, text, kind, importance, created_at) VALUES (?, 'A likes tea', 'preference', 0.7, 1700000000000)"), {a.id}));
        QVERIFY(fx.execSql(QStringLiteral("INSERT INTO memories(user_id, text, kind, importance, created_at) VALUES (?, 'B likes coffee', 'preference', 0.6, 1700000000000)"), {b.id}));
        const QJsonArray listA = memoriesOf(fx, a.token);
        QCOMPARE(listA.size(), 1);
        const QJsonObject m = listA.first().toObject();
        QCOMPARE(m.value(QStringLiteral("text")).toString(), QStringLiteral("A likes tea"));
        QCOMPARE(m.value(QStringLiteral("kind")).toString(), QStringLiteral("preference"));
        QCOMPARE(m.value(QStringLiteral("importance")).toDouble(), 0.7);
        QVERIFY(m.value(QStringLiteral("created_at")).toString().startsWith(QLatin1String("2023-")));
        QVERIFY(m.value(QStringLiteral("last_used_at")).isNull());
        const qint64 idA = m.value(QStringLiteral("id")).toInteger();
        const qint64 idB = memoriesOf(fx, b.token).first().toObject().value(QStringLiteral("id")).toInteger();

        HttpClient http(fx.server->baseUrl());
        auto del = [&](qint64 id, const QByteArray &token) {
            return http.request("DELETE", QStringLiteral("/api/v1/me/memories/%1").arg(id), {}, {{"Authorization", "Bearer " + token}}).status;
        };
        QCOMPARE(del(idB, a.token), 404);   // B's memory is not A's to delete
        QCOMPARE(del(999999, a.token), 404);
        QCOMPARE(http.request("DELETE", QStringLiteral("/api/v1/me/memories/abc"), {}, {{"Authorization", "Bearer " + a.token}}).status, 404);
        QCOMPARE(http.request("DELETE", QStringLiteral("/api/v1/me/memories/%1").arg(idA)).status, 401);
        QCOMPARE(memoriesOf(fx, b.token).size(), 1);
        QCOMPARE(del(idA, a.token), 204);
        QCOMPARE(del(idA, a.token), 404);
        QCOMPARE(memoriesOf(fx, a.token).size(), 0);
        QCOMPARE(memoriesOf(fx, b.token).size(), 1);
        int status = 0;
        memoriesOf(fx, QByteArray("not-a-token"), &status);
        QCOMPARE(status, 401);
    }

    void memoriesAreListedInPages()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        QVERIFY(fx.execSql(QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)"
                                          " INSERT INTO memories(user_id, text, kind, importance, created_at) SELECT ?, 'fact ' || i, 'fact', 0.5, 1700000000000 FROM n"),
                           {a.id}));
        QVERIFY(fx.execSql(QStringLiteral("INSERT INTO memories(user_id, text, kind, importance, created_at) VALUES (?, 'B only', 'fact', 0.5, 1700000000000)"), {b.id}));
        HttpClient http(fx.server->baseUrl());
        QStringList seen;
        qint64 previousId = std::numeric_limits<qint64>::max();
        QString before;
        int pages = 0;
        do {
            const HttpResult r = http.get(QStringLiteral("/api/v1/me/memories?limit=50") + (before.isEmpty() ? QString() : QStringLiteral("&before=") + before), a.token);
            QCOMPARE(r.status, 200);
            const QJsonArray page = r.json().value(QStringLiteral("memories")).toArray();
            QVERIFY(page.size() <= 50);
            for (const QJsonValue &v : page) {
                const qint64 id = v.toObject().value(QStringLiteral("id")).toInteger();
                QVERIFY(id < previousId); // newest first, no repeats across pages
                previousId = id;
                seen << v.toObject().value(QStringLiteral("text")).toString();
            }
            const QJsonValue next = r.json().value(QStringLiteral("next_before"));
            before = next.isNull() ? QString() : QString::number(next.toInteger());
            ++pages;
        } while (!before.isEmpty() && pages < 10);
        QCOMPARE(pages, 3);
        QCOMPARE(seen.size(), 120);
        QVERIFY(!seen.contains(QStringLiteral("B only")));
        QCOMPARE(memoriesOf(fx, a.token).size(), 50); // the default page
        QCOMPARE(http.get(QStringLiteral("/api/v1/me/memories?limit=201"), a.token).status, 400);
        QCOMPARE(http.get(QStringLiteral("/api/v1/me/memories?before=-1"), a.token).status, 400);
    }

    // A user's memories are bounded: a new one replaces the least valuable (least important, longest unused).
    void aNewMemoryBeyondTheCapReplacesTheLeastValuable()
    {
        ChatFixture::Options o = fastOptions();
        o.fakeLlm = false; // the demo's rule-based extraction
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        const ChatUser a = fx.user();
        QVERIFY(fx.execSql(QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                                          " INSERT INTO memories(user_id, text, kind, importance, created_at, last_used_at)"
                                          " SELECT ?, 'old fact ' || i, 'fact', CASE WHEN i = 7 THEN 0.1 ELSE 0.5 END, 1700000000000, 1700000000000 + i FROM n"),
                           {MemoryExtractor::kMaxMemoriesPerUser, a.id}));
        QVERIFY(chatOneTurn(fx, a, QStringLiteral("我住在杭州")));
        HttpClient http(fx.server->baseUrl());
        auto all = [&]() {
            QStringList texts;
            QString before;
            for (int pages = 0; pages < 10; ++pages) {
                const HttpResult r = http.get(QStringLiteral("/api/v1/me/memories?limit=200") + (before.isEmpty() ? QString() : QStringLiteral("&before=") + before), a.token);
                for (const QJsonValue &v : r.json().value(QStringLiteral("memories")).toArray())
                    texts << v.toObject().value(QStringLiteral("text")).toString();
                const QJsonValue next = r.json().value(QStringLiteral("next_before"));
                if (next.isNull())
                    break;
                before = QString::number(next.toInteger());
            }
            return texts;
        };
        QTRY_VERIFY_WITH_TIMEOUT(all().contains(QStringLiteral("你住在杭州")), 15000);
        const QStringList texts = all();
        QCOMPARE(texts.size(), MemoryExtractor::kMaxMemoriesPerUser);
        QVERIFY(!texts.contains(QStringLiteral("old fact 7")));  // the least important went
        QVERIFY(texts.contains(QStringLiteral("old fact 1")));   // not simply the oldest
    }

    void accountDeletionLeavesNothingBehind()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        fastOutbox(fx);
        const ChatUser a = fx.user();
        const ChatUser b = fx.user();
        QVERIFY(chatOneTurn(fx, a, kFactsText));
        QVERIFY(chatOneTurn(fx, b, kFactsText));
        QTRY_COMPARE_WITH_TIMEOUT(memoriesOf(fx, a.token).size(), 2, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(memoriesOf(fx, b.token).size(), 2, 15000);
        const QString audioDir = QDir(fx.server->dataDir()).filePath(QStringLiteral("audio/%1").arg(a.id));
        QTRY_VERIFY_WITH_TIMEOUT(QDir(audioDir).exists() && !QDir(audioDir).isEmpty(), 15000);
        QTRY_COMPARE_WITH_TIMEOUT(fx.app().memory().outbox().inFlight(), 0, 10000);
        // Make sure the memory vectors are in RAM too.
        QVERIFY(chatOneTurn(fx, a, kRecallText));
        QVERIFY(fx.app().memory().index().isLoaded(a.id));

        // A device of A is still connected when the account goes, and one of B.
        ChatTestClient openA;
        QVERIFY(openA.openAndHello(fx.port(), a.token));
        ChatTestClient openB;
        QVERIFY(openB.openAndHello(fx.port(), b.token));

        HttpClient http(fx.server->baseUrl());
        QCOMPARE(http.request("DELETE", QStringLiteral("/api/v1/me")).status, 401);
        QTRY_COMPARE_WITH_TIMEOUT(fx.app().memory().outbox().inFlight(), 0, 10000);
        // Deletion needs the current password (re-authentication), not only the access token.
        QCOMPARE(http.request("DELETE", QStringLiteral("/api/v1/me"), {}, {{"Authorization", "Bearer " + a.token}}).status, 400);
        QCOMPARE(http.request("DELETE", QStringLiteral("/api/v1/me"), R"({"password":"correct horse battery"})",
                              {{"Authorization", "Bearer " + a.token}, {"Content-Type", "application/json"}}).status, 204);
        QTRY_COMPARE_WITH_TIMEOUT(openA.closeCode, int(chat::kCloseUnauthorized), 10000); // A's socket ends with the account
        QCOMPARE(openB.closeCode, -1);                                                     // B's stays

        // No row of any table mentions the user.
        const QStringList tables = [&]() {
            QStringList out;
            bool done = false;
            fx.app().database().read<QStringList>(&fx.app(), [](SqlSession &s) {
                QStringList names;
                QSqlQuery q = s.exec(QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table'"));
                while (q.next())
                    names << q.value(0).toString();
                QStringList withUser;
                for (const QString &t : std::as_const(names)) {
                    QSqlQuery c = s.exec(QStringLiteral("SELECT name FROM pragma_table_info(?)"), {t});
                    while (c.next())
                        if (c.value(0).toString() == QLatin1String("user_id"))
                            withUser << t;
                }
                return withUser;
            }, [&](DbResult<QStringList> r) {
                out = r.value.value_or(QStringList());
                done = true;
            });
            if (!QTest::qWaitFor([&]() { return done; }, 10000))
                qWarning("no answer from the storage thread");
            return out;
        }();
        for (const char *t : {"turns", "turn_audio", "memories", "outbox", "profiles", "refresh_tokens"})
            QVERIFY2(tables.contains(QLatin1String(t)), t);
        for (const QString &t : tables)
            QVERIFY2(countRows(fx, QStringLiteral("SELECT COUNT(*) FROM \"%1\" WHERE user_id = ?").arg(t), {a.id}) == 0, qPrintable(t));
        QCOMPARE(countRows(fx, QStringLiteral("SELECT COUNT(*) FROM users WHERE id = ?"), {a.id}), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!QDir(audioDir).exists(), 10000);
        QVERIFY(!fx.app().memory().index().isLoaded(a.id));
        // The access token no longer works; B is untouched.
        int status = 0;
        memoriesOf(fx, a.token, &status);
        QCOMPARE(status, 401);
        QCOMPARE(memoriesOf(fx, b.token).size(), 2);
        QVERIFY(countRows(fx, QStringLiteral("SELECT COUNT(*) FROM turns WHERE user_id = ?"), {b.id}) > 0);
        QVERIFY(QDir(QDir(fx.server->dataDir()).filePath(QStringLiteral("audio/%1").arg(b.id))).exists());
    }
};

QTEST_GUILESS_MAIN(TestMemoryServer)
#include "tst_memoryserver.moc"
