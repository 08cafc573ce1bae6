#include "auth/cryptoutil.h"

#include <QCryptographicHash>
#include <QMessageAuthenticationCode>
#include <sodium.h>

namespace tianyi::crypto {

bool ensureSodium()
{
    // sodium_init() is itself thread-safe and idempotent (returns 1 when already done).
    static const bool ok = sodium_init() >= 0;
    return ok;
}

QByteArray randomBytes(int count)
{
    ensureSodium();
    QByteArray out(count, Qt::Uninitialized);
    randombytes_buf(out.data(), size_t(out.size()));
    return out;
}

QByteArray base64UrlEncode(const QByteArray &data)
{
    return data.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

std::optional<QByteArray> base64UrlDecode(const QByteArray &text)
{
    if (text.size() % 4 == 1)
        return std::nullopt;
    for (const char c : text) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok)
            return std::nullopt;
    }
    QByteArray decoded = QByteArray::fromBase64(text, QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
    // Unused low bits of the last character must be zero: re-encoding must give back the input.
    if (base64UrlEncode(decoded) != text)
        return std::nullopt;
    return decoded;
}

QByteArray sha256(const QByteArray &data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256);
}

QByteArray hmacSha256(const QByteArray &key, const QByteArray &data)
{
    return QMessageAuthenticationCode::hash(data, key, QCryptographicHash::Sha256);
}

bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false; // lengths are public (a MAC's length is fixed by the algorithm)
    ensureSodium();
    return sodium_memcmp(a.constData(), b.constData(), size_t(a.size())) == 0;
}

} // namespace tianyi::crypto
