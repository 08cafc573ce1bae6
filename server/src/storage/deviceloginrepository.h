#pragma once
// SQL for the device_logins table: the logins of long-lived device tokens (a client that cannot log
// in, such as a VTuber client, holds one). A device token is a signed JWT naming its row's id in
// `sid`; the token itself is never stored, so the table holds nothing a thief could replay.
// Storage thread only, inside Database work; bound parameters only.

#include "storage/database.h"

#include <QList>
#include <QString>
#include <optional>

namespace tianyi {

struct DeviceLoginRecord {
    QString id;                // the login id device tokens carry in "sid"
    QString name;
    qint64 createdAtMs = 0;
    qint64 expiresAtMs = 0;
    qint64 lastUsedAtMs = 0;   // 0: never used
};

class DeviceLoginRepository
{
public:
    explicit DeviceLoginRepository(SqlSession &session) : m_s(session) {}

    void insert(qint64 userId, const DeviceLoginRecord &login, qint64 tokenVersion);
    // Live: not revoked, not expired, and of the account's current token generation (a password
    // change, sign-out everywhere, disabling or deletion bumps it and ends every device token).
    QList<DeviceLoginRecord> liveOfUser(qint64 userId, qint64 tokenVersion, qint64 nowMs);
    int countLiveOfUser(qint64 userId, qint64 tokenVersion, qint64 nowMs);
    bool isLive(qint64 userId, const QString &id, qint64 nowMs);
    // Records a use at most once per `minIntervalMs`, so a client reconnecting in a loop costs no write.
    void noteUse(const QString &id, qint64 nowMs, qint64 minIntervalMs);
    // Returns whether a live row of this user was revoked (another user's id revokes nothing).
    bool revoke(qint64 userId, const QString &id, qint64 nowMs);
    int revokeAllOfUser(qint64 userId, qint64 nowMs);
    // Housekeeping: rows that can never be used again (revoked, expired, or of an older generation).
    int deleteDeadOfUser(qint64 userId, qint64 tokenVersion, qint64 nowMs);

private:
    SqlSession &m_s;
};

} // namespace tianyi
