// Outbox (retry, dead letter, resume after restart), memory vectors (retrieval on synthetic vectors),
// the per-user index (lazy load, LRU eviction, isolation), and the extraction parsers.

#include "memory/memoryextractor.h"
#include "memory/memoryindex.h"
#include "memory/memoryrepository.h"
#include "memory/memoryvectors.h"
#include "memory/summarycompressor.h"
#include "metrics/metrics.h"
#include "outbox/outbox.h"
#include "storage/database.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

using namespace tianyi;

namespace {

std::vector<float> basis(int dims, int axis, float other = 0.0f, int otherAxis = -1)
{
    std::vector<float> v(size_t(dims), 0.0f);
    v[size_t(axis)] = 1.0f;
    if (otherAxis >= 0)
        v[size_t(otherAxis)] = other;
    return v;
}

template <typename R>
std::optional<R> runSync(Database &db, std::function<R(SqlSession &)> work, bool write = true)
{
    std::optional<R> out;
    bool done = false;
    QObject context;
    auto finish = [&](DbResult<R> r) {
        out = r.value;
        done = true;
    };
    if (write)
        db.write<R>(&context, work, finish);
    else
        db.read<R>(&context, work, finish);
    if (!QTest::qWaitFor([&]() { return done; }, 10000))
        return std::nullopt;
    return out;
}

qint64 addUser(Database &db, const QString &name)
{
    return *runSync<qint64>(db, [name](SqlSession &s) {
        QSqlQuery q = s.exec(QStringLiteral("INSERT INTO users(username, username_key, password_hash, created_at) VALUES (?, ?, 'x', 0)"), {name, name});
        return s.lastInsertId(q);
    });
}

struct Job {
    QString status;
    int attempts = 0;
    QString lastError;
};

Job jobRow(Database &db, qint64 id)
{
    return runSync<Job>(db, [id](SqlSession &s) {
               Job j;
               QSqlQuery q = s.exec(QStringLiteral("SELECT status, attempts, last_error FROM outbox WHERE id = ?"), {id});
               if (q.next()) {
                   j.status = q.value(0).toString();
                   j.attempts = q.value(1).toInt();
                   j.lastError = q.value(2).toString();
               }
               return j;
           }, false).value_or(Job{});
}

} // namespace

class TestMemoryUnits : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<Database> openDb(const QString &path)
    {
        auto db = std::make_unique<Database>(path, 5000);
        QString error;
        if (!db->open(&error))
            qWarning("open: %s", qPrintable(error));
        return db;
    }

