// The knowledge-graph seed files (server/src/knowledge/knowledgeimporter.cpp): graph JSON and alias
// JSON, as an operator's import reads them from disk. The input is the graph, then optionally a NUL
// byte and the aliases. KnowledgeImporter::parse validates them; a graph that passes is imported
// (importGraph) into an in-memory SQLite database with the real schema, in a transaction that is
// rolled back, so every input meets an empty graph. Properties: what passes validation has the fields
// the tables need, errors are capped, and an import reports every entity and relation written.

#include "fuzzsupport.h"

#include "knowledge/knowledgeimporter.h"
#include "storage/database.h"
#include "storage/migrations.h"

#include <QSqlDatabase>

namespace {

tianyi::SqlSession &session()
{
    static tianyi::SqlSession *s = [] {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("fuzz"));
        db.setDatabaseName(QStringLiteral(":memory:"));
        FUZZ_CHECK(db.open());
        auto *created = new tianyi::SqlSession(db);
        tianyi::runMigrations(*created);
        return created;
    }();
    return *s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace tianyi;
    fuzz::ensureApplication();
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    const qsizetype nul = input.indexOf('\0');
    const QByteArray graph = nul < 0 ? input : input.left(nul);
    const QByteArray aliases = nul < 0 ? QByteArray() : input.mid(nul + 1);

    const KnowledgeParseResult result = KnowledgeImporter::parse(graph, aliases);
    FUZZ_CHECK(result.errors.size() <= KnowledgeImporter::kMaxReportedErrors + 1); // + "... and N more"
    if (!result.ok())
        return 0;
    for (const KgEntity &e : result.graph.entities)
        FUZZ_CHECK(!e.id.isEmpty() && !e.name.isEmpty() && kgEntityTypes().contains(e.type));
    for (const KgRelation &r : result.graph.relations)
        FUZZ_CHECK(!r.id.isEmpty() && !r.sourceId.isEmpty() && !r.targetId.isEmpty() && kgRelationTypes().contains(r.type));
    for (const KgAlias &a : result.graph.aliases)
        FUZZ_CHECK(!kgAliasKey(a.alias).isEmpty() && !a.entityId.isEmpty());

    SqlSession &s = session();
    FUZZ_CHECK(s.db().transaction());
    try {
        const KnowledgeImportReport report = KnowledgeImporter::importGraph(s, result.graph);
        if (report.ok())
            FUZZ_CHECK(report.entities == result.graph.entities.size() && report.relations == result.graph.relations.size());
    } catch (const DbError &e) {
        // An SQL failure on validated input is a bug of the importer.
        std::fprintf(stderr, "import failed: %s\n", e.what());
        std::abort();
    }
    FUZZ_CHECK(s.db().rollback());
    return 0;
}
