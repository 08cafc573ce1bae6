#pragma once
// Argon2id password hashes (libsodium crypto_pwhash_str: the encoded string carries salt and cost).
// Every method is blocking CPU work: call it on a WorkerPool thread, never on the event loop.
// The object is immutable after construction apart from the lazily made dummy hash, so pool
// threads may share it.

#include <QByteArray>
#include <QString>
#include <mutex>

namespace tianyi {

class PasswordHasher
{
public:
    struct Cost {
        quint64 opsLimit = 2;
        quint64 memLimitBytes = 64ull << 20;
    };

    explicit PasswordHasher(Cost cost);
    PasswordHasher(const PasswordHasher &) = delete;
    PasswordHasher &operator=(const PasswordHasher &) = delete;

    // The encoded hash ("$argon2id$v=19$m=...,t=...,p=1$salt$hash"), or empty if libsodium
    // could not get the memory.
    QByteArray hash(const QString &password) const;
    bool verify(const QByteArray &encodedHash, const QString &password) const;
    // True when the stored hash was made with another cost than the configured one:
    // it is then replaced after the next successful login.
    bool needsRehash(const QByteArray &encodedHash) const;

    // A hash of a random password with the configured cost. Logins for unknown usernames verify
    // against it, so they take as long as logins for existing ones (no user enumeration by timing).
    // Made on first use, on the caller's (worker) thread.
    QByteArray dummyHash() const;

    Cost cost() const { return m_cost; }

private:
    // Passwords are compared as NFC UTF-8: the same password typed with another input method
    // (precomposed or combining accents) still matches.
    static QByteArray passwordBytes(const QString &password);

    Cost m_cost;
    mutable std::once_flag m_dummyOnce;
    mutable QByteArray m_dummyHash;
};

} // namespace tianyi
