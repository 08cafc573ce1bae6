#include "auth/passwordhasher.h"

#include "auth/cryptoutil.h"

#include <sodium.h>

namespace tianyi {

PasswordHasher::PasswordHasher(Cost cost)
    : m_cost(cost)
{
    crypto::ensureSodium();
}

QByteArray PasswordHasher::passwordBytes(const QString &password)
{
    return password.normalized(QString::NormalizationForm_C).toUtf8();
}

QByteArray PasswordHasher::hash(const QString &password) const
{
    const QByteArray bytes = passwordBytes(password);
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, bytes.constData(), quint64(bytes.size()), m_cost.opsLimit, size_t(m_cost.memLimitBytes)) != 0)
        return {};
    return QByteArray(out);
}

bool PasswordHasher::verify(const QByteArray &encodedHash, const QString &password) const
{
    if (encodedHash.isEmpty() || encodedHash.size() >= crypto_pwhash_STRBYTES)
        return false;
    const QByteArray bytes = passwordBytes(password);
    // QByteArray keeps a terminating NUL, which crypto_pwhash_str_verify needs.
    return crypto_pwhash_str_verify(encodedHash.constData(), bytes.constData(), quint64(bytes.size())) == 0;
}

bool PasswordHasher::needsRehash(const QByteArray &encodedHash) const
{
    return crypto_pwhash_str_needs_rehash(encodedHash.constData(), m_cost.opsLimit, size_t(m_cost.memLimitBytes)) != 0;
}

QByteArray PasswordHasher::dummyHash() const
{
    std::call_once(m_dummyOnce, [this]() { m_dummyHash = hash(QString::fromLatin1(crypto::base64UrlEncode(crypto::randomBytes(24)))); });
    return m_dummyHash;
}

} // namespace tianyi
