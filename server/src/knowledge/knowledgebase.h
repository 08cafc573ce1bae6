#pragma once
// The server's knowledge graph at run time: imports the bundled graph (resources/knowledge) when
// the tables are empty or the bundled files changed, and holds the current KnowledgeIndex.
//
// Threads: the import and the index build run on the storage thread, in one storage job queued at
// startup before the server listens; the storage queue is FIFO, so every later storage job (a
// turn's prompt read) already sees the index. index() is safe from any thread.

#include "knowledge/knowledgeimporter.h"
#include "knowledge/knowledgeindex.h"

#include <QMutex>
#include <QObject>
#include <functional>
#include <memory>

namespace tianyi {

class Database;
class SqlSession;

class KnowledgeBase : public QObject
{
    Q_OBJECT
public:
    static constexpr char kBundledGraph[] = ":/knowledge/luotianyi.graph.json";
    static constexpr char kBundledAliases[] = ":/knowledge/aliases.json";
    static constexpr char kBundledVersionKey[] = "bundled_version";

    // The database must outlive every storage job of this object (Database::close() joins them).
    explicit KnowledgeBase(Database &db, QObject *parent = nullptr);

    // Queues the bundled import (when needed) and the index build; ready() follows.
    void start();
    // Imports files in one write transaction, then rebuilds the index; done runs on this thread.
    void importFiles(const QString &graphPath, const QString &aliasPath, std::function<void(KnowledgeImportReport)> done);

    // The current index (never null: empty until the first build).
    std::shared_ptr<const KnowledgeIndex> index() const;
    bool isReady() const;

    // Storage thread: imports the bundled graph when empty or changed; returns the report (empty
    // counts when nothing had to be done).
    static KnowledgeImportReport importBundledIfNeeded(SqlSession &s);
    // The version of the bundled files (a hash of their bytes).
    static QString bundledVersion();

signals:
    void ready();     // the first index is in place
    void reloaded();  // an import replaced the index

private:
    void setIndex(std::shared_ptr<const KnowledgeIndex> index);

    Database &m_db;
    mutable QMutex m_mutex;
    std::shared_ptr<const KnowledgeIndex> m_index;
    bool m_ready = false;
};

} // namespace tianyi
