#include "storage/backupformat.h"

#include "storage/migrations.h"
#include "storage/sqlitefile.h"

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tianyi::backup {

namespace {

constexpr qint64 kCopyChunkBytes = 1 << 20;
const QFile::Permissions kOwnerFile = QFile::ReadOwner | QFile::WriteOwner;
const QFile::Permissions kOwnerDir = QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner;

QString megabytes(qint64 bytes)
{
    return QString::number(double(bytes) / (1024.0 * 1024.0), 'f', 1) + QStringLiteral(" MiB");
}

} // namespace

QString Contents::describe() const
{
    QString text = QStringLiteral("schema version %1, %2 users, %3 turns, database %4 (%5 bytes)")
                       .arg(schemaVersion)
                       .arg(users)
                       .arg(turns)
                       .arg(megabytes(databaseBytes))
                       .arg(databaseBytes);
    text += QStringLiteral(", %1 audio files %2 (%3 bytes)").arg(audioFiles).arg(megabytes(audioBytes)).arg(audioBytes);
    if (audioMissing > 0)
        text += QStringLiteral(", %1 audio files already removed by retention").arg(audioMissing);
    return text;
}

std::optional<Contents> inspect(SqliteFile &db, QString *error)
{
    QString sqlError;
    const QString problems = db.integrityProblems(&sqlError);
    if (!problems.isEmpty()) {
        *error = QStringLiteral("%1 fails the integrity check: %2").arg(db.path(), problems);
        return std::nullopt;
    }
    const auto hasVersionTable = db.integer(QStringLiteral("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"),
                                            &sqlError);
    if (!hasVersionTable || *hasVersionTable == 0) {
        *error = QStringLiteral("%1 is an SQLite database but not a tianyi one (it has no schema_version table)").arg(db.path());
        return std::nullopt;
    }
    Contents contents;
    const auto version = db.integer(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM schema_version"), &sqlError);
    if (!version) {
        *error = QStringLiteral("%1: cannot read the schema version: %2").arg(db.path(), sqlError);
        return std::nullopt;
    }
    contents.schemaVersion = int(*version);
    if (contents.schemaVersion > latestSchemaVersion()) {
        *error = QStringLiteral("%1: %2").arg(db.path(), newerSchemaMessage(contents.schemaVersion));
        return std::nullopt;
    }
    // Both tables exist from schema version 2 on; an older copy is still restorable (the server migrates it).
    const auto count = [&](const QString &table) -> qint64 {
        QString ignored;
        const auto exists = db.integer(QStringLiteral("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '%1'").arg(table), &ignored);
        if (!exists || *exists == 0)
            return 0;
        return db.integer(QStringLiteral("SELECT COUNT(*) FROM %1").arg(table), &ignored).value_or(0);
    };
    contents.users = count(QStringLiteral("users"));
    contents.turns = count(QStringLiteral("turns"));
    contents.databaseBytes = QFileInfo(db.path()).size();
    return contents;
}

bool copyFileDurably(const QString &from, const QString &to, QString *error)
{
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(from, in.errorString());
        return false;
    }
    QFile out(to);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        *error = QStringLiteral("cannot write %1: %2").arg(to, out.errorString());
        return false;
    }
    out.setPermissions(kOwnerFile);
    while (!in.atEnd()) {
        const QByteArray chunk = in.read(kCopyChunkBytes);
        if (chunk.isEmpty() && in.error() != QFileDevice::NoError) {
            *error = QStringLiteral("cannot read %1: %2").arg(from, in.errorString());
            return false;
        }
        if (out.write(chunk) != chunk.size()) {
            *error = QStringLiteral("cannot write %1: %2").arg(to, out.errorString());
            return false;
        }
    }
    if (!out.flush() || ::fsync(out.handle()) != 0) {
        *error = QStringLiteral("cannot write %1 to disk: %2").arg(to, QString::fromLocal8Bit(strerror(errno)));
        return false;
    }
    return true;
}

bool syncDirectory(const QString &path, QString *error)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        *error = QStringLiteral("cannot sync directory %1: %2").arg(path, QString::fromLocal8Bit(strerror(errno)));
        if (fd >= 0)
            ::close(fd);
        return false;
    }
    ::close(fd);
    return true;
}

bool syncDirectoryTree(const QString &root, QString *error)
{
    QDirIterator dirs(root, QDir::Dirs | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (dirs.hasNext()) {
        if (!syncDirectory(dirs.next(), error))
            return false;
    }
    return syncDirectory(root, error);
}

bool makeOwnerDirs(const QString &path, QString *error)
{
    if (QFileInfo(path).isDir())
        return true;
    const QString parent = QFileInfo(path).absolutePath();
    if (parent != path && !makeOwnerDirs(parent, error))
        return false;
    if (!QDir().mkdir(path, kOwnerDir) && !QFileInfo(path).isDir()) {
        *error = QStringLiteral("cannot create directory %1").arg(path);
        return false;
    }
    return true;
}

bool giveToOwnerOf(const QString &reference, const QString &path, QString *error)
{
    if (::geteuid() != 0 || path.isEmpty() || !QFileInfo::exists(path))
        return true;
    struct stat owner {};
    if (::stat(QFile::encodeName(reference).constData(), &owner) != 0) {
        *error = QStringLiteral("cannot read the owner of %1: %2").arg(reference, QString::fromLocal8Bit(strerror(errno)));
        return false;
    }
    QStringList paths{path};
    if (QFileInfo(path).isDir()) {
        QDirIterator it(path, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
        while (it.hasNext())
            paths << it.next();
    }
    for (const QString &p : paths) {
        // lchown: a link inside is never followed to something outside.
        if (::lchown(QFile::encodeName(p).constData(), owner.st_uid, owner.st_gid) != 0) {
            *error = QStringLiteral("cannot hand %1 to the owner of %2: %3").arg(p, reference, QString::fromLocal8Bit(strerror(errno)));
            return false;
        }
    }
    return true;
}

QString utcStamp()
{
    return QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'"));
}

} // namespace tianyi::backup
