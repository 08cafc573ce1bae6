#include "auth/accountservice.h"

#include "base/logging.h"
#include "auth/cryptoutil.h"
#include "auth/jwtsecret.h"
#include "auth/logins.h"
#include "auth/passwordhasher.h"
#include "net/clientaddress.h"
#include "auth/refreshtokens.h"
#include "core/workerpool.h"
#include "metrics/metrics.h"
#include "storage/database.h"
#include "storage/refreshtokenrepository.h"
#include "storage/userrepository.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonDocument>

namespace tianyi {

namespace {

const QString kLogins = QStringLiteral("tianyi_auth_logins_total");
const QString kRegistrations = QStringLiteral("tianyi_auth_registrations_total");
const QString kRegistrationsThrottled = QStringLiteral("tianyi_auth_registrations_throttled_total");
const QString kSignOuts = QStringLiteral("tianyi_auth_sign_outs_everywhere_total");
const QString kPasswordChanges = QStringLiteral("tianyi_auth_password_changes_total");
const QString kRefreshes = QStringLiteral("tianyi_auth_token_refreshes_total");
const QString kHashSeconds = QStringLiteral("tianyi_auth_password_hash_seconds");
const QString kDeviceTokens = QStringLiteral("tianyi_auth_device_tokens_total");
const QString kLoginsRevoked = QStringLiteral("tianyi_auth_logins_revoked_total");

// Enough for a spray over many names and addresses; each entry is well under 200 bytes.
constexpr int kMaxThrottledKeys = 100000;
// Addresses the registration limit remembers; each holds at most register_per_address_max times.
constexpr int kMaxRegistrationAddresses = 20000;
// Login names longer than any allowed username cannot exist; they share one throttle key
// (a character usernames cannot contain) so a flood of huge names costs no memory.
const QString kOverlongNameKey = QStringLiteral("#overlong");

Labels outcome(const char *value)
{
    return {{QStringLiteral("outcome"), QString::fromLatin1(value)}};
}

HttpError invalidGrant(const QString &message)
{
    return HttpError::of(HttpError::Kind::InvalidGrant, message);
}

HttpError busy(const QString &what)
{
    HttpError e = HttpError::of(HttpError::Kind::Busy, QStringLiteral("the server is busy (%1); try again shortly").arg(what));
    e.retryAfterS = 1;
    return e;
}

Profile toProfile(const ProfileRecord &record)
{
    Profile p{record.nickname, record.description, record.avatarUrl, {}};
    const QJsonDocument prefs = QJsonDocument::fromJson(record.preferencesJson);
    if (prefs.isObject())
        p.preferences = prefs.object();
    return p;
}

QString isoUtc(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

} // namespace

QJsonObject AccountService::UserView::toJson() const
{
    return QJsonObject{{QStringLiteral("id"), id},
                       {QStringLiteral("username"), username},
                       {QStringLiteral("nickname"), nickname},
                       {QStringLiteral("role"), role},
                       {QStringLiteral("created_at"), isoUtc(createdAtMs)}};
}

QJsonObject AccountService::Tokens::toJson() const
{
    return QJsonObject{{QStringLiteral("access_token"), QString::fromLatin1(accessToken)},
                       {QStringLiteral("token_type"), QStringLiteral("Bearer")},
                       {QStringLiteral("expires_in"), expiresIn},
                       {QStringLiteral("refresh_token"), QString::fromLatin1(refreshToken)}};
}

QJsonObject AccountService::LoginList::toJson() const
{
    return QJsonObject{{QStringLiteral("logins"), logins},
                       {QStringLiteral("device_endpoint"),
                        deviceEndpointPath.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(deviceEndpointPath)}};
}

QJsonObject AccountService::DeviceToken::toJson() const
{
    return QJsonObject{{QStringLiteral("id"), id},
                       {QStringLiteral("name"), name},
                       {QStringLiteral("token"), QString::fromLatin1(token)},
                       {QStringLiteral("expires_at"), isoUtc(expiresAtMs)}};
}

std::unique_ptr<AccountService> AccountService::create(const Config &config, Database &db, WorkerPool &workers, Metrics &metrics, QString *error)
{
    if (!crypto::ensureSodium()) {
        *error = QStringLiteral("libsodium could not be initialised (no usable random source?)");
        return nullptr;
    }
    const JwtSecret::Loaded secret = JwtSecret::load(config.auth.jwtSecret, config.server.dataDir);
    if (!secret.error.isEmpty()) {
        *error = secret.error;
        return nullptr;
    }
    return std::make_unique<AccountService>(config.auth, secret.secret, db, workers, metrics,
                                            DeviceEndpoint{config.compat.olvEnabled, config.compat.olvPath});
}

AccountService::AccountService(const AuthSettings &settings, QByteArray jwtSecret, Database &db, WorkerPool &workers, Metrics &metrics,
                               DeviceEndpoint deviceEndpoint, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_deviceEndpoint(std::move(deviceEndpoint))
    , m_jwt(std::move(jwtSecret))
    , m_guard(m_jwt)
    , m_usernames(settings.usernameMinLength, settings.usernameMaxLength)
    , m_passwords(settings.passwordMinLength, settings.passwordMaxLength)
    , m_throttle(LoginThrottle::Limits{
          {settings.loginMaxFailures, qint64(settings.loginFailureWindowS) * 1000, qint64(settings.loginLockoutS) * 1000},
          {settings.loginMaxFailures, qint64(settings.loginFailureWindowS) * 1000, qint64(settings.loginLockoutS) * 1000},
          {settings.accountMaxFailures, qint64(settings.accountFailureWindowS) * 1000, qint64(settings.accountLockoutS) * 1000},
          kMaxThrottledKeys})
    , m_registrations(RegistrationThrottle::Limits{{settings.registerPerAddressMax, qint64(settings.registerPerAddressWindowS) * 1000},
                                                   {settings.registerGlobalMax, qint64(settings.registerGlobalWindowS) * 1000},
                                                   kMaxRegistrationAddresses})
    , m_hasher(std::make_shared<PasswordHasher>(PasswordHasher::Cost{quint64(settings.argon2OpsLimit), quint64(settings.argon2MemLimitKiB) * 1024}))
    , m_db(db)
    , m_workers(workers)
    , m_metrics(metrics)
{
    m_metrics.declareCounter(kLogins, QStringLiteral("Password logins by outcome (success, invalid, throttled, disabled)."));
    m_metrics.declareCounter(kRegistrations, QStringLiteral("Accounts created through registration."));
    m_metrics.declareCounter(kRegistrationsThrottled, QStringLiteral("Registrations refused by the per-address or server-wide limit (nothing hashed)."));
    m_metrics.declareCounter(kSignOuts, QStringLiteral("Sign-outs everywhere (every token of the account revoked)."));
    m_metrics.declareCounter(kPasswordChanges, QStringLiteral("Password changes by the account's owner."));
    m_metrics.declareCounter(kRefreshes, QStringLiteral("Refresh-token grants by outcome (success, invalid, reused, revoked, disabled)."));
    m_metrics.declareCounter(kDeviceTokens, QStringLiteral("Device tokens issued (long-lived tokens for clients that cannot log in)."));
    m_metrics.declareCounter(kLoginsRevoked, QStringLiteral("Logins (browser or device) revoked by their owner from the list of logins."));
    m_metrics.declareHistogram(kHashSeconds, QStringLiteral("Argon2id work per operation (hash, verify), seconds."),
                               {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    // Make the dummy hash now, on the pool, so the first login of an unknown name is not slower.
    std::shared_ptr<const PasswordHasher> hasher = m_hasher;
    m_workers.run<bool>(this, [hasher]() { return !hasher->dummyHash().isEmpty(); }, [](bool) {});
}

AccountService::~AccountService() = default;

qint64 AccountService::nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QHostAddress AccountService::clientAddress(const HttpRequest &request)
{
    return request.clientAddress(); // the forwarded client's behind a trusted proxy, else the TCP peer
}

HttpError AccountService::throttled(int waitS, const QString &what)
{
    HttpError e = HttpError::of(HttpError::Kind::RateLimited, QStringLiteral("%1; try again in %2 seconds").arg(what).arg(waitS));
    e.retryAfterS = waitS;
    return e;
}

template <typename R>
std::optional<HttpError> AccountService::storageProblem(const DbResult<R> &result)
{
    if (result.ok())
        return std::nullopt;
    if (result.busy)
        return busy(QStringLiteral("storage"));
    qCWarning(lcAuth).noquote() << "storage failure:" << result.error;
    return HttpError::of(HttpError::Kind::Internal, QStringLiteral("storage error"));
}

template <typename T>
void AccountService::asAccount(Access access, const Principal &who, std::function<Outcome<T>(SqlSession &)> work, Done<T> done)
{
    auto checked = [who, work = std::move(work)](SqlSession &s) -> Outcome<T> {
        const Outcome<Principal> account = AuthGuard::checkAccount(s, who);
        if (!account.ok())
            return account.error();
        return work(s);
    };
    auto deliver = [done = std::move(done)](DbResult<Outcome<T>> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            done(*problem);
            return;
        }
        done(*r.value);
    };
    if (access == Access::Write)
        m_db.write<Outcome<T>>(this, std::move(checked), std::move(deliver));
    else
        m_db.read<Outcome<T>>(this, std::move(checked), std::move(deliver));
}

template <typename R>
bool AccountService::runHashing(const char *op, std::function<R(const PasswordHasher &)> work, std::function<void(R)> done)
{
    std::shared_ptr<const PasswordHasher> hasher = m_hasher;
    Metrics *metrics = &m_metrics; // outlives the pool's jobs: the owner waits for the pool first
    const QString opName = QString::fromLatin1(op);
    return m_workers.run<R>(this, [hasher, metrics, opName, work = std::move(work)]() {
        QElapsedTimer timer;
        timer.start();
        R result = work(*hasher);
        metrics->observe(kHashSeconds, {{QStringLiteral("op"), opName}}, double(timer.nsecsElapsed()) / 1e9);
        return result;
    }, std::move(done));
}

QByteArray AccountService::signAccessToken(qint64 userId, const QString &role, qint64 tokenVersion, const QString &loginId) const
{
    const qint64 now = nowMs() / 1000;
    return m_jwt.sign(AccessClaims{userId, role, now, now + m_settings.accessTokenTtlS,
                                   QString::fromLatin1(crypto::base64UrlEncode(crypto::randomBytes(16))), tokenVersion, loginId});
}

QByteArray AccountService::signDeviceToken(const Principal &who, const QString &loginId, qint64 expiresAtS) const
{
    AccessClaims claims{who.userId, who.role, nowMs() / 1000, expiresAtS, QString::fromLatin1(crypto::base64UrlEncode(crypto::randomBytes(16))),
                        who.tokenVersion, loginId};
    claims.scope = kDeviceScope;
    return m_jwt.sign(claims);
}

void AccountService::registerUser(RegisterInput input, const QHostAddress &peer, Done<UserView> done)
{
    const UsernamePolicy::Checked name = m_usernames.check(input.username);
    if (!name.ok()) {
        done(HttpError::of(HttpError::Kind::InvalidUsername, name.problem));
        return;
    }
    const QString weak = m_passwords.problem(input.password, name.username);
    if (!weak.isEmpty()) {
        done(HttpError::of(HttpError::Kind::WeakPassword, weak));
        return;
    }
    const QString nickname = input.nickname.value_or(name.username);
    const QString nicknameProblem = ProfilePolicy::nicknameProblem(nickname);
    if (!nicknameProblem.isEmpty()) {
        done(HttpError::of(HttpError::Kind::BadRequest, nicknameProblem));
        return;
    }
    // Admission before the hash: a refused registration costs no Argon2 work at all.
    if (const int wait = m_registrations.admit(addressLimitKey(peer), nowMs())) {
        m_metrics.increment(kRegistrationsThrottled);
        done(throttled(wait, QStringLiteral("too many registrations")));
        return;
    }

    const QString password = input.password;
    const bool queued = runHashing<QByteArray>("hash", [password](const PasswordHasher &h) { return h.hash(password); },
                                               [this, name, nickname, done](QByteArray hash) {
        if (hash.isEmpty()) {
            done(HttpError::of(HttpError::Kind::Internal, QStringLiteral("password hashing failed")));
            return;
        }
        const NewUser user{name.username, name.key, hash, QStringLiteral("user"), nickname, nowMs()};
        m_db.write<std::optional<qint64>>(this, [user](SqlSession &s) -> std::optional<qint64> {
            try {
                return UserRepository(s).insert(user);
            } catch (const DbConstraintError &) {
                return std::nullopt; // username_key taken (also by a concurrent registration)
            }
        }, [this, user, done](DbResult<std::optional<qint64>> r) {
            if (const std::optional<HttpError> problem = storageProblem(r)) {
                done(*problem);
                return;
            }
            if (!r.value->has_value()) {
                done(HttpError::of(HttpError::Kind::UsernameTaken, QStringLiteral("the username \"%1\" is already taken").arg(user.username)));
                return;
            }
            const qint64 id = **r.value;
            m_metrics.increment(kRegistrations);
            qCInfo(lcAuth) << "registered user" << id;
            done(UserView{id, user.username, user.nickname, user.role, user.nowMs});
        });
    });
    if (!queued)
        done(busy(QStringLiteral("password hashing")));
}

void AccountService::loginWithPassword(const QString &username, const QString &password, const QHostAddress &peer, Done<Tokens> done)
{
    const qint64 now = nowMs();
    const bool mayExist = UsernamePolicy::characterCount(username) <= m_usernames.maxLength() * 2;
    const QString key = mayExist ? UsernamePolicy::keyFor(username) : kOverlongNameKey;
    const QString ip = addressLimitKey(peer);
    if (const int wait = m_throttle.retryAfterSeconds(key, ip, now)) {
        m_metrics.increment(kLogins, outcome("throttled"));
        done(throttled(wait, QStringLiteral("too many failed logins")));
        return;
    }
    // Reserved before the storage read and the hash: parallel guesses count while in flight.
    m_throttle.attemptStarted(key, ip, now);
    m_db.read<std::optional<UserRecord>>(this, [key, mayExist](SqlSession &s) -> std::optional<UserRecord> {
        if (!mayExist)
            return std::nullopt;
        return UserRepository(s).findByKey(key);
    }, [this, key, ip, password, done](DbResult<std::optional<UserRecord>> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            m_throttle.attemptAbandoned(key, ip, nowMs());
            done(*problem);
            return;
        }
        const std::optional<UserRecord> user = *r.value;
        const QByteArray stored = user ? user->passwordHash : QByteArray();
        const bool queued = runHashing<Verdict>("verify", [stored, password](const PasswordHasher &h) {
            // Unknown user: the same work against the dummy hash, and never a match.
            Verdict v;
            v.match = h.verify(stored.isEmpty() ? h.dummyHash() : stored, password) && !stored.isEmpty();
            if (v.match && h.needsRehash(stored))
                v.newHash = h.hash(password);
            return v;
        }, [this, key, ip, user, done](Verdict v) {
            if (!v.match) {
                m_throttle.attemptFailed(key, ip, nowMs());
                m_metrics.increment(kLogins, outcome("invalid"));
                qCInfo(lcAuth).noquote() << "failed login from" << ip;
                done(invalidGrant(QStringLiteral("invalid username or password")));
                return;
            }
            m_throttle.attemptSucceeded(key, ip, nowMs());
            // Only now, with the password proven, may the answer reveal that the account is disabled.
            if (user->disabled) {
                m_metrics.increment(kLogins, outcome("disabled"));
                done(HttpError::of(HttpError::Kind::AccountDisabled, QStringLiteral("this account is disabled")));
                return;
            }
            issueTokens(user->id, user->role, user->tokenVersion, v.newHash, done);
        });
        if (!queued) {
            m_throttle.attemptAbandoned(key, ip, nowMs());
            done(busy(QStringLiteral("password hashing")));
        }
    });
}

void AccountService::issueTokens(qint64 userId, const QString &role, qint64 tokenVersion, const QByteArray &rehash, Done<Tokens> done)
{
    const QByteArray refreshToken = RefreshTokens::generate();
    const qint64 now = nowMs();
    const qint64 ttlMs = qint64(m_settings.refreshTokenTtlS) * 1000;
    m_db.write<QString>(this, [userId, rehash, refreshToken, now, ttlMs](SqlSession &s) {
        if (!rehash.isEmpty())
            UserRepository(s).setPasswordHash(userId, rehash);
        return RefreshTokens::issue(s, userId, refreshToken, now, ttlMs);
    }, [this, userId, role, tokenVersion, refreshToken, done](DbResult<QString> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            done(*problem);
            return;
        }
        m_metrics.increment(kLogins, outcome("success"));
        done(Tokens{signAccessToken(userId, role, tokenVersion, *r.value), m_settings.accessTokenTtlS, refreshToken});
    });
}

void AccountService::refresh(const QByteArray &refreshToken, Done<Tokens> done)
{
    if (!RefreshTokens::wellFormed(refreshToken)) {
        m_metrics.increment(kRefreshes, outcome("invalid"));
        done(invalidGrant(QStringLiteral("the refresh token is invalid")));
        return;
    }
    const QByteArray replacement = RefreshTokens::generate();
    const qint64 now = nowMs();
    const qint64 ttlMs = qint64(m_settings.refreshTokenTtlS) * 1000;
    m_db.write<RefreshTokens::Rotation>(this, [refreshToken, replacement, now, ttlMs](SqlSession &s) {
        return RefreshTokens::rotate(s, refreshToken, replacement, now, ttlMs);
    }, [this, replacement, done](DbResult<RefreshTokens::Rotation> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            done(*problem);
            return;
        }
        using O = RefreshTokens::Rotation::Outcome;
        const RefreshTokens::Rotation &rot = *r.value;
        switch (rot.outcome) {
        case O::Rotated:
            m_metrics.increment(kRefreshes, outcome("success"));
            done(Tokens{signAccessToken(rot.userId, rot.role, rot.tokenVersion, rot.loginId), m_settings.accessTokenTtlS, replacement});
            return;
        case O::Reused:
            m_metrics.increment(kRefreshes, outcome("reused"));
            qCWarning(lcAuth) << "a rotated or revoked refresh token of user" << rot.userId << "was presented; its session family is revoked";
            emit loginRevoked(rot.userId, rot.loginId);
            done(invalidGrant(QStringLiteral("the refresh token was already used; this login session has been revoked, log in again")));
            return;
        case O::Revoked:
            m_metrics.increment(kRefreshes, outcome("revoked"));
            done(invalidGrant(QStringLiteral("the refresh token has been revoked; log in again")));
            return;
        case O::Expired:
            m_metrics.increment(kRefreshes, outcome("invalid"));
            done(invalidGrant(QStringLiteral("the refresh token has expired; log in again")));
            return;
        case O::AccountDisabled:
            m_metrics.increment(kRefreshes, outcome("disabled"));
            done(HttpError::of(HttpError::Kind::AccountDisabled, QStringLiteral("this account is disabled")));
            return;
        case O::Unknown:
            break;
        }
        m_metrics.increment(kRefreshes, outcome("invalid"));
        done(invalidGrant(QStringLiteral("the refresh token is invalid")));
    });
}

void AccountService::logout(const QByteArray &refreshToken, Done<bool> done)
{
    if (!RefreshTokens::wellFormed(refreshToken)) {
        done(true);
        return;
    }
    const qint64 now = nowMs();
    using Revoked = std::optional<RefreshTokens::RevokedLogin>;
    m_db.write<Revoked>(this, [refreshToken, now](SqlSession &s) { return RefreshTokens::revokeFamilyOf(s, refreshToken, now); },
                        [this, done](DbResult<Revoked> r) {
                            if (const std::optional<HttpError> problem = storageProblem(r)) {
                                done(*problem);
                                return;
                            }
                            if (const Revoked &login = *r.value)
                                emit loginRevoked(login->userId, login->loginId);
                            done(true);
                        });
}

void AccountService::signOutEverywhere(const Principal &who, Done<bool> done)
{
    const qint64 now = nowMs();
    m_db.write<Outcome<bool>>(this, [who, now](SqlSession &s) -> Outcome<bool> {
        const Outcome<Principal> account = AuthGuard::checkAccount(s, who);
        if (!account.ok())
            return account.error();
        UserRepository(s).bumpTokenVersion(who.userId);
        RefreshTokenRepository(s).revokeAllOfUser(who.userId, now);
        return true;
    }, [this, userId = who.userId, done](DbResult<Outcome<bool>> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            done(*problem);
            return;
        }
        if (r.value->ok()) {
            m_metrics.increment(kSignOuts);
            qCInfo(lcAuth) << "user" << userId << "signed out everywhere";
            emit sessionsRevoked(userId);
        }
        done(*r.value);
    });
}