private slots:
    // ---- outbox ----
    void backoffDoublesUpToTheCap()
    {
        QCOMPARE(OutboxWorker::backoffMs(1, 100, 1000), 100);
        QCOMPARE(OutboxWorker::backoffMs(2, 100, 1000), 200);
        QCOMPARE(OutboxWorker::backoffMs(4, 100, 1000), 800);
        QCOMPARE(OutboxWorker::backoffMs(5, 100, 1000), 1000);
        QCOMPARE(OutboxWorker::backoffMs(60, 100, 1000), 1000);
        QVERIFY(OutboxWorker::kMaxBackoffMs >= OutboxWorker::kBaseBackoffMs);
    }

    void retriesAfterAHandlerFailure()
    {
        QTemporaryDir dir;
        auto db = openDb(dir.filePath(QStringLiteral("t.sqlite")));
        Metrics metrics;
        const qint64 user = addUser(*db, QStringLiteral("a"));
        const qint64 id = *runSync<qint64>(*db, [user](SqlSession &s) { return Outbox::enqueue(s, QStringLiteral("k"), user, {{QStringLiteral("n"), 1}}); });
        OutboxWorker worker(*db, metrics);
        worker.setPollInterval(10);
        worker.setRetryPolicy(5, 10, 20);
        int calls = 0;
        worker.registerHandler(QStringLiteral("k"), [&](const OutboxJob &job, OutboxWorker::Done done) {
            ++calls;
            QCOMPARE(job.payload.value(QStringLiteral("n")).toInt(), 1);
            QCOMPARE(job.attempts, calls);
            done(calls >= 2, QStringLiteral("first attempt fails"));
        });
        QSignalSpy finished(&worker, &OutboxWorker::jobFinished);
        worker.start();
        QTRY_COMPARE_WITH_TIMEOUT(jobRow(*db, id).status, QStringLiteral("done"), 10000);
        QCOMPARE(calls, 2);
        QCOMPARE(jobRow(*db, id).attempts, 2);
        QCOMPARE(finished.size(), 2);
        QCOMPARE(finished.at(0).at(2).toString(), QStringLiteral("pending"));
        QCOMPARE(finished.at(1).at(2).toString(), QStringLiteral("done"));
        QTRY_COMPARE(worker.backlog(QStringLiteral("done")), 1);
        QVERIFY(metrics.render().contains("tianyi_outbox_jobs{status=\"done\"} 1"));
    }

    void deadAfterMaxAttempts()
    {
        QTemporaryDir dir;
        auto db = openDb(dir.filePath(QStringLiteral("t.sqlite")));
        Metrics metrics;
        const qint64 user = addUser(*db, QStringLiteral("a"));
        const qint64 id = *runSync<qint64>(*db, [user](SqlSession &s) { return Outbox::enqueue(s, QStringLiteral("k"), user, {}); });
        OutboxWorker worker(*db, metrics);
        worker.setPollInterval(10);
        worker.setRetryPolicy(3, 5, 10);
        int calls = 0;
        worker.registerHandler(QStringLiteral("k"), [&](const OutboxJob &, OutboxWorker::Done done) {
            ++calls;
            done(false, QStringLiteral("always broken"));
        });
        worker.start();
        QTRY_COMPARE_WITH_TIMEOUT(jobRow(*db, id).status, QStringLiteral("dead"), 10000);
        const Job j = jobRow(*db, id);
        QCOMPARE(j.attempts, 3);
        QCOMPARE(j.lastError, QStringLiteral("always broken"));
        QCOMPARE(calls, 3);
        // Nothing runs a dead job again.
        QSignalSpy polled(&worker, &OutboxWorker::polled);
        QVERIFY(polled.wait(5000));
        QVERIFY(polled.wait(5000));
        QCOMPARE(calls, 3);
    }

    void unknownKindGoesDead()
    {
        QTemporaryDir dir;
        auto db = openDb(dir.filePath(QStringLiteral("t.sqlite")));
        Metrics metrics;
        const qint64 id = *runSync<qint64>(*db, [](SqlSession &s) { return Outbox::enqueue(s, QStringLiteral("nobody"), 0, {}); });
        OutboxWorker worker(*db, metrics);
        worker.setPollInterval(10);
        worker.setRetryPolicy(2, 1, 1);
        worker.start();
        QTRY_COMPARE_WITH_TIMEOUT(jobRow(*db, id).status, QStringLiteral("dead"), 10000);
    }

    void resumesRunningJobsAfterRestart()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("t.sqlite"));
        qint64 id = 0;
        {
            auto db = openDb(path);
            const qint64 user = addUser(*db, QStringLiteral("a"));
            id = *runSync<qint64>(*db, [user](SqlSession &s) { return Outbox::enqueue(s, QStringLiteral("k"), user, {}); });
            Metrics metrics;
            OutboxWorker worker(*db, metrics);
            worker.setPollInterval(10);
            bool claimed = false;
            // The handler never finishes: the process "crashes" with the job running.
            worker.registerHandler(QStringLiteral("k"), [&](const OutboxJob &, OutboxWorker::Done) { claimed = true; });
            worker.start();
            QTRY_VERIFY_WITH_TIMEOUT(claimed, 10000);
            QCOMPARE(jobRow(*db, id).status, QStringLiteral("running"));
            worker.stop();
            db->close();
        }
        auto db = openDb(path);
        QCOMPARE(jobRow(*db, id).status, QStringLiteral("running"));
        Metrics metrics;
        OutboxWorker worker(*db, metrics);
        worker.setPollInterval(10);
        int calls = 0;
        worker.registerHandler(QStringLiteral("k"), [&](const OutboxJob &job, OutboxWorker::Done done) {
            ++calls;
            QCOMPARE(job.attempts, 2);
            done(true, {});
        });
        worker.start();
        QTRY_COMPARE_WITH_TIMEOUT(jobRow(*db, id).status, QStringLiteral("done"), 10000);
        QCOMPARE(calls, 1);
    }

    void enqueueJoinsTheCallersTransaction()
    {
        QTemporaryDir dir;
        auto db = openDb(dir.filePath(QStringLiteral("t.sqlite")));
        bool done = false;
        QObject context;
        db->write<int>(&context, [](SqlSession &s) -> int {
            Outbox::enqueue(s, QStringLiteral("k"), 0, {});
            throw DbError("the cause fails");
        }, [&](DbResult<int>) { done = true; });
        QTRY_VERIFY(done);
        QCOMPARE(*runSync<int>(*db, [](SqlSession &s) { return s.scalar(QStringLiteral("SELECT COUNT(*) FROM outbox"))->toInt(); }, false), 0);
    }

    // ---- vectors ----
    void topKOnSyntheticVectors()
    {
        const int dims = 16;
        MemoryVectors v(dims);
        for (int i = 0; i < 10; ++i) {
            const auto x = basis(dims, i);
            QVERIFY(v.upsert({i + 1, 0.5f, 0, 0, QStringLiteral("m%1").arg(i)}, x.data(), dims));
        }
        QCOMPARE(v.size(), 10);
        // The query is closest to axis 3, then axis 4; everything else is orthogonal (below the threshold).
        std::vector<float> q = basis(dims, 3, 0.5f, 4);
        MemorySearchOptions o;
        o.k = 8;
        o.minSimilarity = 0.1f;
        QVector<MemoryHit> hits = v.search(q.data(), dims, o);
        QCOMPARE(hits.size(), 2);
        QCOMPARE(hits.at(0).id, 4);
        QCOMPARE(hits.at(1).id, 5);
        QVERIFY(qAbs(hits.at(0).similarity - 1.0f / std::sqrt(1.25f)) < 1e-5f);
        // k limits the result.
        o.k = 1;
        QCOMPARE(v.search(q.data(), dims, o).size(), 1);
        // A wrong-size query finds nothing.
        QCOMPARE(v.search(q.data(), dims - 1, o).size(), 0);
    }

    void importanceAndRecencyBreakTies()
    {
        const int dims = 4;
        MemoryVectors v(dims);
        const std::vector<float> a = {1, 1, 0, 0};
        const std::vector<float> b = {1, 0, 1, 0};
        const qint64 now = 1000LL * 86400000;
        v.upsert({1, 0.1f, now, 0, QStringLiteral("low importance")}, a.data(), dims);
        v.upsert({2, 0.9f, now, 0, QStringLiteral("high importance")}, b.data(), dims);
        const std::vector<float> q = {1, 0, 0, 0}; // equally similar to both
        MemorySearchOptions o;
        o.nowMs = now;
        QVector<MemoryHit> hits = v.search(q.data(), dims, o);
        QCOMPARE(hits.size(), 2);
        QCOMPARE(hits.first().id, 2);
        // Same importance: the recently used one first.
        MemoryVectors r(dims);
        r.upsert({1, 0.5f, now - 365LL * 86400000, 0, QStringLiteral("old")}, a.data(), dims);
        r.upsert({2, 0.5f, now - 365LL * 86400000, now, QStringLiteral("used today")}, b.data(), dims);
        QCOMPARE(r.search(q.data(), dims, o).first().id, 2);
    }

    void nearDuplicatesAreLeftOut()
    {
        const int dims = 4;
        MemoryVectors v(dims);
        const std::vector<float> a = {1, 0.01f, 0, 0};
        const std::vector<float> a2 = {1, 0.02f, 0, 0};
        const std::vector<float> c = {1, 1, 0, 0};
        v.upsert({1, 0.5f, 0, 0, QStringLiteral("likes tea")}, a.data(), dims);
        v.upsert({2, 0.5f, 0, 0, QStringLiteral("likes tea!")}, a2.data(), dims);
        v.upsert({3, 0.5f, 0, 0, QStringLiteral("Likes  tea")}, c.data(), dims); // same text, other vector
        v.upsert({4, 0.5f, 0, 0, QStringLiteral("other")}, c.data(), dims);
        const std::vector<float> q = {1, 0, 0, 0};
        QVector<MemoryHit> hits = v.search(q.data(), dims, MemorySearchOptions{});
        QStringList texts;
        for (const MemoryHit &h : hits)
            texts << h.text;
        QCOMPARE(texts, (QStringList{QStringLiteral("likes tea"), QStringLiteral("other")}));
    }

    void upsertRemoveAndNearest()
    {
        const int dims = 3;
        MemoryVectors v(dims);
        const std::vector<float> x = {1, 0, 0}, y = {0, 2, 0}, z = {0, 0, 3}, zero = {0, 0, 0};
        QVERIFY(v.upsert({1, 0.5f, 0, 0, QStringLiteral("x")}, x.data(), dims));
        QVERIFY(v.upsert({2, 0.5f, 0, 0, QStringLiteral("y")}, y.data(), dims));
        QVERIFY(v.upsert({3, 0.5f, 0, 0, QStringLiteral("z")}, z.data(), dims));
        QVERIFY(!v.upsert({4, 0.5f, 0, 0, QStringLiteral("zero")}, zero.data(), dims));
        QVERIFY(v.remove(1));
        QVERIFY(!v.remove(1));
        QCOMPARE(v.size(), 2);
        auto n = v.nearest(z.data(), dims);
        QVERIFY(n);
        QCOMPARE(n->first, 3);
        QVERIFY(qAbs(n->second - 1.0f) < 1e-5f);
        QVERIFY(v.upsert({2, 0.5f, 0, 0, QStringLiteral("y moved")}, z.data(), dims)); // replaces by id
        QCOMPARE(v.size(), 2);
        QCOMPARE(v.nearest(y.data(), dims)->second < 0.5f, true);
    }

    // ---- index ----
    void indexLoadsLazilyPerUserAndEvicts()
    {
        QTemporaryDir dir;
        auto db = openDb(dir.filePath(QStringLiteral("t.sqlite")));
        const qint64 a = addUser(*db, QStringLiteral("a"));
        const qint64 b = addUser(*db, QStringLiteral("b"));
        const int dims = 8;
        runSync<bool>(*db, [a, b, dims](SqlSession &s) {
            for (int i = 0; i < 4; ++i) {
                MemoryRecord m;
                m.userId = i < 2 ? a : b;
                m.text = QStringLiteral("memory %1").arg(i);
                m.embeddingModel = QStringLiteral("model");
                m.embedding = Embedding(dims, 0.0f);
                m.embedding[i] = 1.0f;
                MemoryRepository::insert(s, m);
            }
            MemoryRecord other;   // another model: not indexed
            other.userId = a;
            other.text = QStringLiteral("old model");
            other.embeddingModel = QStringLiteral("older");
            other.embedding = Embedding(dims, 1.0f);
            MemoryRepository::insert(s, other);
            return true;
        });
        // No room at all: the user being served stays, every other one is evicted.
        MemoryIndex index(QStringLiteral("model"), dims, 1);
        QVERIFY(!index.isLoaded(a));
        Embedding q(dims, 0.0f);
        q[2] = 1.0f; // b's memory 2
        MemorySearchOptions o;
        const auto hitsA = runSync<QVector<MemoryHit>>(*db, [&](SqlSession &s) { return index.search(s, a, q, o); }, false);
        QVERIFY(hitsA);
        QCOMPARE(hitsA->size(), 0); // A never sees B's memory, however close
        QVERIFY(index.isLoaded(a));
        const auto hitsB = runSync<QVector<MemoryHit>>(*db, [&](SqlSession &s) { return index.search(s, b, q, o); }, false);
        QCOMPARE(hitsB->size(), 1);
        QCOMPARE(hitsB->first().text, QStringLiteral("memory 2"));
        QVERIFY(index.isLoaded(b));
        QVERIFY(!index.isLoaded(a)); // least recently used, evicted
        QCOMPARE(index.loadedUsers(), 1);
        index.dropUser(b);
        QCOMPARE(index.bytes(), size_t(0));
    }

    // ---- extraction parsers ----
    void parseFacts_data()
    {
        QTest::addColumn<QString>("reply");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<int>("count");
        QTest::newRow("array") << QStringLiteral(R"([{"text":"你叫小明","kind":"profile","importance":0.9},{"text":"你喜欢草莓"}])") << true << 2;
        QTest::newRow("empty") << QStringLiteral("[]") << true << 0;
        QTest::newRow("fenced") << QStringLiteral("```json\n[{\"text\":\"x\"}]\n```") << true << 1;
        QTest::newRow("prose") << QStringLiteral("Sure! Here are the facts: ...") << false << 0;
        QTest::newRow("object") << QStringLiteral(R"({"text":"x"})") << false << 0;
        QTest::newRow("no text") << QStringLiteral(R"([{"kind":"x"}])") << false << 0;
        QTest::newRow("truncated") << QStringLiteral(R"([{"text":"x"})") << false << 0;
    }
    void parseFacts()
    {
        QFETCH(QString, reply);
        QFETCH(bool, ok);
        QFETCH(int, count);
        bool parsed = !ok;
        const QVector<ExtractedFact> facts = MemoryExtractor::parseFacts(reply, &parsed);
        QCOMPARE(parsed, ok);
        QCOMPARE(facts.size(), count);
        if (count == 2) {
            QCOMPARE(facts.at(0).kind, QStringLiteral("profile"));
            QCOMPARE(facts.at(0).importance, 0.9);
            QCOMPARE(facts.at(1).kind, QStringLiteral("fact"));
        }
    }

    void summaryDigestIsBounded()
    {
        QCOMPARE(SummaryCompressor::digest(QString(), {QStringLiteral("你好"), QStringLiteral(" ")}), QStringLiteral("用户说过：你好"));
        QCOMPARE(SummaryCompressor::digest(QStringLiteral("旧的"), {QStringLiteral("新的")}), QStringLiteral("旧的；用户说过：新的"));
        const QString longText(3000, QLatin1Char('x'));
        QCOMPARE(SummaryCompressor::digest(QString(), {longText}).size(), SummaryCompressor::kMaxSummaryChars);
    }

    void ruleBasedFacts_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("facts");
        // Chinese: name, where they live / come from, age, birthday, school and work, pets, likes.
        QTest::newRow("zh") << QStringLiteral("我叫小明，我喜欢草莓") << QStringList{QStringLiteral("你叫小明"), QStringLiteral("你喜欢草莓")};
        QTest::newRow("zh name 2") << QStringLiteral("我的名字是王小红。") << QStringList{QStringLiteral("你叫王小红")};
        QTest::newRow("zh lives") << QStringLiteral("我住在上海呀") << QStringList{QStringLiteral("你住在上海")};
        QTest::newRow("zh home") << QStringLiteral("我家在成都") << QStringList{QStringLiteral("你住在成都")};
        QTest::newRow("zh from") << QStringLiteral("我来自杭州") << QStringList{QStringLiteral("你来自杭州")};
        QTest::newRow("zh age") << QStringLiteral("我今年18岁了") << QStringList{QStringLiteral("你18岁")};
        QTest::newRow("zh age words") << QStringLiteral("我十五岁") << QStringList{QStringLiteral("你十五岁")};
        QTest::newRow("zh birthday") << QStringLiteral("我的生日是3月5日") << QStringList{QStringLiteral("你的生日是3月5日")};
        QTest::newRow("zh student of") << QStringLiteral("我是复旦大学的学生") << QStringList{QStringLiteral("你是复旦大学的学生")};
        QTest::newRow("zh school") << QStringLiteral("我在北京大学上学") << QStringList{QStringLiteral("你在北京大学上学")};
        QTest::newRow("zh grade") << QStringLiteral("我读高二") << QStringList{QStringLiteral("你在读高二")};
        QTest::newRow("zh job") << QStringLiteral("我是一名程序员") << QStringList{QStringLiteral("你是一名程序员")};
        QTest::newRow("zh works at") << QStringLiteral("我在医院工作") << QStringList{QStringLiteral("你在医院工作")};
        QTest::newRow("zh pet") << QStringLiteral("我养了一只橘猫") << QStringList{QStringLiteral("你养了一只橘猫")};
        QTest::newRow("zh pet name") << QStringLiteral("我的猫叫团子") << QStringList{QStringLiteral("你的猫叫团子")};
        QTest::newRow("zh dislike") << QStringLiteral("我不喜欢下雨。") << QStringList{QStringLiteral("你不喜欢下雨")};
        QTest::newRow("zh said back") << QStringLiteral("我喜欢听你唱歌") << QStringList{QStringLiteral("你喜欢听我唱歌")};
        // English.
        QTest::newRow("en") << QStringLiteral("Hi, my name is Ann. I like green tea!") << QStringList{QStringLiteral("Your name is Ann"), QStringLiteral("You like green tea")};
        QTest::newRow("en name and") << QStringLiteral("My name is Bob and I live in Paris") << QStringList{QStringLiteral("Your name is Bob"), QStringLiteral("You live in Paris")};
        QTest::newRow("en lives") << QStringLiteral("I live in Berlin.") << QStringList{QStringLiteral("You live in Berlin")};
        QTest::newRow("en from") << QStringLiteral("I'm from Toronto") << QStringList{QStringLiteral("You are from Toronto")};
        QTest::newRow("en age") << QStringLiteral("I am 20 years old") << QStringList{QStringLiteral("You are 20 years old")};
        QTest::newRow("en birthday") << QStringLiteral("My birthday is on May 4") << QStringList{QStringLiteral("Your birthday is May 4")};
        QTest::newRow("en student") << QStringLiteral("I'm a student at MIT") << QStringList{QStringLiteral("You are a student at MIT")};
        QTest::newRow("en work") << QStringLiteral("I work as a nurse") << QStringList{QStringLiteral("You work as a nurse")};
        QTest::newRow("en pet") << QStringLiteral("I have a cat named Mochi") << QStringList{QStringLiteral("You have a cat named Mochi")};
        QTest::newRow("en dislike") << QStringLiteral("I don't like rain") << QStringList{QStringLiteral("You don't like rain")};
        QTest::newRow("en said back") << QStringLiteral("I love my dog") << QStringList{QStringLiteral("You like your dog")};
        // Nothing: no statement about the user, or a question.
        QTest::newRow("nothing") << QStringLiteral("今天天气不错") << QStringList{};
        QTest::newRow("question her") << QStringLiteral("你住在哪里？") << QStringList{};
        QTest::newRow("question own name") << QStringLiteral("我叫什么名字？") << QStringList{};
        QTest::newRow("question own home") << QStringLiteral("你还记得我住在哪里吗") << QStringList{};
        QTest::newRow("question likes") << QStringLiteral("你猜我喜欢什么") << QStringList{};
        QTest::newRow("question en") << QStringLiteral("Where do I live?") << QStringList{};
        QTest::newRow("question en 2") << QStringLiteral("Do you know what I like?") << QStringList{};
        QTest::newRow("not a name") << QStringLiteral("我叫了外卖") << QStringList{};
        QTest::newRow("statement then question") << QStringLiteral("我住在广州，你呢？") << QStringList{QStringLiteral("你住在广州")};
    }
    void ruleBasedFacts()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, facts);
        QStringList got;
        for (const ExtractedFact &f : MemoryExtractor::ruleBasedFacts(text))
            got << f.text;
        QCOMPARE(got, facts);
    }

    // The three facts of one message are all kept, each with its kind.
    void ruleBasedFactsKeepEveryStatement()
    {
        const QVector<ExtractedFact> facts = MemoryExtractor::ruleBasedFacts(QStringLiteral("我叫小明，我住在上海，我喜欢草莓"));
        QCOMPARE(facts.size(), 3);
        QStringList texts;
        QStringList kinds;
        for (const ExtractedFact &f : facts) {
            texts << f.text;
            kinds << f.kind;
        }
        QVERIFY2(texts.contains(QStringLiteral("你叫小明")), qPrintable(texts.join(QLatin1Char('|'))));
        QVERIFY2(texts.contains(QStringLiteral("你住在上海")), qPrintable(texts.join(QLatin1Char('|'))));
        QVERIFY2(texts.contains(QStringLiteral("你喜欢草莓")), qPrintable(texts.join(QLatin1Char('|'))));
        QCOMPARE(kinds.count(QStringLiteral("profile")), 2);
        QCOMPARE(kinds.count(QStringLiteral("preference")), 1);
    }
};

QTEST_GUILESS_MAIN(TestMemoryUnits)
#include "tst_memoryunits.moc"
