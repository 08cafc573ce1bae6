#include "storage/userrepository.h"

namespace tianyi {

namespace {
const QString kUserColumns = QStringLiteral("id, username, role, disabled, created_at, password_hash, token_version");
} // namespace

UserRecord UserRepository::fromRow(QSqlQuery &q)
{
    UserRecord u;
    u.id = q.value(0).toLongLong();
    u.username = q.value(1).toString();
    u.role = q.value(2).toString();
    u.disabled = q.value(3).toInt() != 0;
    u.createdAtMs = q.value(4).toLongLong();
    u.passwordHash = q.value(5).toString().toLatin1();
    u.tokenVersion = q.value(6).toLongLong();
    return u;
}

qint64 UserRepository::insert(const NewUser &user)
{
    QSqlQuery q = m_s.exec(QStringLiteral("INSERT INTO users(username, username_key, password_hash, role, disabled, created_at)"
                                          " VALUES (?, ?, ?, ?, 0, ?)"),
                           {user.username, user.usernameKey, QString::fromLatin1(user.passwordHash), user.role, user.nowMs});
    const qint64 id = m_s.lastInsertId(q);
    m_s.exec(QStringLiteral("INSERT INTO profiles(user_id, nickname, updated_at) VALUES (?, ?, ?)"), {id, user.nickname, user.nowMs});
    return id;
}

std::optional<UserRecord> UserRepository::findByKey(const QString &usernameKey)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT %1 FROM users WHERE username_key = ?").arg(kUserColumns), {usernameKey});
    if (!q.next())
        return std::nullopt;
    return fromRow(q);
}

std::optional<UserRecord> UserRepository::findById(qint64 id)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT %1 FROM users WHERE id = ?").arg(kUserColumns), {id});
    if (!q.next())
        return std::nullopt;
    return fromRow(q);
}

void UserRepository::setPasswordHash(qint64 id, const QByteArray &hash)
{
    m_s.exec(QStringLiteral("UPDATE users SET password_hash = ? WHERE id = ?"), {QString::fromLatin1(hash), id});
}

void UserRepository::setRole(qint64 id, const QString &role)
{
    m_s.exec(QStringLiteral("UPDATE users SET role = ? WHERE id = ?"), {role, id});
}

void UserRepository::setDisabled(qint64 id, bool disabled)
{
    if (disabled)
        m_s.exec(QStringLiteral("UPDATE users SET disabled = 1, token_version = token_version + 1 WHERE id = ?"), {id});
    else
        m_s.exec(QStringLiteral("UPDATE users SET disabled = 0 WHERE id = ?"), {id});
}

std::optional<qint64> UserRepository::bumpTokenVersion(qint64 id)
{
    m_s.exec(QStringLiteral("UPDATE users SET token_version = token_version + 1 WHERE id = ?"), {id});
    const std::optional<QVariant> v = m_s.scalar(QStringLiteral("SELECT token_version FROM users WHERE id = ?"), {id});
    if (!v || v->isNull())
        return std::nullopt;
    return v->toLongLong();
}

std::optional<ProfileRecord> UserRepository::profile(qint64 userId)
{
    QSqlQuery q = m_s.exec(QStringLiteral("SELECT nickname, description, avatar_url, preferences FROM profiles WHERE user_id = ?"), {userId});
    if (!q.next())
        return std::nullopt;
    return ProfileRecord{q.value(0).toString(), q.value(1).toString(), q.value(2).toString(), q.value(3).toString().toUtf8()};
}

bool UserRepository::updateProfile(qint64 userId, const std::optional<QString> &nickname, const std::optional<QString> &description,
                                   const std::optional<QString> &avatarUrl, const std::optional<QByteArray> &preferencesJson, qint64 nowMs)
{
    // COALESCE keeps a column when its parameter is NULL (field absent from the update).
    auto orNull = [](const std::optional<QString> &v) { return v ? QVariant(*v) : QVariant(QMetaType::fromType<QString>()); };
    QSqlQuery q = m_s.exec(QStringLiteral("UPDATE profiles SET nickname = COALESCE(?, nickname), description = COALESCE(?, description),"
                                          " avatar_url = COALESCE(?, avatar_url), preferences = COALESCE(?, preferences), updated_at = ?"
                                          " WHERE user_id = ?"),
                           {orNull(nickname), orNull(description), orNull(avatarUrl),
                            orNull(preferencesJson ? std::optional<QString>(QString::fromUtf8(*preferencesJson)) : std::nullopt), nowMs, userId});
    return q.numRowsAffected() > 0;
}

} // namespace tianyi
