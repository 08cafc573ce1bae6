#include "memory/memoryrepository.h"

#include "storage/database.h"

#include <QtEndian>
#include <cstring>

namespace tianyi::MemoryRepository {

namespace {
const QString kColumns = QStringLiteral("id, user_id, text, kind, importance, created_at, last_used_at, embedding_model, dimensions");

MemoryRecord fromRow(QSqlQuery &q, bool withEmbedding)
{
    MemoryRecord m;
    m.id = q.value(0).toLongLong();
    m.userId = q.value(1).toLongLong();
    m.text = q.value(2).toString();
    m.kind = q.value(3).toString();
    m.importance = q.value(4).toDouble();
    m.createdAtMs = q.value(5).toLongLong();
    m.lastUsedAtMs = q.value(6).toLongLong();
    m.embeddingModel = q.value(7).toString();
    m.dimensions = q.value(8).toInt();
    if (withEmbedding)
        m.embedding = decode(q.value(9).toByteArray());
    return m;
}

QString text(const QString &v)
{
    return v.isNull() ? QStringLiteral("") : v;
}
} // namespace

QByteArray encode(const Embedding &v)
{
    QByteArray out(v.size() * qsizetype(sizeof(float)), Qt::Uninitialized);
    for (qsizetype i = 0; i < v.size(); ++i)
        qToLittleEndian<float>(v[i], out.data() + i * qsizetype(sizeof(float)));
    return out;
}

Embedding decode(const QByteArray &blob)
{
    Embedding out(blob.size() / qsizetype(sizeof(float)));
    for (qsizetype i = 0; i < out.size(); ++i)
        out[i] = qFromLittleEndian<float>(blob.constData() + i * qsizetype(sizeof(float)));
    return out;
}

qint64 insert(SqlSession &s, const MemoryRecord &m)
{
    QSqlQuery q = s.exec(QStringLiteral("INSERT INTO memories(user_id, text, kind, importance, created_at, last_used_at, embedding, embedding_model, dimensions)"
                                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                         {m.userId, text(m.text), text(m.kind), m.importance, m.createdAtMs, m.lastUsedAtMs,
                          m.embedding.isEmpty() ? QVariant(QMetaType(QMetaType::QByteArray)) : QVariant(encode(m.embedding)), text(m.embeddingModel),
                          int(m.embedding.size())});
    return s.lastInsertId(q);
}

bool update(SqlSession &s, const MemoryRecord &m)
{
    QSqlQuery q = s.exec(QStringLiteral("UPDATE memories SET text = ?, kind = ?, importance = ?, embedding = ?, embedding_model = ?, dimensions = ?"
                                        " WHERE id = ? AND user_id = ?"),
                         {text(m.text), text(m.kind), m.importance,
                          m.embedding.isEmpty() ? QVariant(QMetaType(QMetaType::QByteArray)) : QVariant(encode(m.embedding)), text(m.embeddingModel),
                          int(m.embedding.size()), m.id, m.userId});
    return q.numRowsAffected() > 0;
}

QVector<MemoryRecord> list(SqlSession &s, qint64 userId, bool withEmbeddings)
{
    QVector<MemoryRecord> out;
    QSqlQuery q = s.exec(QStringLiteral("SELECT %1%2 FROM memories WHERE user_id = ? ORDER BY id DESC")
                             .arg(kColumns, withEmbeddings ? QStringLiteral(", embedding") : QString()),
                         {userId});
    while (q.next())
        out.append(fromRow(q, withEmbeddings));
    return out;
}

QVector<MemoryRecord> page(SqlSession &s, qint64 userId, qint64 beforeId, int limit)
{
    QVector<MemoryRecord> out;
    QSqlQuery q = s.exec(QStringLiteral("SELECT %1 FROM memories WHERE user_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?").arg(kColumns),
                         {userId, beforeId, beforeId, limit});
    while (q.next())
        out.append(fromRow(q, false));
    return out;
}

std::optional<qint64> leastValuable(SqlSession &s, qint64 userId)
{
    const auto id = s.scalar(QStringLiteral("SELECT id FROM memories WHERE user_id = ?"
                                            " ORDER BY importance ASC, last_used_at ASC, id ASC LIMIT 1"),
                             {userId});
    if (!id)
        return std::nullopt;
    return id->toLongLong();
}

std::optional<MemoryRecord> find(SqlSession &s, qint64 userId, qint64 id)
{
    QSqlQuery q = s.exec(QStringLiteral("SELECT %1, embedding FROM memories WHERE id = ? AND user_id = ?").arg(kColumns), {id, userId});
    if (!q.next())
        return std::nullopt;
    return fromRow(q, true);
}

bool remove(SqlSession &s, qint64 userId, qint64 id)
{
    QSqlQuery q = s.exec(QStringLiteral("DELETE FROM memories WHERE id = ? AND user_id = ?"), {id, userId});
    return q.numRowsAffected() > 0;
}

void touch(SqlSession &s, qint64 userId, const QVector<qint64> &ids, qint64 nowMs)
{
    for (qint64 id : ids)
        s.exec(QStringLiteral("UPDATE memories SET last_used_at = ? WHERE id = ? AND user_id = ?"), {nowMs, id, userId});
}

int count(SqlSession &s, qint64 userId)
{
    return s.scalar(QStringLiteral("SELECT COUNT(*) FROM memories WHERE user_id = ?"), {userId})->toInt();
}

} // namespace tianyi::MemoryRepository
