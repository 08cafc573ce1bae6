#pragma once
// Per-user memory vectors in memory, for retrieval without reading every BLOB per turn. A user's
// vectors are loaded lazily from the database (on the storage thread, inside Database work) the
// first time they are searched; the total size is bounded and the least recently used users are
// evicted first. Only vectors of the current embedding model and dimensions are indexed (others
// wait to be re-embedded). Thread-safe (a mutex), but meant for the storage thread.

#include "memory/memoryrepository.h"
#include "memory/memoryvectors.h"

#include <QMutex>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>

namespace tianyi {

class SqlSession;

class MemoryIndex
{
public:
    static constexpr size_t kDefaultMaxBytes = size_t(256) << 20;

    MemoryIndex(QString embeddingModel, int dimensions, size_t maxBytes = kDefaultMaxBytes);

    QString embeddingModel() const { return m_model; }
    int dimensions() const { return m_dims; }

    // Storage thread. Loads the user when needed.
    QVector<MemoryHit> search(SqlSession &s, qint64 userId, const Embedding &query, const MemorySearchOptions &options);
    std::optional<std::pair<qint64, float>> nearest(SqlSession &s, qint64 userId, const Embedding &query);
    // Storage thread: loads the user now (a session opened; their first turn should not wait for it).
    void preload(SqlSession &s, qint64 userId);
    // Any thread: searches a user who is loaded, without the database; nullopt when not loaded.
    std::optional<QVector<MemoryHit>> searchLoaded(qint64 userId, const Embedding &query, const MemorySearchOptions &options);

    // Keep a loaded user in step with the table (no-op for users not loaded).
    void upsert(const MemoryRecord &m);
    void remove(qint64 userId, qint64 memoryId);
    void setLastUsed(qint64 userId, const QVector<qint64> &ids, qint64 atMs);
    void dropUser(qint64 userId);

    size_t bytes() const;
    int loadedUsers() const;
    bool isLoaded(qint64 userId) const;

private:
    struct Entry {
        MemoryVectors vectors;
        std::list<qint64>::iterator lru;
        size_t bytes = 0;
        explicit Entry(int dims) : vectors(dims) {}
    };
    Entry &load(SqlSession &s, qint64 userId);  // m_mutex held
    void evict(qint64 keepUserId);              // m_mutex held
    static MemoryMeta metaOf(const MemoryRecord &m);

    QString m_model;
    int m_dims;
    size_t m_maxBytes;
    mutable QMutex m_mutex;
    std::unordered_map<qint64, std::unique_ptr<Entry>> m_users;
    std::list<qint64> m_lru;  // front: most recently used
    size_t m_bytes = 0;
};

} // namespace tianyi
