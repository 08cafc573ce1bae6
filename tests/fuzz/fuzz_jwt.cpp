// Access-token verification (server/src/auth/jwt.cpp, JwtCodec::verify). Byte 0 picks the form:
//  - even: the bytes are the token, as sent in an Authorization header or ?token= (an attacker
//    cannot sign, so this reaches the header, algorithm and signature checks);
//  - odd: the bytes are header JSON, a NUL, and payload JSON, signed here with the server's key, so
//    the claims parser is reached as if the key had leaked or a bug let a token through.
// Properties: a token passes only with valid claims, and a verified token's claims re-sign to a token
// that verifies to the same claims.

#include "fuzzsupport.h"

#include "auth/cryptoutil.h"
#include "auth/jwt.h"

namespace {
const QByteArray kSecret = QByteArrayLiteral("fuzz-secret-fuzz-secret-fuzz-secret!");
constexpr qint64 kNow = 1'700'000'000;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace tianyi;
    static const JwtCodec codec(kSecret);
    fuzz::Input in(data, size);
    const bool signHere = in.byte() & 1;
    QByteArray token = in.rest();
    if (signHere) {
        const qsizetype nul = token.indexOf('\0');
        const QByteArray header = nul < 0 ? QByteArrayLiteral("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") : token.left(nul);
        const QByteArray payload = nul < 0 ? token : token.mid(nul + 1);
        const QByteArray signingInput = crypto::base64UrlEncode(header) + '.' + crypto::base64UrlEncode(payload);
        token = signingInput + '.' + crypto::base64UrlEncode(crypto::hmacSha256(kSecret, signingInput));
    }
    const JwtCodec::Verified v = codec.verify(token, kNow);
    FUZZ_CHECK(!JwtCodec::describe(v.failure).isEmpty());
    if (!v.ok())
        return 0;
    FUZZ_CHECK(v.claims.userId > 0 && v.claims.expiresAt > kNow);
    FUZZ_CHECK(v.claims.role == QLatin1String("user") || v.claims.role == QLatin1String("admin"));
    const JwtCodec::Verified again = codec.verify(codec.sign(v.claims), kNow);
    FUZZ_CHECK(again.ok() && again.claims.userId == v.claims.userId && again.claims.role == v.claims.role
               && again.claims.issuedAt == v.claims.issuedAt && again.claims.expiresAt == v.claims.expiresAt
               && again.claims.jti == v.claims.jti && again.claims.tokenVersion == v.claims.tokenVersion
               && again.claims.loginId == v.claims.loginId);
    return 0;
}
