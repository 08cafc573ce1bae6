#include "storage/summaryrepository.h"

#include "storage/database.h"

namespace tianyi::SummaryRepository {

std::optional<UserSummary> find(SqlSession &s, qint64 userId)
{
    QSqlQuery q = s.exec(QStringLiteral("SELECT text, last_turn_id FROM summaries WHERE user_id = ?"), {userId});
    if (!q.next())
        return std::nullopt;
    return UserSummary{q.value(0).toString(), q.value(1).toLongLong()};
}

void store(SqlSession &s, qint64 userId, const QString &text, qint64 lastTurnId, qint64 nowMs)
{
    if (!s.scalar(QStringLiteral("SELECT 1 FROM users WHERE id = ?"), {userId}))
        return;
    s.exec(QStringLiteral("INSERT INTO summaries(user_id, text, last_turn_id, updated_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT(user_id) DO UPDATE SET text = excluded.text, last_turn_id = excluded.last_turn_id,"
                          " updated_at = excluded.updated_at WHERE excluded.last_turn_id > summaries.last_turn_id"),
           {userId, text, lastTurnId, nowMs});
}

bool dropIfCovers(SqlSession &s, qint64 userId, qint64 oldestDeletedTurnId)
{
    QSqlQuery q = s.exec(QStringLiteral("DELETE FROM summaries WHERE user_id = ? AND last_turn_id >= ?"), {userId, oldestDeletedTurnId});
    return q.numRowsAffected() > 0;
}

} // namespace tianyi::SummaryRepository
