#include "auth/jwtsecret.h"

#include "base/logging.h"
#include "auth/cryptoutil.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <unistd.h>

namespace tianyi {

namespace {
constexpr QFileDevice::Permissions kOwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
constexpr QFileDevice::Permissions kGroupOrWorld = QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ExeGroup
                                                 | QFileDevice::ReadOther | QFileDevice::WriteOther | QFileDevice::ExeOther;
constexpr qint64 kMaxFileBytes = 4096;
} // namespace

QString JwtSecret::filePath(const QString &dataDir)
{
    return QDir(dataDir).filePath(QStringLiteral("jwt_secret"));
}

JwtSecret::Loaded JwtSecret::load(const QByteArray &configured, const QString &dataDir)
{
    if (!configured.isEmpty()) {
        if (configured.size() < kMinBytes)
            return {{}, QStringLiteral("auth.jwt_secret: must be at least %1 bytes").arg(kMinBytes)};
        return {configured, {}};
    }
    const QString path = filePath(dataDir);
    if (QFileInfo::exists(path))
        return readExisting(path);
    Loaded created = create(path);
    if (created.error.isEmpty())
        qCInfo(lcAuth).noquote() << "generated a new JWT signing secret in" << path;
    return created;
}

JwtSecret::Loaded JwtSecret::readExisting(const QString &path)
{
    QFile file(path);
    // A secret others can read lets them mint admin tokens: tighten it rather than trust it silently.
    if (file.permissions() & kGroupOrWorld) {
        if (!file.setPermissions(kOwnerOnly))
            return {{}, QStringLiteral("%1 is readable by other users and its mode cannot be changed to 0600").arg(path)};
        qCWarning(lcAuth).noquote() << path << "was accessible to group/others; its mode is now 0600."
                                    << "Consider rotating the secret (delete the file: every session must log in again).";
    }
    if (!file.open(QIODevice::ReadOnly))
        return {{}, QStringLiteral("cannot read %1: %2").arg(path, file.errorString())};
    const QByteArray secret = file.read(kMaxFileBytes + 1).trimmed();
    if (secret.size() > kMaxFileBytes)
        return {{}, QStringLiteral("%1 is larger than %2 bytes; it does not look like a secret").arg(path).arg(kMaxFileBytes)};
    if (secret.size() < kMinBytes)
        return {{}, QStringLiteral("%1 holds fewer than %2 bytes (truncated?); delete it to generate a new secret").arg(path).arg(kMinBytes)};
    return {secret, {}};
}

JwtSecret::Loaded JwtSecret::create(const QString &path)
{
    // Printable (hex) so operators and standard JWT tools can use the file as is; 256 random bits.
    const QByteArray secret = crypto::randomBytes(kGeneratedBytes).toHex();
    // Per process, so two processes starting at once (server and --create-admin) do not collide.
    const QString tempPath = path + QStringLiteral(".tmp.%1").arg(::getpid());
    QFile::remove(tempPath); // a leftover of a crash of an earlier process with the same pid
    QFile temp(tempPath);
    // The file is created with mode 0600 (open with permissions), before any content is written.
    if (!temp.open(QIODevice::WriteOnly | QIODevice::NewOnly, kOwnerOnly))
        return {{}, QStringLiteral("cannot create %1: %2").arg(tempPath, temp.errorString())};
    const bool written = temp.write(secret + '\n') == secret.size() + 1 && temp.flush() && ::fsync(temp.handle()) == 0;
    temp.close();
    if (!written) {
        QFile::remove(tempPath);
        return {{}, QStringLiteral("cannot write %1").arg(tempPath)};
    }
    // Renaming makes the secret appear whole or not at all. QFile::rename never replaces an
    // existing file: if another process won the race, its secret is the one everybody uses.
    if (!QFile::rename(tempPath, path)) {
        QFile::remove(tempPath);
        if (QFileInfo::exists(path))
            return readExisting(path);
        return {{}, QStringLiteral("cannot create %1").arg(path)};
    }
    return {secret, {}};
}

} // namespace tianyi
