#include "auth/logins.h"

#include "auth/cryptoutil.h"
#include "storage/deviceloginrepository.h"
#include "storage/refreshtokenrepository.h"

#include <QDateTime>
#include <QJsonObject>
#include <QJsonValue>

namespace tianyi {

namespace {

QString isoUtc(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

QJsonValue isoUtcOrNull(qint64 ms)
{
    return ms > 0 ? QJsonValue(isoUtc(ms)) : QJsonValue(QJsonValue::Null);
}

} // namespace

QString Logins::deviceNameProblem(QString &name)
{
    name = name.trimmed();
    if (name.isEmpty())
        return QStringLiteral("name must not be empty");
    if (name.size() > kMaxDeviceNameChars)
        return QStringLiteral("name must be at most %1 characters").arg(kMaxDeviceNameChars);
    for (const QChar c : std::as_const(name)) {
        // Control and format characters (including bidi overrides) would make the list lie.
        const QChar::Category cat = c.category();
        if (cat == QChar::Other_Control || cat == QChar::Other_Format || cat == QChar::Other_NotAssigned)
            return QStringLiteral("name must not contain control characters");
    }
    return {};
}

QString Logins::newDeviceLoginId()
{
    return QString::fromLatin1(crypto::randomBytes(16).toHex());
}

Logins::Issued Logins::issueDevice(SqlSession &s, qint64 userId, qint64 tokenVersion, const QString &name, qint64 nowMs, qint64 ttlMs)
{
    DeviceLoginRepository devices(s);
    devices.deleteDeadOfUser(userId, tokenVersion, nowMs);
    Issued out;
    if (devices.countLiveOfUser(userId, tokenVersion, nowMs) >= kMaxDeviceTokensPerUser) {
        out.refusal = IssueRefusal::TooMany;
        return out;
    }
    out.device = NewDevice{newDeviceLoginId(), name, nowMs + ttlMs};
    devices.insert(userId, DeviceLoginRecord{out.device.id, name, nowMs, out.device.expiresAtMs, 0}, tokenVersion);
    return out;
}

QJsonArray Logins::list(SqlSession &s, qint64 userId, qint64 tokenVersion, const QString &currentLoginId, qint64 nowMs)
{
    struct Row {
        qint64 createdAtMs;
        QJsonObject json;
    };
    QList<Row> rows;
    const auto current = [&](const QString &id) { return !currentLoginId.isEmpty() && id == currentLoginId; };
    for (const LiveLoginRecord &b : RefreshTokenRepository(s).liveLoginsOfUser(userId, nowMs))
        rows.append(Row{b.createdAtMs, QJsonObject{{QStringLiteral("id"), b.familyId},
                                                    {QStringLiteral("kind"), QStringLiteral("browser")},
                                                    {QStringLiteral("name"), QJsonValue::Null},
                                                    {QStringLiteral("created_at"), isoUtc(b.createdAtMs)},
                                                    {QStringLiteral("expires_at"), isoUtc(b.expiresAtMs)},
                                                    {QStringLiteral("last_used_at"), isoUtcOrNull(b.lastUsedAtMs)},
                                                    {QStringLiteral("current"), current(b.familyId)}}});
    for (const DeviceLoginRecord &d : DeviceLoginRepository(s).liveOfUser(userId, tokenVersion, nowMs))
        rows.append(Row{d.createdAtMs, QJsonObject{{QStringLiteral("id"), d.id},
                                                    {QStringLiteral("kind"), QStringLiteral("device")},
                                                    {QStringLiteral("name"), d.name},
                                                    {QStringLiteral("created_at"), isoUtc(d.createdAtMs)},
                                                    {QStringLiteral("expires_at"), isoUtc(d.expiresAtMs)},
                                                    {QStringLiteral("last_used_at"), isoUtcOrNull(d.lastUsedAtMs)},
                                                    {QStringLiteral("current"), current(d.id)}}});
    std::stable_sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) { return a.createdAtMs < b.createdAtMs; });
    QJsonArray out;
    for (const Row &r : std::as_const(rows))
        out.append(r.json);
    return out;
}

bool Logins::revoke(SqlSession &s, qint64 userId, const QString &loginId, qint64 nowMs)
{
    if (loginId.isEmpty() || loginId.size() > kMaxLoginIdChars)
        return false;
    if (DeviceLoginRepository(s).revoke(userId, loginId, nowMs))
        return true;
    return RefreshTokenRepository(s).revokeFamilyOfUser(userId, loginId, nowMs);
}

} // namespace tianyi