void AccountService::reauthenticate(const Principal &who, const QString &password, std::optional<QString> newPassword, const QHostAddress &peer,
                                    Done<Reauthenticated> done)
{
    m_db.read<Outcome<UserRecord>>(this, [who](SqlSession &s) -> Outcome<UserRecord> {
        const Outcome<Principal> account = AuthGuard::checkAccount(s, who);
        if (!account.ok())
            return account.error();
        const std::optional<UserRecord> user = UserRepository(s).findById(who.userId);
        if (!user)
            return HttpError::of(HttpError::Kind::Unauthorized, QStringLiteral("the account of this access token no longer exists"));
        return *user;
    }, [this, who, password, newPassword, peer, done](DbResult<Outcome<UserRecord>> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            done(*problem);
            return;
        }
        if (!r.value->ok()) {
            done(r.value->error());
            return;
        }
        const UserRecord user = r.value->value();
        if (newPassword) {
            const QString weak = m_passwords.problem(*newPassword, user.username);
            if (!weak.isEmpty()) {
                done(HttpError::of(HttpError::Kind::WeakPassword, weak));
                return;
            }
        }
        // A stolen access token must not become an unthrottled password oracle: the same limits
        // as a login of this account from this address.
        const QString key = UsernamePolicy::keyFor(user.username);
        const QString ip = addressLimitKey(peer);
        if (const int wait = m_throttle.retryAfterSeconds(key, ip, nowMs())) {
            done(throttled(wait, QStringLiteral("too many wrong passwords")));
            return;
        }
        m_throttle.attemptStarted(key, ip, nowMs());
        const QByteArray stored = user.passwordHash;
        const bool queued = runHashing<Verdict>("verify", [stored, password, newPassword](const PasswordHasher &h) {
            Verdict v;
            v.match = h.verify(stored, password);
            if (v.match && newPassword)
                v.newHash = h.hash(*newPassword);
            return v;
        }, [this, who, key, ip, user, newPassword, done](Verdict v) {
            if (!v.match) {
                m_throttle.attemptFailed(key, ip, nowMs());
                done(HttpError::of(HttpError::Kind::Forbidden, QStringLiteral("the current password is wrong")));
                return;
            }
            m_throttle.attemptSucceeded(key, ip, nowMs());
            if (newPassword && v.newHash.isEmpty()) {
                done(HttpError::of(HttpError::Kind::Internal, QStringLiteral("password hashing failed")));
                return;
            }
            // The token's expiry and login stay: checkAccount in the caller's transaction checks them again.
            done(Reauthenticated{Principal{user.id, user.role, user.tokenVersion, who.expiresAt, who.loginId, who.scope}, v.newHash});
        });
        if (!queued) {
            m_throttle.attemptAbandoned(key, ip, nowMs());
            done(busy(QStringLiteral("password hashing")));
        }
    });
}

