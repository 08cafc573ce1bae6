#include "memory/memoryindex.h"

#include "storage/database.h"

namespace tianyi {

MemoryIndex::MemoryIndex(QString embeddingModel, int dimensions, size_t maxBytes)
    : m_model(std::move(embeddingModel))
    , m_dims(dimensions)
    , m_maxBytes(maxBytes)
{
}

MemoryMeta MemoryIndex::metaOf(const MemoryRecord &m)
{
    return MemoryMeta{m.id, float(m.importance), m.createdAtMs, m.lastUsedAtMs, m.text};
}

MemoryIndex::Entry &MemoryIndex::load(SqlSession &s, qint64 userId)
{
    auto it = m_users.find(userId);
    if (it != m_users.end()) {
        m_lru.splice(m_lru.begin(), m_lru, it->second->lru);
        return *it->second;
    }
    auto entry = std::make_unique<Entry>(m_dims);
    const QVector<MemoryRecord> rows = MemoryRepository::list(s, userId, true);
    entry->vectors.reserve(int(rows.size()));
    for (const MemoryRecord &m : rows) {
        if (m.embeddingModel == m_model && m.embedding.size() == m_dims)
            entry->vectors.upsert(metaOf(m), m.embedding.constData(), int(m.embedding.size()));
    }
    entry->bytes = entry->vectors.bytes();
    m_bytes += entry->bytes;
    m_lru.push_front(userId);
    entry->lru = m_lru.begin();
    Entry &ref = *entry;
    m_users.emplace(userId, std::move(entry));
    evict(userId);
    return ref;
}

void MemoryIndex::evict(qint64 keepUserId)
{
    // The user being served stays, even alone over the budget.
    while (m_bytes > m_maxBytes && m_lru.size() > 1) {
        const qint64 victim = m_lru.back() == keepUserId ? *std::prev(m_lru.end(), 2) : m_lru.back();
        auto it = m_users.find(victim);
        m_bytes -= it->second->bytes;
        m_lru.erase(it->second->lru);
        m_users.erase(it);
    }
}

QVector<MemoryHit> MemoryIndex::search(SqlSession &s, qint64 userId, const Embedding &query, const MemorySearchOptions &options)
{
    QMutexLocker lock(&m_mutex);
    if (query.size() != m_dims)
        return {};
    return load(s, userId).vectors.search(query.constData(), int(query.size()), options);
}

void MemoryIndex::preload(SqlSession &s, qint64 userId)
{
    QMutexLocker lock(&m_mutex);
    load(s, userId);
}

std::optional<QVector<MemoryHit>> MemoryIndex::searchLoaded(qint64 userId, const Embedding &query, const MemorySearchOptions &options)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_users.find(userId);
    if (it == m_users.end())
        return std::nullopt;
    if (query.size() != m_dims)
        return QVector<MemoryHit>();
    m_lru.splice(m_lru.begin(), m_lru, it->second->lru);
    return it->second->vectors.search(query.constData(), int(query.size()), options);
}

std::optional<std::pair<qint64, float>> MemoryIndex::nearest(SqlSession &s, qint64 userId, const Embedding &query)
{
    QMutexLocker lock(&m_mutex);
    if (query.size() != m_dims)
        return std::nullopt;
    return load(s, userId).vectors.nearest(query.constData(), int(query.size()));
}

void MemoryIndex::upsert(const MemoryRecord &m)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_users.find(m.userId);
    if (it == m_users.end())
        return;
    Entry &e = *it->second;
    if (m.embeddingModel == m_model && m.embedding.size() == m_dims)
        e.vectors.upsert(metaOf(m), m.embedding.constData(), int(m.embedding.size()));
    else
        e.vectors.remove(m.id);
    m_bytes -= e.bytes;
    e.bytes = e.vectors.bytes();
    m_bytes += e.bytes;
    evict(m.userId);
}

void MemoryIndex::remove(qint64 userId, qint64 memoryId)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_users.find(userId);
    if (it != m_users.end())
        it->second->vectors.remove(memoryId);
}

void MemoryIndex::setLastUsed(qint64 userId, const QVector<qint64> &ids, qint64 atMs)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_users.find(userId);
    if (it == m_users.end())
        return;
    for (qint64 id : ids)
        it->second->vectors.setLastUsed(id, atMs);
}

void MemoryIndex::dropUser(qint64 userId)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_users.find(userId);
    if (it == m_users.end())
        return;
    m_bytes -= it->second->bytes;
    m_lru.erase(it->second->lru);
    m_users.erase(it);
}

size_t MemoryIndex::bytes() const
{
    QMutexLocker lock(&m_mutex);
    return m_bytes;
}

int MemoryIndex::loadedUsers() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_users.size());
}

bool MemoryIndex::isLoaded(qint64 userId) const
{
    QMutexLocker lock(&m_mutex);
    return m_users.count(userId) > 0;
}

} // namespace tianyi
