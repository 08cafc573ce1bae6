#pragma once
// The memory area, composed: the per-user vector index, the outbox worker and its handlers
// (memory extraction, summary compression), retrieval for the prompt, and account deletion.
// Built by the Application and handed to the chat with the turn's other services. Lives on the
// event-loop thread.

#include "memory/memoryindex.h"
#include "memory/memoryvectors.h"

#include <QLoggingCategory>
#include <QObject>
#include <QStringList>
#include <functional>
#include <memory>

Q_DECLARE_LOGGING_CATEGORY(lcMemory)

namespace tianyi {

class AudioStore;
class Database;
class Embedder;
class LlmProvider;
class MemoryExtractor;
class Metrics;
class OutboxWorker;
class SqlSession;
class SummaryCompressor;
class WorkerPool;

class MemoryService : public QObject
{
    Q_OBJECT
public:
    static constexpr int kPromptMemories = 8;  // top-k memories put into the prompt
    static constexpr int kRetrievalTimeoutMs = 2000; // a slow embedder does not hold the turn longer: it goes on without memories

    struct Deps {
        Database *db = nullptr;
        Metrics *metrics = nullptr;
        LlmProvider *llm = nullptr;
        Embedder *embedder = nullptr;
        AudioStore *audio = nullptr;   // null: no audio files to remove
        WorkerPool *cpu = nullptr;     // searches of loaded users (null: on the storage thread)
    };

    explicit MemoryService(const Deps &deps, QObject *parent = nullptr);
    ~MemoryService() override;

    // Starts the outbox worker (resumes jobs a crash left running). Call before listening.
    void start();

    // Top-k memories of THIS user for the prompt: embeds `text`, then searches the user's vectors on
    // the storage thread (and notes them as used). done(texts, best first) runs on this thread if
    // context is alive; on any failure or after kRetrievalTimeoutMs it gets an empty list (the turn
    // goes on without memories). done runs exactly once.
    void retrieve(QObject *context, qint64 userId, const QString &text, std::function<void(QStringList)> done);
    // Loads the user's vectors in the background (their session opened), so retrieval finds them in memory.
    void preload(qint64 userId);

    // Storage thread, inside the finished turn's write transaction: queues the jobs of a completed
    // turn (memory extraction, summary compression).
    static void enqueueTurnJobs(SqlSession &s, qint64 userId, qint64 turnId);

    // Deletes the account and everything of the user: the users row (cascading to every table that
    // references it), outbox jobs, in-memory vectors and the audio directory. done(ok, error).
    void deleteAccount(qint64 userId, std::function<void(bool ok, const QString &error)> done);

    OutboxWorker &outbox() { return *m_outbox; }
    MemoryIndex &index() { return *m_index; }
    MemoryExtractor &extractor() { return *m_extractor; }
    SummaryCompressor &summaries() { return *m_summaries; }
    Embedder &embedder() { return *m_deps.embedder; }
    Database &database() { return *m_deps.db; }
    MemorySearchOptions &searchOptions() { return m_search; }

signals:
    // The user's rows are gone: their open sessions must end too (Application wires this to the chat).
    void accountDeleted(qint64 userId);

private:
    void search(QObject *context, qint64 userId, const Embedding &query, std::function<void(QStringList)> done);
    void searchInStorage(QObject *context, qint64 userId, const Embedding &query, std::function<void(QStringList)> done);

    Deps m_deps;
    std::unique_ptr<MemoryIndex> m_index;   // used by storage work: the database thread is joined before this goes
    std::unique_ptr<OutboxWorker> m_outbox;
    std::unique_ptr<MemoryExtractor> m_extractor;
    std::unique_ptr<SummaryCompressor> m_summaries;
    MemorySearchOptions m_search;
};

} // namespace tianyi
