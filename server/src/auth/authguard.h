#pragma once
// Who is calling: turns the Bearer access token of a request (or a WebSocket ?token=) into a
// Principal, or a 401. Token checks only, no storage, so it is cheap on the event loop.
// Whether the account still exists, is enabled and the token is of its current generation is
// checked by checkAccount() inside the storage work the handler does anyway (no extra round trip).

#include "net/httperror.h"
#include "auth/jwt.h"
#include "net/httpmessage.h"

#include <QString>
#include <functional>
#include <optional>

namespace tianyi {

class SqlSession;

struct Principal {
    qint64 userId = 0;
    QString role;
    qint64 tokenVersion = 0; // of the access token; checkAccount compares it with the account's
    qint64 expiresAt = 0;  // of the access token it came from, seconds since the epoch
    QString loginId{};     // the login (refresh-token family) of the token; empty for older tokens
    bool isAdmin() const { return role == QLatin1String("admin"); }
};

class AuthGuard
{
public:
    // clock: seconds since the epoch (injectable for tests).
    explicit AuthGuard(const JwtCodec &codec, std::function<qint64()> clock = {});

    Outcome<Principal> authenticate(const HttpRequest &request) const;
    Outcome<Principal> authenticateToken(const QByteArray &accessToken) const;

    // Storage thread: the account behind `principal` must exist, not be disabled, and still be of
    // the token's generation (deletion, disabling, a password change and sign-out-everywhere bump
    // it), and the token's login must not have been logged out. A primary-key lookup and an indexed
    // one inside the storage work the handler does anyway. On success the principal
    // carries the role stored now (a demoted admin loses admin before the token expires).
    static Outcome<Principal> checkAccount(SqlSession &session, const Principal &principal);

private:
    const JwtCodec &m_codec;
    std::function<qint64()> m_clock;
};

} // namespace tianyi
