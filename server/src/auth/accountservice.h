#pragma once
// Accounts: registration, password and refresh-token logins, logout, the user's profile, and
// the --create-admin command. Asynchronous: hashing runs on the WorkerPool, SQL on the storage
// thread; callbacks come back on the event loop. Results are Outcome values (no HTTP here).

#include "base/config.h"
#include "net/httperror.h"
#include "auth/authguard.h"
#include "auth/jwt.h"
#include "auth/loginthrottle.h"
#include "auth/passwordpolicy.h"
#include "auth/profilepolicy.h"
#include "auth/usernamepolicy.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QObject>
#include <functional>
#include <memory>
#include <optional>

namespace tianyi {

class Database;
class Metrics;
class PasswordHasher;
class WorkerPool;
template <typename T>
struct DbResult;

class AccountService : public QObject
{
    Q_OBJECT
public:
    // Loads (or creates) the JWT secret from the configuration / data directory.
    // Returns nullptr with *error set when the server must not start.
    static std::unique_ptr<AccountService> create(const Config &config, Database &db, WorkerPool &workers, Metrics &metrics, QString *error);

    AccountService(const AuthSettings &settings, QByteArray jwtSecret, Database &db, WorkerPool &workers, Metrics &metrics,
                   QObject *parent = nullptr);
    ~AccountService() override;

    struct RegisterInput {
        QString username;
        QString password;
        std::optional<QString> nickname;
    };
    struct UserView {
        qint64 id = 0;
        QString username;
        QString nickname;
        QString role;
        qint64 createdAtMs = 0;
        QJsonObject toJson() const;
    };
    struct Tokens {
        QByteArray accessToken;
        int expiresIn = 0;
        QByteArray refreshToken;
        QJsonObject toJson() const;
    };
    struct AdminResult {
        qint64 userId = 0;
        bool created = false; // false: an existing user was promoted
    };

    template <typename T>
    using Done = std::function<void(Outcome<T>)>;

    void registerUser(RegisterInput input, Done<UserView> done);
    void loginWithPassword(const QString &username, const QString &password, const QHostAddress &peer, Done<Tokens> done);
    void refresh(const QByteArray &refreshToken, Done<Tokens> done);
    // Revokes the token's family. Unknown tokens succeed too (RFC 7009 2.2): nothing to reveal.
    void logout(const QByteArray &refreshToken, Done<bool> done);
    void profile(const Principal &who, Done<Profile> done);
    void updateProfile(const Principal &who, ProfileChanges changes, Done<Profile> done);
    // Creates an admin, or sets the password of an existing user, makes it admin, enables it and
    // revokes its refresh tokens.
    void createAdmin(const QString &username, const QString &password, Done<AdminResult> done);

    const AuthGuard &guard() const { return m_guard; }
    const JwtCodec &jwt() const { return m_jwt; }

signals:
    // A profile update is stored (the chat's prompt context of that user changed).
    void profileChanged(qint64 userId);

private:
    struct Verdict {
        bool match = false;
        QByteArray newHash; // set when the stored hash used another cost
    };

    void verifyAndIssue(const QString &key, const QString &ip, const QString &password, Done<Tokens> done);
    void issueTokens(qint64 userId, const QString &role, const QByteArray &rehash, Done<Tokens> done);
    QByteArray signAccessToken(qint64 userId, const QString &role) const;
    // Runs hashing work on the pool, timing it; false when the pool is full.
    template <typename R>
    bool runHashing(const char *op, std::function<R(const PasswordHasher &)> work, std::function<void(R)> done);
    template <typename R>
    static std::optional<HttpError> storageProblem(const DbResult<R> &result);
    static QString clientKey(const QHostAddress &peer);
    static qint64 nowMs();

    AuthSettings m_settings;
    JwtCodec m_jwt;
    AuthGuard m_guard;
    UsernamePolicy m_usernames;
    PasswordPolicy m_passwords;
    LoginThrottle m_throttle;
    std::shared_ptr<const PasswordHasher> m_hasher; // shared with pool threads
    Database &m_db;
    WorkerPool &m_workers;
    Metrics &m_metrics;
};

} // namespace tianyi
