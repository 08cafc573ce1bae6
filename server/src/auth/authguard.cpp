#include "auth/authguard.h"

#include "storage/refreshtokenrepository.h"
#include "storage/userrepository.h"

#include <QDateTime>

namespace tianyi {

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

Outcome<Principal> AuthGuard::authenticateToken(const QByteArray &accessToken) const
{
    const JwtCodec::Verified v = m_codec.verify(accessToken, m_clock());
    if (!v.ok()) {
        HttpError e = HttpError::of(HttpError::Kind::Unauthorized, JwtCodec::describe(v.failure));
        e.tokenPresented = true;
        return e;
    }
    return Principal{v.claims.userId, v.claims.role, v.claims.tokenVersion, v.claims.expiresAt, v.claims.loginId};
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
    // Logging one device out ends that login's access tokens too, not only its refresh token.
    if (!principal.loginId.isEmpty() && !RefreshTokenRepository(session).loginIsLive(principal.userId, principal.loginId)) {
        HttpError e = HttpError::of(HttpError::Kind::Unauthorized, QStringLiteral("this login was logged out; log in again"));
        e.tokenPresented = true;
        return e;
    }
    Principal checked = principal; // the token's expiry stays; the role is the stored one
    checked.role = user->role;
    return checked;
}

} // namespace tianyi
