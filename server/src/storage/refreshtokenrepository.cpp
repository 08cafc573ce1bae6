#include "storage/refreshtokenrepository.h"

namespace tianyi {

void RefreshTokenRepository::insert(qint64 userId, const QString &familyId, const QByteArray &tokenHash, qint64 nowMs, qint64 expiresAtMs)
{
    m_s.exec(QStringLiteral("INSERT INTO refresh_tokens(user_id, family_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"),
             {userId, familyId, tokenHash, nowMs, expiresAtMs});
}

std::optional<RefreshTokenRecord> RefreshTokenRepository::findByHash(const QByteArray &tokenHash)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT id, user_id, family_id, expires_at, rotated_at IS NOT NULL, revoked_at IS NOT NULL"
                                          " FROM refresh_tokens WHERE token_hash = ?"),
                           {tokenHash});
    if (!q.next())
        return std::nullopt;
    return RefreshTokenRecord{q.value(0).toLongLong(), q.value(1).toLongLong(), q.value(2).toString(), q.value(3).toLongLong(),
                              q.value(4).toInt() != 0, q.value(5).toInt() != 0};
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

int RefreshTokenRepository::revokeAllOfUser(qint64 userId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"), {nowMs, userId});
    return q.numRowsAffected();
}

int RefreshTokenRepository::deleteExpiredOfUser(qint64 userId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("DELETE FROM refresh_tokens WHERE user_id = ? AND expires_at <= ?"), {userId, nowMs});
    return q.numRowsAffected();
}

} // namespace tianyi
