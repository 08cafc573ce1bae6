#include "auth/authguard.h"

#include "storage/deviceloginrepository.h"
#include "storage/refreshtokenrepository.h"
#include "storage/userrepository.h"

#include <QDateTime>

namespace tianyi {

namespace {
// A device's last use is written at most this often: a client reconnecting in a loop costs no write.
constexpr qint64 kDeviceUseNoteIntervalMs = 60 * 1000;

HttpError invalidToken(const QString &message)
{
    HttpError e = HttpError::of(HttpError::Kind::Unauthorized, message);
    e.tokenPresented = true;
    return e;
}
} // namespace

AuthGuard::AuthGuard(const JwtCodec &codec, std::function<qint64()> clock)
    : m_codec(codec)
    , m_clock(clock ? std::move(clock) : [] { return QDateTime::currentSecsSinceEpoch(); })
{
}

Outcome<Principal> AuthGuard::authenticate(const HttpRequest &request) const
{
    const QByteArray token = request.bearerToken();
    if (token.isEmpty()) {
        const bool sentSomething = !request.header("authorization").isEmpty();
        HttpError e = HttpError::of(HttpError::Kind::Unauthorized,
                                    sentSomething ? QStringLiteral("the Authorization header must be \"Bearer <access token>\"")
                                                  : QStringLiteral("an access token is required (Authorization: Bearer <token>)"));
        e.tokenPresented = sentSomething;
        return e;
    }
    return authenticateToken(token);
}

Outcome<Principal> AuthGuard::verify(const QByteArray &token) const
{
    const JwtCodec::Verified v = m_codec.verify(token, m_clock());
    if (!v.ok())
        return invalidToken(JwtCodec::describe(v.failure));
    return Principal{v.claims.userId, v.claims.role, v.claims.tokenVersion, v.claims.expiresAt, v.claims.loginId, v.claims.scope};
}

Outcome<Principal> AuthGuard::authenticateToken(const QByteArray &accessToken) const
{
    Outcome<Principal> who = verify(accessToken);
    if (who.ok() && who.value().isDevice())
        return invalidToken(QStringLiteral("a device token only works for the VTuber client it was made for; "
                                           "log in for an access token to use this endpoint"));
    return who;
}

Outcome<Principal> AuthGuard::authenticateDeviceOrAccessToken(const QByteArray &token) const
{
    return verify(token);
}

Outcome<Principal> AuthGuard::checkAccount(SqlSession &session, const Principal &principal)
{
    const std::optional<UserRecord> user = UserRepository(session).findById(principal.userId);
    if (!user) {
        HttpError e = HttpError::of(HttpError::Kind::Unauthorized, QStringLiteral("the account of this access token no longer exists"));
        e.tokenPresented = true;
        return e;
    }
    if (user->disabled)
        return HttpError::of(HttpError::Kind::AccountDisabled, QStringLiteral("this account is disabled"));
    if (user->tokenVersion != principal.tokenVersion) {
        HttpError e = HttpError::of(HttpError::Kind::Unauthorized,
                                    QStringLiteral("this access token was revoked (signed out everywhere or password changed); log in again"));
        e.tokenPresented = true;
        return e;
    }
    if (principal.isDevice()) {
        const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
        DeviceLoginRepository devices(session);
        if (!devices.isLive(principal.userId, principal.loginId, nowMs))
            return invalidToken(QStringLiteral("this device token was revoked; make a new one in the web client's profile page"));
        // The storage thread owns the one connection, so this small write is safe inside read work too.
        devices.noteUse(principal.loginId, nowMs, kDeviceUseNoteIntervalMs);
    } else if (!principal.loginId.isEmpty() && !RefreshTokenRepository(session).loginIsLive(principal.userId, principal.loginId)) {
        // Logging one device out ends that login's access tokens too, not only its refresh token.
        return invalidToken(QStringLiteral("this login was logged out; log in again"));
    }
    Principal checked = principal; // the token's expiry stays; the role is the stored one
    checked.role = user->role;
    return checked;
}

} // namespace tianyi
