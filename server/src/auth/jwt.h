#pragma once
// HS256 JSON Web Tokens (RFC 7519) for access tokens: compact form, base64url without padding,
// header {"alg":"HS256","typ":"JWT"}, claims sub (user id as a string), role, iat, exp, jti, and
// tv (the account's token version when the token was issued: a newer version in storage ends it) and
// sid (the login the token belongs to: its refresh-token family or device login; ending that login
// ends it), and scope ("device" for a device token; absent for an ordinary access token).
// Verification accepts exactly what sign() produces and refuses everything else: other or
// missing algorithms (including "none"), bad signatures, expired or malformed tokens.

#include <QByteArray>
#include <QString>

namespace tianyi {

struct AccessClaims {
    qint64 userId = 0;
    QString role;
    qint64 issuedAt = 0;   // seconds since the epoch
    qint64 expiresAt = 0;  // seconds since the epoch
    QString jti;
    qint64 tokenVersion = 0; // claim "tv"
    QString loginId{};       // claim "sid"; empty in tokens made before logins were named (then not written)
    QString scope{};         // claim "scope"; empty for an ordinary access token (then not written)
};

// The scope of a device token: a long-lived token for a client that cannot log in (a VTuber
// client), accepted only where such a client connects (AuthGuard::authenticateDeviceOrAccessToken).
inline const QString kDeviceScope = QStringLiteral("device");

class JwtCodec
{
public:
    enum class Failure { None, Malformed, UnsupportedAlgorithm, BadSignature, Expired, BadClaims };

    struct Verified {
        Failure failure = Failure::None;
        AccessClaims claims;
        bool ok() const { return failure == Failure::None; }
    };

    explicit JwtCodec(QByteArray secret);

    QByteArray sign(const AccessClaims &claims) const;
    Verified verify(const QByteArray &token, qint64 nowSeconds) const;

    static QString describe(Failure failure);

private:
    QByteArray m_secret;
};

} // namespace tianyi
