#pragma once
// Reads the seed project's graph format and its alias file, validates them, and upserts them into
// the kg_* tables.
//
// Graph: {"entities":[{"id","name","type","properties":{"summary","source",...}}],
//         "relations":[{"id":"src_type_dst","source","target","type","properties":{"source",...},"weight":1.0}]}
// Aliases: {"alias": "entity id", ...}.
// Where a fact comes from: properties.source (a relation's own "source" is its source entity).
//
// Validation reports every problem with the id it concerns; nothing is written when there is one.
// Re-importing the same files changes nothing (upsert by id / alias key).

#include "knowledge/knowledgegraph.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace tianyi {

class SqlSession;

struct KnowledgeParseResult {
    KnowledgeGraph graph;
    QStringList errors;
    bool ok() const { return errors.isEmpty(); }
};

struct KnowledgeImportReport {
    int entities = 0;   // rows upserted
    int relations = 0;
    int aliases = 0;
    QStringList errors; // not empty: nothing was written
    bool ok() const { return errors.isEmpty(); }
};

namespace KnowledgeImporter {

inline constexpr int kMaxReportedErrors = 50;

// Pure: parses and validates (ids unique, names and types present and known, relation ends and
// alias targets defined in the graph or marked for the database check of importGraph).
KnowledgeParseResult parse(const QByteArray &graphJson, const QByteArray &aliasJson = {});
// Reads the files (aliasPath may be empty; ":/..." resource paths work) and parses them.
KnowledgeParseResult readFiles(const QString &graphPath, const QString &aliasPath = {});

// Storage thread, inside Database::write (one transaction). Relation ends and alias targets that
// are not in the graph must already be stored, else nothing is written and errors name them.
// Throws DbError on an SQL failure (the transaction rolls back).
KnowledgeImportReport importGraph(SqlSession &s, const KnowledgeGraph &graph);
// readFiles + importGraph: what a command-line import runs inside Database::write.
KnowledgeImportReport importFiles(SqlSession &s, const QString &graphPath, const QString &aliasPath = {});

// kg_meta helpers (e.g. the bundled graph's version) and the stored entity count.
QString metaValue(SqlSession &s, const QString &key);
void setMetaValue(SqlSession &s, const QString &key, const QString &value);
int entityCount(SqlSession &s);

} // namespace KnowledgeImporter
} // namespace tianyi
