#pragma once
// Long-term memories of users (table memories). Storage thread only; throws DbError. Every query is
// scoped by user_id: no function reads or changes another user's rows.

#include "upstream/embedder.h"

#include <QString>
#include <QVector>
#include <optional>

namespace tianyi {

class SqlSession;

struct MemoryRecord {
    qint64 id = 0;
    qint64 userId = 0;
    QString text;
    QString kind = QStringLiteral("fact");
    double importance = 0.5;
    qint64 createdAtMs = 0;
    qint64 lastUsedAtMs = 0;
    Embedding embedding;          // empty when not loaded or not embedded
    QString embeddingModel;
    int dimensions = 0;
};

namespace MemoryRepository {

qint64 insert(SqlSession &s, const MemoryRecord &m);
// Replaces text, kind, importance and vector of the user's memory; false when it is not theirs.
bool update(SqlSession &s, const MemoryRecord &m);
// Newest first. Vectors only when withEmbeddings.
QVector<MemoryRecord> list(SqlSession &s, qint64 userId, bool withEmbeddings);
// Newest first, ids below beforeId (0: from the newest), at most limit rows (no embeddings).
QVector<MemoryRecord> page(SqlSession &s, qint64 userId, qint64 beforeId, int limit);
// The memory to give up first when the user has too many: least important, then longest unused, then oldest.
std::optional<qint64> leastValuable(SqlSession &s, qint64 userId);
std::optional<MemoryRecord> find(SqlSession &s, qint64 userId, qint64 id);
bool remove(SqlSession &s, qint64 userId, qint64 id);
void touch(SqlSession &s, qint64 userId, const QVector<qint64> &ids, qint64 nowMs);
int count(SqlSession &s, qint64 userId);

QByteArray encode(const Embedding &v);     // float32 little-endian
Embedding decode(const QByteArray &blob);

} // namespace MemoryRepository
} // namespace tianyi
