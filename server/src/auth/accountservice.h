#pragma once
// Accounts: registration, password and refresh-token logins, logout (one session or all), password
// change, re-authentication before dangerous actions, the user's profile, and the --create-admin
// command. Asynchronous: hashing runs on the WorkerPool, SQL on the storage
// thread; callbacks come back on the event loop. Results are Outcome values (no HTTP here).

#include "base/config.h"
#include "net/httperror.h"
#include "auth/authguard.h"
#include "auth/jwt.h"
#include "auth/loginthrottle.h"
#include "auth/passwordpolicy.h"
#include "auth/profilepolicy.h"
#include "auth/registrationthrottle.h"
#include "auth/usernamepolicy.h"

#include <QHostAddress>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

namespace tianyi {

class Database;
class Metrics;
struct UserRecord;
class PasswordHasher;
class WorkerPool;
template <typename T>
struct DbResult;

// Where device tokens are accepted: the one endpoint whose clients cannot log in. Disabled, no
// device token is issued (it would work nowhere).
struct DeviceEndpoint {
    bool enabled = false;
    QString path;
};

class AccountService : public QObject
{
    Q_OBJECT
public:
    // Loads (or creates) the JWT secret from the configuration / data directory.
    // Returns nullptr with *error set when the server must not start.
    static std::unique_ptr<AccountService> create(const Config &config, Database &db, WorkerPool &workers, Metrics &metrics, QString *error);

    AccountService(const AuthSettings &settings, QByteArray jwtSecret, Database &db, WorkerPool &workers, Metrics &metrics,
                   DeviceEndpoint deviceEndpoint = {}, QObject *parent = nullptr);
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
    struct LoginList {
        QJsonArray logins;
        QString deviceEndpointPath; // empty when no endpoint accepts device tokens
        QJsonObject toJson() const;
    };
    struct DeviceToken {
        QString id;
        QString name;
        QByteArray token; // shown to the user once; never stored or logged
        qint64 expiresAtMs = 0;
        QJsonObject toJson() const;
    };
    // Why a device token was not made although the request was in order (HTTP 409).
    struct DeviceTokenRefusal {
        QString code;
        QString message;
    };
    using DeviceTokenResult = std::variant<DeviceToken, DeviceTokenRefusal>;
    struct AdminResult {
        qint64 userId = 0;
        bool created = false; // false: an existing user was promoted
    };

    template <typename T>
    using Done = std::function<void(Outcome<T>)>;

    // The address per-client limits count: the one place that decides it (the TCP peer today; a
    // trusted proxy's X-Forwarded-For when that is configured).
    static QHostAddress clientAddress(const HttpRequest &request);

    // Admitted per client address and server-wide before anything is hashed (429 beyond).
    void registerUser(RegisterInput input, const QHostAddress &peer, Done<UserView> done);
    void loginWithPassword(const QString &username, const QString &password, const QHostAddress &peer, Done<Tokens> done);
    void refresh(const QByteArray &refreshToken, Done<Tokens> done);
    // Revokes the token's family. Unknown tokens succeed too (RFC 7009 2.2): nothing to reveal.
    void logout(const QByteArray &refreshToken, Done<bool> done);
    // Ends every session of the account: its access tokens (token version bumped) and refresh tokens.
    void signOutEverywhere(const Principal &who, Done<bool> done);
    // Checks the current password (throttled like a login), stores the new one, ends every session
    // and returns fresh tokens for the caller.
    void changePassword(const Principal &who, const QString &currentPassword, const QString &newPassword, const QHostAddress &peer,
                        Done<Tokens> done);
    // Re-authentication before a dangerous action (account deletion): the account is current and
    // `password` is its password (throttled like a login). Yields the checked principal.
    void confirmPassword(const Principal &who, const QString &password, const QHostAddress &peer, Done<Principal> done);
    // The caller's live logins: browser logins and device tokens, the caller's own marked current.
    void listLogins(const Principal &who, Done<LoginList> done);
    // A long-lived device token (scope "device") for a client that cannot log in. Needs the current
    // password (throttled like a login): a stolen 15-minute access token must not mint a year-long one.
    void createDeviceToken(const Principal &who, const QString &name, const QString &password, const QHostAddress &peer,
                           Done<DeviceTokenResult> done);
    // Ends one login of the caller (device or browser); its sockets are closed (loginRevoked).
    // Not found (404) for an unknown id and for another user's alike.
    void revokeLogin(const Principal &who, const QString &loginId, Done<bool> done);
    const DeviceEndpoint &deviceEndpoint() const { return m_deviceEndpoint; }
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
    // Every access token of the user has just been revoked (sign-out everywhere, password change):
    // open chat sockets authenticated with them must be closed.
    void sessionsRevoked(qint64 userId);
    // One login of the user ended (its device logged out, or its refresh token was reused and the
    // family revoked): sockets authenticated with that login's access tokens must be closed.
    void loginRevoked(qint64 userId, const QString &loginId);

private:
    struct Verdict {
        bool match = false;
        QByteArray newHash; // set when the stored hash used another cost
    };

    struct Reauthenticated {
        Principal principal;
        QByteArray newHash; // the hash of the requested new password, if one was given
    };
    void reauthenticate(const Principal &who, const QString &password, std::optional<QString> newPassword, const QHostAddress &peer,
                        Done<Reauthenticated> done);
    void issueTokens(qint64 userId, const QString &role, qint64 tokenVersion, const QByteArray &rehash, Done<Tokens> done);
    QByteArray signAccessToken(qint64 userId, const QString &role, qint64 tokenVersion, const QString &loginId) const;
    QByteArray signDeviceToken(const Principal &who, const QString &loginId, qint64 expiresAtS) const;
    HttpError throttled(int waitS, const QString &what);
    // Runs hashing work on the pool, timing it; false when the pool is full.
    template <typename R>
    bool runHashing(const char *op, std::function<R(const PasswordHasher &)> work, std::function<void(R)> done);
    template <typename R>
    static std::optional<HttpError> storageProblem(const DbResult<R> &result);
    // Storage work done on behalf of `who`: the account is checked first (AuthGuard::checkAccount),
    // in the same transaction when `write`; a storage failure or refusal reaches `done` as an error.
    enum class Access { Read, Write };
    template <typename T>
    void asAccount(Access access, const Principal &who, std::function<Outcome<T>(SqlSession &)> work, Done<T> done);
    static qint64 nowMs();

    AuthSettings m_settings;
    DeviceEndpoint m_deviceEndpoint;
    JwtCodec m_jwt;
    AuthGuard m_guard;
    UsernamePolicy m_usernames;
    PasswordPolicy m_passwords;
    LoginThrottle m_throttle;
    RegistrationThrottle m_registrations;
    std::shared_ptr<const PasswordHasher> m_hasher; // shared with pool threads
    Database &m_db;
    WorkerPool &m_workers;
    Metrics &m_metrics;
};

} // namespace tianyi
