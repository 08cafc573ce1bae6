#pragma once
// Who is calling: turns the Bearer access token of a request (or a WebSocket ?token=) into a
// Principal, or a 401. Device tokens (scope "device") travel in URLs a user pastes into a client
// that cannot log in, so they leak to proxy logs, browser history and config files: they are
// refused everywhere except where such a client connects (authenticateDeviceOrAccessToken). Token checks only, no storage, so it is cheap on the event loop.
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
    QString loginId{};     // the login (refresh-token family or device login) of the token; empty for older tokens
    QString scope{};       // "device" for a device token (kDeviceScope); empty for an ordinary access token
    bool isDevice() const { return scope == kDeviceScope; }
    bool isAdmin() const { return role == QLatin1String("admin"); }
};

class AuthGuard
{
public:
    // clock: seconds since the epoch (injectable for tests).
    explicit AuthGuard(const JwtCodec &codec, std::function<qint64()> clock = {});

    // The HTTP API and the /ws, /ws/admin sockets: ordinary access tokens only (a device token is a 401).
    Outcome<Principal> authenticate(const HttpRequest &request) const;
    Outcome<Principal> authenticateToken(const QByteArray &accessToken) const;
    // Only for an endpoint whose clients cannot log in (the Open-LLM-VTuber socket): an access token
    // or a device token. checkAccount afterwards, as for any token.
    Outcome<Principal> authenticateDeviceOrAccessToken(const QByteArray &token) const;

    // Storage thread: the account behind `principal` must exist, not be disabled, and still be of
    // the token's generation (deletion, disabling, a password change and sign-out-everywhere bump
    // it), and the token's login must not have been logged out. A primary-key lookup and an indexed
    // one inside the storage work the handler does anyway. A device token's login must be live (not
    // revoked, not expired); its last use is noted. On success the principal
    // carries the role stored now (a demoted admin loses admin before the token expires).
    static Outcome<Principal> checkAccount(SqlSession &session, const Principal &principal);

private:
    Outcome<Principal> verify(const QByteArray &token) const;

    const JwtCodec &m_codec;
    std::function<qint64()> m_clock;
};

} // namespace tianyi