void AccountService::confirmPassword(const Principal &who, const QString &password, const QHostAddress &peer, Done<Principal> done)
{
    reauthenticate(who, password, std::nullopt, peer, [done](Outcome<Reauthenticated> r) {
        if (!r.ok()) {
            done(r.error());
            return;
        }
        done(r.value().principal);
    });
}

void AccountService::changePassword(const Principal &who, const QString &currentPassword, const QString &newPassword, const QHostAddress &peer,
                                    Done<Tokens> done)
{
    reauthenticate(who, currentPassword, newPassword, peer, [this, done](Outcome<Reauthenticated> checked) {
        if (!checked.ok()) {
            done(checked.error());
            return;
        }
        const Principal principal = checked.value().principal;
        const QByteArray hash = checked.value().newHash;
        const QByteArray refreshToken = RefreshTokens::generate();
        const qint64 now = nowMs();
        const qint64 ttlMs = qint64(m_settings.refreshTokenTtlS) * 1000;
        struct NewLogin {
            qint64 tokenVersion = 0;
            QString loginId;
        };
        m_db.write<Outcome<NewLogin>>(this, [principal, hash, refreshToken, now, ttlMs](SqlSession &s) -> Outcome<NewLogin> {
            // Checked again in this transaction: a sign-out or deletion while the hash was computed wins.
            const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
            if (!account.ok())
                return account.error();
            UserRepository users(s);
            users.setPasswordHash(principal.userId, hash);
            const std::optional<qint64> version = users.bumpTokenVersion(principal.userId);
            RefreshTokenRepository(s).revokeAllOfUser(principal.userId, now);
            const QString loginId = RefreshTokens::issue(s, principal.userId, refreshToken, now, ttlMs);
            return NewLogin{version.value_or(0), loginId};
        }, [this, principal, refreshToken, done](DbResult<Outcome<NewLogin>> r) {
            if (const std::optional<HttpError> problem = storageProblem(r)) {
                done(*problem);
                return;
            }
            if (!r.value->ok()) {
                done(r.value->error());
                return;
            }
            m_metrics.increment(kPasswordChanges);
            qCInfo(lcAuth) << "user" << principal.userId << "changed their password; every other session ends";
            emit sessionsRevoked(principal.userId);
            const NewLogin &login = r.value->value();
            done(Tokens{signAccessToken(principal.userId, principal.role, login.tokenVersion, login.loginId), m_settings.accessTokenTtlS,
                        refreshToken});
        });
    });
}

