#pragma once
// SQL for the users and profiles tables. Runs on the storage thread inside Database::read/write
// work; bound parameters only. Throws DbError (DbConstraintError when the username key is taken).

#include "storage/database.h"

#include <QByteArray>
#include <QString>
#include <optional>

namespace tianyi {

struct UserRecord {
    qint64 id = 0;
    QString username;
    QString role;
    bool disabled = false;
    qint64 createdAtMs = 0;
    QByteArray passwordHash;
    qint64 tokenVersion = 0; // the generation of the account's access tokens
};

struct ProfileRecord {
    QString nickname;
    QString description;
    QString avatarUrl;
    QByteArray preferencesJson; // a JSON object, as stored
};

struct NewUser {
    QString username;
    QString usernameKey;
    QByteArray passwordHash;
    QString role = QStringLiteral("user");
    QString nickname;
    qint64 nowMs = 0;
};

class UserRepository
{
public:
    explicit UserRepository(SqlSession &session) : m_s(session) {}

    // Inserts the user and its profile row; returns the new id.
    qint64 insert(const NewUser &user);
    std::optional<UserRecord> findByKey(const QString &usernameKey);
    std::optional<UserRecord> findById(qint64 id);
    void setPasswordHash(qint64 id, const QByteArray &hash);
    void setRole(qint64 id, const QString &role);
    // Disabling also bumps the token version: every access token of the account ends with it.
    void setDisabled(qint64 id, bool disabled);
    // Ends every access token issued so far (sign-out everywhere, password change); returns the
    // new version, or nullopt when the user does not exist.
    std::optional<qint64> bumpTokenVersion(qint64 id);

    std::optional<ProfileRecord> profile(qint64 userId);
    // Only the given fields change; returns false if the user has no profile row.
    bool updateProfile(qint64 userId, const std::optional<QString> &nickname, const std::optional<QString> &description,
                       const std::optional<QString> &avatarUrl, const std::optional<QByteArray> &preferencesJson, qint64 nowMs);

private:
    static UserRecord fromRow(QSqlQuery &q);
    SqlSession &m_s;
};

} // namespace tianyi
