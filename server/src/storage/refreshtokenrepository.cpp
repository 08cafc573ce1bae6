#include "storage/refreshtokenrepository.h"

namespace tianyi {

void RefreshTokenRepository::insert(qint64 userId, const QString &familyId, const QByteArray &tokenHash, qint64 nowMs, qint64 expiresAtMs,
                                    qint64 loginCreatedMs)
{
    m_s.exec(QStringLiteral("INSERT INTO refresh_tokens(user_id, family_id, token_hash, created_at, expires_at, login_created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?)"),
             {userId, familyId, tokenHash, nowMs, expiresAtMs, loginCreatedMs});
}

std::optional<RefreshTokenRecord> RefreshTokenRepository::findByHash(const QByteArray &tokenHash)
{
    // Rows written before login_created_at existed count from their own issue.
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT id, user_id, family_id, expires_at, rotated_at IS NOT NULL, revoked_at IS NOT NULL,"
                                          " COALESCE(login_created_at, created_at) FROM refresh_tokens WHERE token_hash = ?"),
                           {tokenHash});
    if (!q.next())
        return std::nullopt;
    return RefreshTokenRecord{q.value(0).toLongLong(), q.value(1).toLongLong(), q.value(2).toString(), q.value(3).toLongLong(),
                              q.value(4).toInt() != 0, q.value(5).toInt() != 0, q.value(6).toLongLong()};
}

void RefreshTokenRepository::markRotated(qint64 id, qint64 nowMs)
{
    m_s.exec(QStringLiteral("UPDATE refresh_tokens SET rotated_at = ? WHERE id = ?"), {nowMs, id});
}

int RefreshTokenRepository::revokeFamily(const QString &familyId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL"), {nowMs, familyId});
    return q.numRowsAffected();
}

bool RefreshTokenRepository::loginIsLive(qint64 userId, const QString &familyId)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT 1 FROM refresh_tokens WHERE family_id = ? AND user_id = ?"
                                          " AND rotated_at IS NULL AND revoked_at IS NULL LIMIT 1"),
                           {familyId, userId});
    return q.next();
}

QList<LiveLoginRecord> RefreshTokenRepository::liveLoginsOfUser(qint64 userId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT family_id, COALESCE(login_created_at, created_at), expires_at, created_at FROM refresh_tokens"
                                          " WHERE user_id = ? AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > ?"
                                          " ORDER BY COALESCE(login_created_at, created_at), id"),
                           {userId, nowMs});
    QList<LiveLoginRecord> out;
    while (q.next())
        out.append(LiveLoginRecord{q.value(0).toString(), q.value(1).toLongLong(), q.value(2).toLongLong(), q.value(3).toLongLong()});
    return out;
}

bool RefreshTokenRepository::revokeFamilyOfUser(qint64 userId, const QString &familyId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND user_id = ? AND revoked_at IS NULL"),
                           {nowMs, familyId, userId});
    return q.numRowsAffected() > 0;
}

int RefreshTokenRepository::revokeAllOfUser(qint64 userId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"), {nowMs, userId});
    return q.numRowsAffected();
}

int RefreshTokenRepository::deleteDeadOfUser(qint64 userId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("DELETE FROM refresh_tokens WHERE user_id = ? AND (expires_at <= ? OR revoked_at IS NOT NULL)"),
                           {userId, nowMs});
    return q.numRowsAffected();
}

int RefreshTokenRepository::pruneRotatedOfFamily(const QString &familyId, int keep)
{
    QSqlQuery q = m_s.exec(QStringLiteral("DELETE FROM refresh_tokens WHERE family_id = ? AND rotated_at IS NOT NULL AND id NOT IN"
                                          " (SELECT id FROM refresh_tokens WHERE family_id = ? AND rotated_at IS NOT NULL ORDER BY id DESC LIMIT ?)"),
                           {familyId, familyId, keep});
    return q.numRowsAffected();
}

int RefreshTokenRepository::keepNewestFamiliesOfUser(qint64 userId, int keep)
{
    QSqlQuery q = m_s.exec(QStringLiteral("DELETE FROM refresh_tokens WHERE user_id = ? AND family_id NOT IN"
                                          " (SELECT family_id FROM refresh_tokens WHERE user_id = ? GROUP BY family_id ORDER BY MAX(id) DESC LIMIT ?)"),
                           {userId, userId, keep});
    return q.numRowsAffected();
}

int RefreshTokenRepository::deleteExpired(qint64 nowMs, int limit)
{
    QSqlQuery q = m_s.exec(QStringLiteral("DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at <= ? LIMIT ?)"),
                           {nowMs, limit});
    return q.numRowsAffected();
}

int RefreshTokenRepository::countOfUser(qint64 userId)
{
    return m_s.scalar(QStringLiteral("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = ?"), {userId}).value_or(0).toInt();
}

} // namespace tianyi