void AccountService::listLogins(const Principal &who, Done<LoginList> done)
{
    const qint64 now = nowMs();
    asAccount<QJsonArray>(Access::Read, who, [who, now](SqlSession &s) -> Outcome<QJsonArray> {
        return Logins::list(s, who.userId, who.tokenVersion, who.loginId, now);
    }, [this, done](Outcome<QJsonArray> r) {
        if (!r.ok()) {
            done(r.error());
            return;
        }
        done(LoginList{r.value(), m_deviceEndpoint.enabled ? m_deviceEndpoint.path : QString()});
    });
}

void AccountService::createDeviceToken(const Principal &who, const QString &name, const QString &password, const QHostAddress &peer,
                                       Done<DeviceTokenResult> done)
{
    // Checked before the password: nothing to hash when the token would work nowhere.
    if (!m_deviceEndpoint.enabled) {
        done(DeviceTokenResult{DeviceTokenRefusal{QStringLiteral("device_tokens_unavailable"),
                                                  QStringLiteral("no endpoint of this server accepts device tokens (compat.olv_enabled is off)")}});
        return;
    }
    confirmPassword(who, password, peer, [this, name, done](Outcome<Principal> checked) {
        if (!checked.ok()) {
            done(checked.error());
            return;
        }
        const Principal principal = checked.value();
        const qint64 now = nowMs();
        const qint64 ttlMs = qint64(m_settings.deviceTokenTtlDays) * 24 * 3600 * 1000;
        // The account is checked again in this transaction: a sign-out or password change while the hash was checked wins.
        asAccount<Logins::Issued>(Access::Write, principal, [principal, name, now, ttlMs](SqlSession &s) -> Outcome<Logins::Issued> {
            return Logins::issueDevice(s, principal.userId, principal.tokenVersion, name, now, ttlMs);
        }, [this, principal, done](Outcome<Logins::Issued> r) {
            if (!r.ok()) {
                done(r.error());
                return;
            }
            const Logins::Issued &issued = r.value();
            if (issued.refusal == Logins::IssueRefusal::TooMany) {
                done(DeviceTokenResult{DeviceTokenRefusal{
                    QStringLiteral("too_many_device_tokens"),
                    QStringLiteral("this account already has %1 device tokens; revoke one before making another")
                        .arg(Logins::kMaxDeviceTokensPerUser)}});
                return;
            }
            const Logins::NewDevice &device = issued.device;
            m_metrics.increment(kDeviceTokens);
            qCInfo(lcAuth) << "user" << principal.userId << "made a device token, login" << device.id;
            done(DeviceTokenResult{DeviceToken{device.id, device.name, signDeviceToken(principal, device.id, device.expiresAtMs / 1000),
                                               device.expiresAtMs}});
        });
    });
}

