#include "auth/jwt.h"

#include "auth/cryptoutil.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <optional>

namespace tianyi {

namespace {

// Bounds the work a garbage Authorization header can cause (our tokens are ~300 bytes).
constexpr int kMaxTokenBytes = 4096;
// A login id is a refresh-token family id (32 hex characters today); the bound only keeps hostile
// payloads from carrying large strings into the principal.
constexpr int kMaxLoginIdChars = 64;

std::optional<QJsonObject> decodeJsonPart(const QByteArray &part)
{
    const std::optional<QByteArray> bytes = crypto::base64UrlDecode(part);
    if (!bytes)
        return std::nullopt;
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(*bytes, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return std::nullopt;
    return doc.object();
}

// A JSON number that is a whole number of seconds (JWT NumericDate).
std::optional<qint64> numericDate(const QJsonValue &v)
{
    if (!v.isDouble())
        return std::nullopt;
    const double d = v.toDouble();
    if (d < 0 || d > 1e15)
        return std::nullopt;
    return qint64(d);
}

} // namespace

JwtCodec::JwtCodec(QByteArray secret)
    : m_secret(std::move(secret))
{
}

QByteArray JwtCodec::sign(const AccessClaims &claims) const
{
    // Fixed header bytes: what verify() accepts is exactly what we emit.
    static const QByteArray header = crypto::base64UrlEncode(QByteArrayLiteral("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"));
    QJsonObject payload{
        {QStringLiteral("sub"), QString::number(claims.userId)},
        {QStringLiteral("role"), claims.role},
        {QStringLiteral("iat"), claims.issuedAt},
        {QStringLiteral("exp"), claims.expiresAt},
        {QStringLiteral("jti"), claims.jti},
        {QStringLiteral("tv"), claims.tokenVersion},
    };
    if (!claims.loginId.isEmpty())
        payload.insert(QStringLiteral("sid"), claims.loginId);
    if (!claims.scope.isEmpty())
        payload.insert(QStringLiteral("scope"), claims.scope);
    const QByteArray signingInput = header + '.' + crypto::base64UrlEncode(QJsonDocument(payload).toJson(QJsonDocument::Compact));
    return signingInput + '.' + crypto::base64UrlEncode(crypto::hmacSha256(m_secret, signingInput));
}

JwtCodec::Verified JwtCodec::verify(const QByteArray &token, qint64 nowSeconds) const
{
    Verified result;
    if (token.isEmpty() || token.size() > kMaxTokenBytes || token.count('.') != 2) {
        result.failure = Failure::Malformed;
        return result;
    }
    const int firstDot = token.indexOf('.');
    const int lastDot = token.lastIndexOf('.');
    const QByteArray headerPart = token.left(firstDot);
    const QByteArray payloadPart = token.mid(firstDot + 1, lastDot - firstDot - 1);
    const QByteArray signaturePart = token.mid(lastDot + 1);

    const std::optional<QJsonObject> header = decodeJsonPart(headerPart);
    if (!header) {
        result.failure = Failure::Malformed;
        return result;
    }
    // The algorithm is fixed by us, never chosen by the token ("none" and RS/HS confusion attacks).
    // "crit" names extensions the verifier must understand; we understand none.
    if (header->value(QStringLiteral("alg")).toString() != QLatin1String("HS256") || header->contains(QStringLiteral("crit"))) {
        result.failure = Failure::UnsupportedAlgorithm;
        return result;
    }
    const std::optional<QByteArray> signature = crypto::base64UrlDecode(signaturePart);
    if (!signature) {
        result.failure = Failure::Malformed;
        return result;
    }
    const QByteArray expected = crypto::hmacSha256(m_secret, token.left(lastDot));
    if (!crypto::constantTimeEquals(*signature, expected)) {
        result.failure = Failure::BadSignature;
        return result;
    }

    // Only a token we signed gets this far: its payload is parsed strictly all the same.
    const std::optional<QJsonObject> payload = decodeJsonPart(payloadPart);
    if (!payload) {
        result.failure = Failure::Malformed;
        return result;
    }
    const QString sub = payload->value(QStringLiteral("sub")).toString();
    bool subOk = false;
    const qint64 userId = sub.toLongLong(&subOk);
    const QString role = payload->value(QStringLiteral("role")).toString();
    const std::optional<qint64> iat = numericDate(payload->value(QStringLiteral("iat")));
    const std::optional<qint64> exp = numericDate(payload->value(QStringLiteral("exp")));
    // tv: absent means generation 0 (tokens made before it existed, and a fresh account's).
    const QJsonValue tvValue = payload->value(QStringLiteral("tv"));
    const std::optional<qint64> tokenVersion = tvValue.isUndefined() ? std::optional<qint64>(0) : numericDate(tvValue);
    // sid: absent in tokens made before logins were named; otherwise a non-empty string of bounded length.
    const QJsonValue sidValue = payload->value(QStringLiteral("sid"));
    const bool sidOk = sidValue.isUndefined()
                       || (sidValue.isString() && !sidValue.toString().isEmpty() && sidValue.toString().size() <= kMaxLoginIdChars);
    // scope: absent for an ordinary access token; the only other scope we issue is "device".
    const QJsonValue scopeValue = payload->value(QStringLiteral("scope"));
    // A device token must name its login, or it could not be revoked before it expires.
    const bool scopeOk = scopeValue.isUndefined()
                         || (scopeValue.isString() && scopeValue.toString() == kDeviceScope && !sidValue.isUndefined());
    if (!subOk || userId <= 0 || (role != QLatin1String("user") && role != QLatin1String("admin")) || !iat || !exp || !tokenVersion || !sidOk
        || !scopeOk) {
        result.failure = Failure::BadClaims;
        return result;
    }
    if (*exp <= nowSeconds) {
        result.failure = Failure::Expired;
        return result;
    }
    result.claims = AccessClaims{userId, role, *iat, *exp, payload->value(QStringLiteral("jti")).toString(), *tokenVersion, sidValue.toString(),
                                 scopeValue.toString()};
    return result;
}

QString JwtCodec::describe(Failure failure)
{
    switch (failure) {
    case Failure::None: return QStringLiteral("valid");
    case Failure::Malformed: return QStringLiteral("the access token is malformed");
    case Failure::UnsupportedAlgorithm: return QStringLiteral("the access token uses an unsupported algorithm");
    case Failure::BadSignature: return QStringLiteral("the access token signature is invalid");
    case Failure::Expired: return QStringLiteral("the access token has expired");
    case Failure::BadClaims: return QStringLiteral("the access token claims are invalid");
    }
    return QStringLiteral("invalid access token");
}

} // namespace tianyi
