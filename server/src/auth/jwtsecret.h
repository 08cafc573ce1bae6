#pragma once
// Where the HS256 key comes from: auth.jwt_secret when configured, else <data_dir>/jwt_secret,
// generated at first start (owner-only file) and reused afterwards so tokens survive restarts.

#include <QByteArray>
#include <QString>

namespace tianyi {

class JwtSecret
{
public:
    static constexpr int kMinBytes = 32;      // HS256 key of at least the hash size (RFC 7518 3.2)
    static constexpr int kGeneratedBytes = 32;

    struct Loaded {
        QByteArray secret; // empty on failure
        QString error;     // says what is wrong and which file or key
    };

    static QString filePath(const QString &dataDir);
    // The configured secret if non-empty, else the file's (creating it when missing).
    static Loaded load(const QByteArray &configured, const QString &dataDir);

private:
    static Loaded readExisting(const QString &path);
    static Loaded create(const QString &path);
};

} // namespace tianyi