void AccountService::revokeLogin(const Principal &who, const QString &loginId, Done<bool> done)
{
    const qint64 now = nowMs();
    asAccount<bool>(Access::Write, who, [who, loginId, now](SqlSession &s) -> Outcome<bool> {
        if (!Logins::revoke(s, who.userId, loginId, now))
            return HttpError::notFound(QStringLiteral("login"));
        return true;
    }, [this, userId = who.userId, loginId, done](Outcome<bool> r) {
        if (r.ok()) {
            m_metrics.increment(kLoginsRevoked);
            qCInfo(lcAuth) << "user" << userId << "revoked login" << loginId;
            emit loginRevoked(userId, loginId);
        }
        done(r);
    });
}

void AccountService::profile(const Principal &who, Done<Profile> done)
{
    asAccount<Profile>(Access::Read, who, [who](SqlSession &s) -> Outcome<Profile> {
        const std::optional<ProfileRecord> record = UserRepository(s).profile(who.userId);
        if (!record)
            return HttpError::of(HttpError::Kind::Internal, QStringLiteral("the profile of this account is missing"));
        return toProfile(*record);
    }, std::move(done));
}

void AccountService::updateProfile(const Principal &who, ProfileChanges changes, Done<Profile> done)
{
    const qint64 now = nowMs();
    m_db.write<Outcome<Profile>>(this, [who, changes, now](SqlSession &s) -> Outcome<Profile> {
        const Outcome<Principal> account = AuthGuard::checkAccount(s, who);
        if (!account.ok())
            return account.error();
        UserRepository users(s);
        std::optional<QByteArray> prefs;
        if (changes.preferences)
            prefs = QJsonDocument(*changes.preferences).toJson(QJsonDocument::Compact);
        users.updateProfile(who.userId, changes.nickname, changes.description, changes.avatarUrl, prefs, now);
        const std::optional<ProfileRecord> record = users.profile(who.userId);
        if (!record)
            return HttpError::of(HttpError::Kind::Internal, QStringLiteral("the profile of this account is missing"));
        return toProfile(*record);
    }, [this, userId = who.userId, done](DbResult<Outcome<Profile>> r) {
        if (const std::optional<HttpError> problem = storageProblem(r)) {
            done(*problem);
            return;
        }
        if (r.value->ok())
            emit profileChanged(userId);
        done(*r.value);
    });
}

