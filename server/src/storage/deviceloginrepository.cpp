#include "storage/deviceloginrepository.h"

namespace tianyi {

void DeviceLoginRepository::insert(qint64 userId, const DeviceLoginRecord &login, qint64 tokenVersion)
{
    m_s.exec(QStringLiteral("INSERT INTO device_logins(id, user_id, name, token_version, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"),
             {login.id, userId, login.name, tokenVersion, login.createdAtMs, login.expiresAtMs});
}

QList<DeviceLoginRecord> DeviceLoginRepository::liveOfUser(qint64 userId, qint64 tokenVersion, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT id, name, created_at, expires_at, COALESCE(last_used_at, 0) FROM device_logins"
                                          " WHERE user_id = ? AND token_version = ? AND revoked_at IS NULL AND expires_at > ?"
                                          " ORDER BY created_at, id"),
                           {userId, tokenVersion, nowMs});
    QList<DeviceLoginRecord> out;
    while (q.next())
        out.append(DeviceLoginRecord{q.value(0).toString(), q.value(1).toString(), q.value(2).toLongLong(), q.value(3).toLongLong(),
                                     q.value(4).toLongLong()});
    return out;
}

int DeviceLoginRepository::countLiveOfUser(qint64 userId, qint64 tokenVersion, qint64 nowMs)
{
    return m_s.scalar(QStringLiteral("SELECT COUNT(*) FROM device_logins WHERE user_id = ? AND token_version = ?"
                                     " AND revoked_at IS NULL AND expires_at > ?"),
                      {userId, tokenVersion, nowMs})
        .value_or(0)
        .toInt();
}

bool DeviceLoginRepository::isLive(qint64 userId, const QString &id, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT 1 FROM device_logins WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?"),
                           {id, userId, nowMs});
    return q.next();
}

void DeviceLoginRepository::noteUse(const QString &id, qint64 nowMs, qint64 minIntervalMs)
{
    m_s.exec(QStringLiteral("UPDATE device_logins SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)"),
             {nowMs, id, nowMs - minIntervalMs});
}

bool DeviceLoginRepository::revoke(qint64 userId, const QString &id, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE device_logins SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL"),
                           {nowMs, id, userId});
    return q.numRowsAffected() > 0;
}

int DeviceLoginRepository::revokeAllOfUser(qint64 userId, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE device_logins SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"), {nowMs, userId});
    return q.numRowsAffected();
}

int DeviceLoginRepository::deleteDeadOfUser(qint64 userId, qint64 tokenVersion, qint64 nowMs)
{
    QSqlQuery q = m_s.exec(QStringLiteral("DELETE FROM device_logins WHERE user_id = ?"
                                          " AND (revoked_at IS NOT NULL OR expires_at <= ? OR token_version <> ?)"),
                           {userId, nowMs, tokenVersion});
    return q.numRowsAffected();
}

} // namespace tianyi
