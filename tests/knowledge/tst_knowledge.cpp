// The shared knowledge graph: import of the seed format (with an alias file), validation errors
// that name the id, the alias index (Chinese and English, longest match, word boundaries), the
// retrieval caps, and the bundled graph.
#include "knowledge/knowledgebase.h"
#include "knowledge/knowledgeimporter.h"
#include "knowledge/knowledgeindex.h"
#include "knowledge/knowledgeretriever.h"
#include "storage/database.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace tianyi;

namespace {

const QByteArray kSampleGraph = R"({
  "entities": [
    {"id": "luotianyi", "name": "洛天依", "type": "Singer", "properties": {"summary": "中文虚拟歌手", "source": "test"}},
    {"id": "yanhe", "name": "言和", "type": "Singer", "properties": {"summary": "虚拟歌手"}},
    {"id": "putongdisco", "name": "普通DISCO", "type": "Song", "properties": {"summary": "一首歌", "bpm": 128}}
  ],
  "relations": [
    {"id": "putongdisco_sung_by_luotianyi", "source": "putongdisco", "target": "luotianyi", "type": "sung_by", "properties": {}, "weight": 1.0},
    {"id": "putongdisco_sung_by_yanhe", "source": "putongdisco", "target": "yanhe", "type": "sung_by", "properties": {"source": "test"}, "weight": 0.5}
  ]
})";

const QByteArray kSampleAliases = R"({"天依": "luotianyi", "Luo Tianyi": "luotianyi", "ＴＩＡＮＹＩ": "luotianyi", "普通disco": "putongdisco"})";

QString joined(const QStringList &l)
{
    return l.join(QStringLiteral(" | "));
}

} // namespace

class TestKnowledge : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Database> m_db;

    template <typename R>
    DbResult<R> run(std::function<R(SqlSession &)> work, bool write = true)
    {
        std::optional<DbResult<R>> out;
        auto done = [&](DbResult<R> r) { out = std::move(r); };
        if (write)
            m_db->write<R>(this, std::move(work), done);
        else
            m_db->read<R>(this, std::move(work), done);
        if (!QTest::qWaitFor([&]() { return out.has_value(); }, 10000))
            return DbResult<R>{std::nullopt, QStringLiteral("timeout")};
        return *out;
    }

    KnowledgeImportReport importBytes(const QByteArray &graph, const QByteArray &aliases)
    {
        const KnowledgeParseResult parsed = KnowledgeImporter::parse(graph, aliases);
        if (!parsed.ok()) {
            KnowledgeImportReport r;
            r.errors = parsed.errors;
            return r;
        }
        const KnowledgeGraph g = parsed.graph;
        auto r = run<KnowledgeImportReport>([g](SqlSession &s) { return KnowledgeImporter::importGraph(s, g); });
        if (!r.ok()) {
            KnowledgeImportReport failed;
            failed.errors << r.error;
            return failed;
        }
        return *r.value;
    }

    QList<int> counts()
    {
        auto r = run<QList<int>>([](SqlSession &s) {
            return QList<int>{s.scalar(QStringLiteral("SELECT COUNT(*) FROM kg_entities"))->toInt(),
                              s.scalar(QStringLiteral("SELECT COUNT(*) FROM kg_relations"))->toInt(),
                              s.scalar(QStringLiteral("SELECT COUNT(*) FROM kg_aliases"))->toInt()};
        }, false);
        return r.ok() ? *r.value : QList<int>{-1, -1, -1};
    }

    QStringList retrieve(const QString &text, const KnowledgeLimits &limits = {})
    {
        auto r = run<QStringList>([text, limits](SqlSession &s) {
            const KnowledgeIndex index = KnowledgeIndex::load(s);
            return KnowledgeRetriever::retrieve(s, index, text, limits);
        }, false);
        return r.ok() ? *r.value : QStringList{QStringLiteral("error: ") + r.error};
    }

    static QStringList mentions(const KnowledgeIndex &index, const QString &text)
    {
        QStringList out;
        for (const KnowledgeIndex::Mention &m : index.find(text))
            out << m.entityId;
        return out;
    }