void AccountService::createAdmin(const QString &username, const QString &password, Done<AdminResult> done)
{
    const UsernamePolicy::Checked name = m_usernames.check(username);
    if (!name.ok()) {
        done(HttpError::of(HttpError::Kind::InvalidUsername, name.problem));
        return;
    }
    const QString weak = m_passwords.problem(password, name.username);
    if (!weak.isEmpty()) {
        done(HttpError::of(HttpError::Kind::WeakPassword, weak));
        return;
    }
    const bool queued = runHashing<QByteArray>("hash", [password](const PasswordHasher &h) { return h.hash(password); },
                                               [this, name, done](QByteArray hash) {
        if (hash.isEmpty()) {
            done(HttpError::of(HttpError::Kind::Internal, QStringLiteral("password hashing failed")));
            return;
        }
        const qint64 now = nowMs();
        m_db.write<AdminResult>(this, [name, hash, now](SqlSession &s) {
            UserRepository users(s);
            if (const std::optional<UserRecord> existing = users.findByKey(name.key)) {
                users.setPasswordHash(existing->id, hash);
                users.setRole(existing->id, QStringLiteral("admin"));
                users.setDisabled(existing->id, false);
                // A new password ends every session made with the old one.
                users.bumpTokenVersion(existing->id);
                RefreshTokenRepository(s).revokeAllOfUser(existing->id, now);
                return AdminResult{existing->id, false};
            }
            const qint64 id = users.insert(NewUser{name.username, name.key, hash, QStringLiteral("admin"), name.username, now});
            return AdminResult{id, true};
        }, [done](DbResult<AdminResult> r) {
            if (const std::optional<HttpError> problem = storageProblem(r)) {
                done(*problem);
                return;
            }
            qCInfo(lcAuth) << (r.value->created ? "created admin user" : "promoted user to admin") << r.value->userId;
            done(*r.value);
        });
    });
    if (!queued)
        done(busy(QStringLiteral("password hashing")));
}

} // namespace tianyi