private slots:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        m_db = std::make_unique<Database>(m_dir->filePath(QStringLiteral("kg.sqlite3")), 5000);
        QString error;
        QVERIFY2(m_db->open(&error), qPrintable(error));
    }
    void cleanup()
    {
        m_db.reset();
        m_dir.reset();
    }

    void importsTheSeedFormatWithAliases()
    {
        const KnowledgeImportReport report = importBytes(kSampleGraph, kSampleAliases);
        QVERIFY2(report.ok(), qPrintable(joined(report.errors)));
        QCOMPARE(report.entities, 3);
        QCOMPARE(report.relations, 2);
        QCOMPARE(report.aliases, 4);
        QCOMPARE(counts(), (QList<int>{3, 2, 4}));

        auto r = run<QStringList>([](SqlSession &s) {
            QSqlQuery q = s.exec(QStringLiteral("SELECT name, type, summary, properties, source FROM kg_entities WHERE id = 'putongdisco'"));
            q.next();
            QSqlQuery a = s.exec(QStringLiteral("SELECT entity_id, alias FROM kg_aliases WHERE alias_key = 'tianyi'"));
            a.next();
            QSqlQuery rel = s.exec(QStringLiteral("SELECT source_id, target_id, type, weight, source FROM kg_relations WHERE id = 'putongdisco_sung_by_yanhe'"));
            rel.next();
            return QStringList{q.value(0).toString(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString(),
                               a.value(0).toString(), a.value(1).toString(),
                               rel.value(0).toString(), rel.value(1).toString(), rel.value(2).toString(), rel.value(3).toString(),
                               rel.value(4).toString()};
        }, false);
        QVERIFY2(r.ok(), qPrintable(r.error));
        const QStringList v = *r.value;
        QCOMPARE(v.at(0), QStringLiteral("普通DISCO"));
        QCOMPARE(v.at(1), QStringLiteral("Song"));
        QCOMPARE(v.at(2), QStringLiteral("一首歌"));
        QCOMPARE(QJsonDocument::fromJson(v.at(3).toUtf8()).object().value(QStringLiteral("bpm")).toInt(), 128);
        // The full-width alias is stored under its NFKC, case-folded key.
        QCOMPARE(v.at(4), QStringLiteral("luotianyi"));
        QCOMPARE(v.at(5), QStringLiteral("ＴＩＡＮＹＩ"));
        QCOMPARE(v.mid(6, 4), (QStringList{QStringLiteral("putongdisco"), QStringLiteral("yanhe"), QStringLiteral("sung_by"), QStringLiteral("0.5")}));
        QCOMPARE(v.at(10), QStringLiteral("test"));
    }

    void reimportIsIdempotentAndUpdates()
    {
        QVERIFY(importBytes(kSampleGraph, kSampleAliases).ok());
        const QStringList before = retrieve(QStringLiteral("天依和言和唱的普通DISCO"));
        QVERIFY(importBytes(kSampleGraph, kSampleAliases).ok());
        QCOMPARE(counts(), (QList<int>{3, 2, 4}));
        QCOMPARE(retrieve(QStringLiteral("天依和言和唱的普通DISCO")), before);

        // A changed summary replaces the stored one (upsert by id); nothing is duplicated.
        QByteArray changed = kSampleGraph;
        changed.replace("\"一首歌\"", "\"一首很有名的歌\"");
        QVERIFY(importBytes(changed, kSampleAliases).ok());
        QCOMPARE(counts(), (QList<int>{3, 2, 4}));
        QVERIFY(retrieve(QStringLiteral("普通DISCO")).contains(QStringLiteral("《普通DISCO》：一首很有名的歌")));
    }

    void badFilesGiveErrorsNamingTheId_data()
    {
        QTest::addColumn<QByteArray>("graph");
        QTest::addColumn<QByteArray>("aliases");
        QTest::addColumn<QString>("expected");
        const QByteArray e1 = R"({"id":"a","name":"A","type":"Singer"})";
        QTest::newRow("invalid json") << QByteArray("{\"entities\": [") << QByteArray() << QStringLiteral("knowledge graph: invalid JSON");
        QTest::newRow("not an object") << QByteArray("[]") << QByteArray() << QStringLiteral("top level must be a JSON object");
        QTest::newRow("entities missing") << QByteArray("{}") << QByteArray() << QStringLiteral("\"entities\" must be an array");
        QTest::newRow("entity without id") << QByteArray(R"({"entities":[{"name":"A","type":"Singer"}]})") << QByteArray()
                                           << QStringLiteral("entity #0: missing \"id\"");
        QTest::newRow("entity without name") << QByteArray(R"({"entities":[{"id":"e2","type":"Singer"}]})") << QByteArray()
                                             << QStringLiteral("entity \"e2\": missing \"name\"");
        QTest::newRow("duplicate entity") << (QByteArray(R"({"entities":[)") + e1 + "," + e1 + "]}") << QByteArray()
                                          << QStringLiteral("entity \"a\": duplicate id");
        QTest::newRow("unknown entity type") << QByteArray(R"({"entities":[{"id":"e3","name":"X","type":"Spaceship"}]})") << QByteArray()
                                             << QStringLiteral("entity \"e3\": unknown type \"Spaceship\"");
        QTest::newRow("summary not text") << QByteArray(R"({"entities":[{"id":"e4","name":"X","type":"Song","properties":{"summary":5}}]})")
                                          << QByteArray() << QStringLiteral("entity \"e4\": properties.summary must be a string");
        QTest::newRow("unknown relation type")
            << (QByteArray(R"({"entities":[)") + e1 + R"(],"relations":[{"id":"r1","source":"a","target":"a","type":"likes"}]})")
            << QByteArray() << QStringLiteral("relation \"r1\": unknown type \"likes\"");
        QTest::newRow("relation without target")
            << (QByteArray(R"({"entities":[)") + e1 + R"(],"relations":[{"id":"r2","source":"a","type":"sung_by"}]})")
            << QByteArray() << QStringLiteral("relation \"r2\": missing \"target\"");
        QTest::newRow("negative weight")
            << (QByteArray(R"({"entities":[)") + e1 + R"(],"relations":[{"id":"r3","source":"a","target":"a","type":"sung_by","weight":-1}]})")
            << QByteArray() << QStringLiteral("relation \"r3\": \"weight\" must be a number >= 0");
        QTest::newRow("unknown relation end")
            << (QByteArray(R"({"entities":[)") + e1 + R"(],"relations":[{"id":"r9","source":"a","target":"nobody","type":"sung_by"}]})")
            << QByteArray() << QStringLiteral("relation \"r9\": unknown target entity \"nobody\"");
        QTest::newRow("alias of unknown entity") << (QByteArray(R"({"entities":[)") + e1 + "]}") << QByteArray(R"({"阿A":"ghost"})")
                                                 << QStringLiteral("alias \"阿A\": unknown entity \"ghost\"");
        QTest::newRow("alias naming two entities")
            << QByteArray(R"({"entities":[{"id":"a","name":"A","type":"Singer"},{"id":"b","name":"B","type":"Singer"}]})")
            << QByteArray(R"({"Abc":"a","ABC":"b"})") << QStringLiteral("names both entity");
        QTest::newRow("alias file not an object") << (QByteArray(R"({"entities":[)") + e1 + "]}") << QByteArray("[1]")
                                                  << QStringLiteral("alias file: the top level must be a JSON object");
    }
    void badFilesGiveErrorsNamingTheId()
    {
        QFETCH(QByteArray, graph);
        QFETCH(QByteArray, aliases);
        QFETCH(QString, expected);
        const KnowledgeImportReport report = importBytes(graph, aliases);
        QVERIFY(!report.ok());
        QVERIFY2(joined(report.errors).contains(expected), qPrintable(joined(report.errors)));
        // Nothing was written.
        QCOMPARE(counts(), (QList<int>{0, 0, 0}));
    }

    void importFilesReportsUnreadableFiles()
    {
        auto r = run<KnowledgeImportReport>([](SqlSession &s) {
            return KnowledgeImporter::importFiles(s, QStringLiteral("/nonexistent/graph.json"), QStringLiteral("/nonexistent/aliases.json"));
        });
        QVERIFY(r.ok());
        QVERIFY(!r.value->ok());
        QVERIFY2(joined(r.value->errors).contains(QStringLiteral("/nonexistent/graph.json: cannot read")), qPrintable(joined(r.value->errors)));
    }

    void aliasMatching_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("chinese name") << QStringLiteral("我喜欢洛天依的歌") << QStringList{QStringLiteral("luotianyi")};
        QTest::newRow("longest match wins") << QStringLiteral("洛天依") << QStringList{QStringLiteral("luotianyi")};
        QTest::newRow("shorter alias alone") << QStringLiteral("天依你好") << QStringList{QStringLiteral("tianyi_short")};
        QTest::newRow("english, any case") << QStringLiteral("I love TIANYI!") << QStringList{QStringLiteral("luotianyi")};
        QTest::newRow("longer english alias") << QStringLiteral("luo tianyi sings") << QStringList{QStringLiteral("luo_tianyi_full")};
        QTest::newRow("not inside a longer word") << QStringLiteral("Tianyixyz and xTianyi") << QStringList{};
        QTest::newRow("latin next to cjk") << QStringLiteral("天依Tianyi呀") << QStringList{QStringLiteral("tianyi_short"), QStringLiteral("luotianyi")};
        QTest::newRow("song in title marks") << QStringLiteral("你听过《普通DISCO》吗") << QStringList{QStringLiteral("putongdisco")};
        QTest::newRow("latin end before cjk") << QStringLiteral("普通disco好听") << QStringList{QStringLiteral("putongdisco")};
        QTest::newRow("full-width latin (NFKC)") << QStringLiteral("普通ＤＩＳＣＯ") << QStringList{QStringLiteral("putongdisco")};
        QTest::newRow("each entity once") << QStringLiteral("天依天依，天依！") << QStringList{QStringLiteral("tianyi_short")};
        QTest::newRow("order of mention") << QStringLiteral("言和和洛天依") << QStringList{QStringLiteral("yanhe"), QStringLiteral("luotianyi")};
        QTest::newRow("digits need boundaries") << QStringLiteral("20123 or 12012") << QStringList{};
        QTest::newRow("digits alone") << QStringLiteral("在2012年") << QStringList{QStringLiteral("year_2012")};
        QTest::newRow("nothing known") << QStringLiteral("今天天气不错") << QStringList{};
    }
    void aliasMatching()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, expected);
        KnowledgeIndex index;
        index.addAlias(QStringLiteral("洛天依"), QStringLiteral("luotianyi"));
        index.addAlias(QStringLiteral("天依"), QStringLiteral("tianyi_short")); // a different entity, to see which one matched
        index.addAlias(QStringLiteral("Tianyi"), QStringLiteral("luotianyi"));
        index.addAlias(QStringLiteral("Luo Tianyi"), QStringLiteral("luo_tianyi_full"));
        index.addAlias(QStringLiteral("普通DISCO"), QStringLiteral("putongdisco"));
        index.addAlias(QStringLiteral("言和"), QStringLiteral("yanhe"));
        index.addAlias(QStringLiteral("2012"), QStringLiteral("year_2012"));
        index.addAlias(QStringLiteral("tianyi"), QStringLiteral("someone_else")); // same key: the first one stays
        QCOMPARE(index.aliasCount(), 7);
        QCOMPARE(mentions(index, text), expected);
    }

    void indexLoadsAliasesAndNames()
    {
        QVERIFY(importBytes(kSampleGraph, kSampleAliases).ok());
        auto r = run<QStringList>([](SqlSession &s) {
            const KnowledgeIndex index = KnowledgeIndex::load(s);
            return mentions(index, QStringLiteral("Luo Tianyi、言和 和 普通disco"));
        }, false);
        QVERIFY2(r.ok(), qPrintable(r.error));
        QCOMPARE(*r.value, (QStringList{QStringLiteral("luotianyi"), QStringLiteral("yanhe"), QStringLiteral("putongdisco")}));
    }

    void retrievalRendersFactsAndRespectsCaps()
    {
        // A hub with many relations: a singer and ten songs.
        QJsonArray entities{QJsonObject{{QStringLiteral("id"), QStringLiteral("lty")}, {QStringLiteral("name"), QStringLiteral("洛天依")},
                                        {QStringLiteral("type"), QStringLiteral("Singer")},
                                        {QStringLiteral("properties"), QJsonObject{{QStringLiteral("summary"), QStringLiteral("中文虚拟歌手")}}}}};
        QJsonArray relations;
        for (int i = 0; i < 10; ++i) {
            const QString id = QStringLiteral("song%1").arg(i);
            entities.append(QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("name"), QStringLiteral("歌%1").arg(i)},
                                        {QStringLiteral("type"), QStringLiteral("Song")},
                                        {QStringLiteral("properties"), QJsonObject{{QStringLiteral("summary"), QStringLiteral("第%1首").arg(i)}}}});
            relations.append(QJsonObject{{QStringLiteral("id"), id + QStringLiteral("_sung_by_lty")}, {QStringLiteral("source"), id},
                                         {QStringLiteral("target"), QStringLiteral("lty")}, {QStringLiteral("type"), QStringLiteral("sung_by")},
                                         {QStringLiteral("weight"), double(i) / 10.0}});
        }
        const QByteArray graph = QJsonDocument(QJsonObject{{QStringLiteral("entities"), entities}, {QStringLiteral("relations"), relations}}).toJson();
        QVERIFY(importBytes(graph, QByteArray(R"({"天依":"lty"})")).ok());

        // Summary first, then the heaviest relations, at most relationsPerEntity of them.
        QCOMPARE(retrieve(QStringLiteral("天依")),
                 (QStringList{QStringLiteral("洛天依：中文虚拟歌手"), QStringLiteral("洛天依唱过《歌9》"), QStringLiteral("洛天依唱过《歌8》"),
                              QStringLiteral("洛天依唱过《歌7》"), QStringLiteral("洛天依唱过《歌6》")}));
        // A relation between two mentioned entities comes before the heavier ones.
        const QStringList both = retrieve(QStringLiteral("天依唱过歌1吗"));
        QCOMPARE(both.mid(0, 3), (QStringList{QStringLiteral("洛天依：中文虚拟歌手"), QStringLiteral("《歌1》：第1首"), QStringLiteral("洛天依唱过《歌1》")}));
        QCOMPARE(both.count(QStringLiteral("洛天依唱过《歌1》")), 1);

        KnowledgeLimits limits;
        limits.relationsPerEntity = 2;
        QCOMPARE(retrieve(QStringLiteral("天依"), limits).size(), 3);
        limits.maxFacts = 2;
        QCOMPARE(retrieve(QStringLiteral("天依"), limits).size(), 2);
        KnowledgeLimits chars;
        chars.maxChars = 18; // "洛天依：中文虚拟歌手" (10) + one relation (9) is over: only the summary fits
        QCOMPARE(retrieve(QStringLiteral("天依"), chars), (QStringList{QStringLiteral("洛天依：中文虚拟歌手")}));
        KnowledgeLimits factChars;
        factChars.maxFactChars = 5;
        QCOMPARE(retrieve(QStringLiteral("天依"), factChars).first(), QStringLiteral("洛天依：…"));
        QCOMPARE(retrieve(QStringLiteral("今天天气不错")), QStringList{});
        // The default budget holds for any text.
        QString all;
        for (int i = 0; i < 10; ++i)
            all += QStringLiteral("歌%1，").arg(i);
        const QStringList many = retrieve(QStringLiteral("天依") + all);
        int total = 0;
        for (const QString &f : many)
            total += int(f.size());
        QVERIFY(many.size() <= KnowledgeLimits::kMaxFacts);
        QVERIFY(total <= KnowledgeLimits::kMaxChars);
    }

    void relationsReadAsChineseSentences_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("sentence");
        QTest::newRow("designed_by") << "designed_by" << "洛天依" << "MOTH" << "洛天依的形象是MOTH设计的";
        QTest::newRow("sung_by") << "sung_by" << "《普通DISCO》" << "洛天依" << "洛天依唱过《普通DISCO》";
        QTest::newRow("voiced_by") << "voiced_by" << "洛天依" << "山新" << "洛天依的声源是山新";
        QTest::newRow("released_in") << "released_in" << "《达拉崩吧》" << KnowledgeRetriever::displayName(QStringLiteral("2017"), QStringLiteral("Year"))
                                     << "《达拉崩吧》是2017年发布的";
        QTest::newRow("unknown type") << "likes" << "甲" << "乙" << "甲和乙有关";
    }
    void relationsReadAsChineseSentences()
    {
        QFETCH(QString, type);
        QFETCH(QString, source);
        QFETCH(QString, target);
        QFETCH(QString, sentence);
        QCOMPARE(KnowledgeRetriever::relationSentence(type, source, target), sentence);
    }

    void everyRelationTypeHasItsOwnSentence()
    {
        const QString fallback = KnowledgeRetriever::relationSentence(QStringLiteral("no_such_type"), QStringLiteral("A"), QStringLiteral("B"));
        for (const QString &type : kgRelationTypes()) {
            const QString s = KnowledgeRetriever::relationSentence(type, QStringLiteral("甲"), QStringLiteral("乙"));
            QVERIFY2(s != KnowledgeRetriever::relationSentence(QStringLiteral("no_such_type"), QStringLiteral("甲"), QStringLiteral("乙")), qPrintable(type));
            QVERIFY2(s.contains(QStringLiteral("甲")) && s.contains(QStringLiteral("乙")), qPrintable(s));
            QVERIFY2(!s.contains(QRegularExpression(QStringLiteral("[A-Za-z_>—]"))), qPrintable(s)); // no identifier, no arrow
        }
        QVERIFY(!fallback.contains(QStringLiteral("no_such_type")));
    }

    void bundledGraphLoadsAndEveryFactHasASource()
    {
        const KnowledgeParseResult parsed = KnowledgeImporter::readFiles(QString::fromLatin1(KnowledgeBase::kBundledGraph),
                                                                         QString::fromLatin1(KnowledgeBase::kBundledAliases));
        QVERIFY2(parsed.ok(), qPrintable(joined(parsed.errors)));
        QVERIFY(parsed.graph.entities.size() >= 20 && parsed.graph.entities.size() <= 40);
        QVERIFY(!parsed.graph.relations.isEmpty());
        QVERIFY(!parsed.graph.aliases.isEmpty());
        for (const KgEntity &e : parsed.graph.entities) {
            QVERIFY2(!e.source.isEmpty(), qPrintable(e.id));
            QVERIFY2(!e.summary.isEmpty(), qPrintable(e.id));
        }
        for (const KgRelation &r : parsed.graph.relations)
            QVERIFY2(!r.source.isEmpty(), qPrintable(r.id));
        QStringList aliases;
        for (const KgAlias &a : parsed.graph.aliases)
            aliases << a.alias;
        for (const char *a : {"洛天依", "天依", "天依酱", "Luo Tianyi", "Tianyi"})
            QVERIFY2(aliases.contains(QString::fromUtf8(a)), a);

        // Startup: imported once, then recognised as current.
        KnowledgeBase kb(*m_db);
        QSignalSpy ready(&kb, &KnowledgeBase::ready);
        kb.start();
        QVERIFY(ready.wait(10000));
        QVERIFY(kb.isReady());
        QCOMPARE(counts().at(0), int(parsed.graph.entities.size()));
        QCOMPARE(mentions(*kb.index(), QStringLiteral("天依唱过《普通DISCO》吗")),
                 (QStringList{QStringLiteral("luotianyi"), QStringLiteral("song_putongdisco")}));
        auto again = run<KnowledgeImportReport>([](SqlSession &s) { return KnowledgeBase::importBundledIfNeeded(s); });
        QVERIFY(again.ok());
        QCOMPARE(again.value->entities, 0);

        // A changed bundle (here: a different stored version) is imported again.
        auto changed = run<KnowledgeImportReport>([](SqlSession &s) {
            KnowledgeImporter::setMetaValue(s, QString::fromLatin1(KnowledgeBase::kBundledVersionKey), QStringLiteral("old"));
            return KnowledgeBase::importBundledIfNeeded(s);
        });
        QVERIFY(changed.ok());
        QCOMPARE(changed.value->entities, int(parsed.graph.entities.size()));
        QCOMPARE(counts().at(0), int(parsed.graph.entities.size()));

        const QStringList facts = retrieve(QStringLiteral("天依唱过《普通DISCO》吗"));
        QVERIFY2(facts.contains(QStringLiteral("洛天依唱过《普通DISCO》")), qPrintable(joined(facts)));
        QVERIFY2(facts.contains(QStringLiteral("洛天依的形象是MOTH设计的")), qPrintable(joined(facts)));
    }

    void importFilesRebuildsTheIndex()
    {
        QTemporaryDir dir;
        QFile g(dir.filePath(QStringLiteral("g.json")));
        QVERIFY(g.open(QIODevice::WriteOnly));
        g.write(kSampleGraph);
        g.close();
        QFile a(dir.filePath(QStringLiteral("a.json")));
        QVERIFY(a.open(QIODevice::WriteOnly));
        a.write(kSampleAliases);
        a.close();
        KnowledgeBase kb(*m_db);
        QVERIFY(mentions(*kb.index(), QStringLiteral("天依")).isEmpty());
        std::optional<KnowledgeImportReport> report;
        kb.importFiles(g.fileName(), a.fileName(), [&](KnowledgeImportReport r) { report = r; });
        QTRY_VERIFY(report.has_value());
        QVERIFY2(report->ok(), qPrintable(joined(report->errors)));
        QCOMPARE(mentions(*kb.index(), QStringLiteral("天依")), QStringList{QStringLiteral("luotianyi")});
        m_db->close(); // every storage job of kb has run
    }

    // Not a pass/fail check: prints what retrieval costs on the storage thread per turn.
    void retrievalCost()
    {
        KnowledgeBase kb(*m_db);
        QSignalSpy ready(&kb, &KnowledgeBase::ready);
        kb.start();
        QVERIFY(ready.wait(10000));
        const auto index = kb.index();
        auto r = run<qint64>([index](SqlSession &s) {
            constexpr int kRounds = 200;
            QElapsedTimer clock;
            clock.start();
            int facts = 0;
            for (int i = 0; i < kRounds; ++i)
                facts += int(KnowledgeRetriever::retrieve(s, *index, QStringLiteral("天依唱过《普通DISCO》和《达拉崩吧》吗？")).size());
            return facts > 0 ? clock.nsecsElapsed() / kRounds / 1000 : -1;
        }, false);
        QVERIFY(r.ok());
        QVERIFY(*r.value >= 0);
        qInfo() << "retrieval of 3 mentioned entities:" << *r.value << "us per turn (storage thread)";
    }
};

QTEST_GUILESS_MAIN(TestKnowledge)
#include "tst_knowledge.moc"
