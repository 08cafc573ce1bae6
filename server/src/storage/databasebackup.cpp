#include "storage/databasebackup.h"

#include "base/servablepath.h"
#include "storage/sqlitefile.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <sqlite3.h>
#include <unistd.h>

namespace tianyi {

namespace {

// Removes a directory tree this process created; never follows a path it did not make.
void removeTree(const QString &path)
{
    if (!path.isEmpty() && QFileInfo::exists(path))
        QDir(path).removeRecursively();
}

// Pages of the live database into dest, from one read snapshot. Fills the step figures of report.
bool copyPages(const QString &sourcePath, const QString &destPath, BackupReport &report, QString *error)
{
    SqliteFile source;
    if (!source.open(sourcePath, SqliteFile::Mode::ReadWrite, DatabaseBackup::kBusyTimeoutMs, error))
        return false;
    if (!SqliteFile::hasSqliteHeader(sourcePath)) {
        *error = QStringLiteral("%1 is not an SQLite database").arg(sourcePath);
        return false;
    }
    // The held snapshot: BEGIN is deferred, the SELECT takes the read lock (retried while busy).
    int code = SQLITE_OK;
    for (;;) {
        QString sqlError;
        if (source.exec(QStringLiteral("BEGIN; SELECT COUNT(*) FROM sqlite_master;"), &sqlError, &code))
            break;
        source.exec(QStringLiteral("ROLLBACK"), &sqlError);
        if (!SqliteFile::isBusy(code) || ++report.busyRetries > DatabaseBackup::kMaxBusyRetries) {
            *error = QStringLiteral("cannot read %1: %2").arg(sourcePath, sqlError);
            return false;
        }
        sqlite3_sleep(DatabaseBackup::kBusyBackoffMs);
    }

    // Created owner-only before SQLite writes a byte: the copy holds password hashes.
    QFile created(destPath);
    if (!created.open(QIODevice::WriteOnly | QIODevice::Truncate) || !created.setPermissions(QFile::ReadOwner | QFile::WriteOwner)) {
        *error = QStringLiteral("cannot create %1: %2").arg(destPath, created.errorString());
        return false;
    }
    created.close();
    SqliteFile dest;
    if (!dest.open(destPath, SqliteFile::Mode::Create, DatabaseBackup::kBusyTimeoutMs, error))
        return false;
    sqlite3_backup *copy = sqlite3_backup_init(dest.handle(), "main", source.handle(), "main");
    if (!copy) {
        *error = QStringLiteral("cannot start the copy: %1").arg(QString::fromUtf8(sqlite3_errmsg(dest.handle())));
        return false;
    }
    QElapsedTimer stepTimer;
    int rc = SQLITE_OK;
    for (;;) {
        stepTimer.start();
        rc = sqlite3_backup_step(copy, DatabaseBackup::kPagesPerStep);
        report.longestStepMs = std::max(report.longestStepMs, stepTimer.elapsed());
        ++report.steps;
        if (rc == SQLITE_DONE)
            break;
        if (rc == SQLITE_OK)
            continue;
        if (SqliteFile::isBusy(rc) && ++report.busyRetries <= DatabaseBackup::kMaxBusyRetries) {
            sqlite3_sleep(DatabaseBackup::kBusyBackoffMs);
            continue;
        }
        break;
    }
    const int finished = sqlite3_backup_finish(copy);
    if (rc != SQLITE_DONE || finished != SQLITE_OK) {
        *error = QStringLiteral("the copy failed: %1%2")
                     .arg(QString::fromUtf8(sqlite3_errstr(rc != SQLITE_DONE ? rc : finished)),
                          SqliteFile::isBusy(rc) ? QStringLiteral(" (the database stayed locked through every retry)") : QString());
        return false;
    }
    QString ignored;
    source.exec(QStringLiteral("COMMIT"), &ignored);
    source.close();

    // The copy carries the source's WAL flag; make it one self-contained file.
    QString sqlError;
    const auto mode = dest.column(QStringLiteral("PRAGMA journal_mode=DELETE"), &sqlError);
    if (!mode || mode->value(0) != QLatin1String("delete")) {
        *error = QStringLiteral("cannot finish %1: %2").arg(destPath, sqlError);
        return false;
    }
    return true;
}

// The audio files the copy's rows name, from the live audio root into <dir>/audio.
bool copyAudio(SqliteFile &copy, const QString &audioRoot, const QString &dir, backup::Contents &contents, QString *error)
{
    QString sqlError;
    const auto hasTable = copy.integer(QStringLiteral("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'turn_audio'"), &sqlError);
    if (!hasTable || *hasTable == 0)
        return true; // a schema from before audio was stored
    const auto paths = copy.column(QStringLiteral("SELECT relative_path FROM turn_audio WHERE relative_path <> '' ORDER BY relative_path"), &sqlError);
    if (!paths) {
        *error = QStringLiteral("cannot list the audio files: %1").arg(sqlError);
        return false;
    }
    const QString targetRoot = dir + QLatin1Char('/') + backup::kAudioDirName;
    if (!backup::makeOwnerDirs(targetRoot, error))
        return false;
    for (const QString &relative : *paths) {
        const QString from = fileUnder(audioRoot, relative);
        if (from.isEmpty())
            continue;
        const QFileInfo info(from);
        if (!info.isFile() || info.isSymLink()) {
            ++contents.audioMissing;
            continue;
        }
        const QString to = targetRoot + QLatin1Char('/') + relative;
        if (!backup::makeOwnerDirs(QFileInfo(to).absolutePath(), error))
            return false;
        if (!backup::copyFileDurably(from, to, error)) {
            // Retention may remove the file between the check and the read: then it is missing, not an error.
            if (!QFileInfo::exists(from)) {
                QFile::remove(to);
                ++contents.audioMissing;
                continue;
            }
            return false;
        }
        ++contents.audioFiles;
        contents.audioBytes += QFileInfo(to).size();
    }
    // The files are fsynced one by one; their directories' entries too.
    return backup::syncDirectoryTree(targetRoot, error);
}

// Puts the finished temporary directory in place of target (replacing an old one when asked).
bool publish(const QString &temporary, const QString &target, bool replace, QString *error)
{
    QString previous;
    if (QFileInfo::exists(target)) {
        if (!replace) {
            *error = QStringLiteral("%1 appeared while the backup ran; the new backup was discarded").arg(target);
            return false;
        }
        previous = target + QStringLiteral(".replaced-%1").arg(QCoreApplication::applicationPid());
        if (!QDir().rename(target, previous)) {
            *error = QStringLiteral("cannot move the old %1 aside").arg(target);
            return false;
        }
    }
    if (!QDir().rename(temporary, target)) {
        *error = QStringLiteral("cannot rename %1 to %2").arg(temporary, target);
        if (!previous.isEmpty())
            QDir().rename(previous, target);
        return false;
    }
    if (!backup::syncDirectory(QFileInfo(target).absolutePath(), error))
        return false;
    if (!previous.isEmpty()) {
        if (QFileInfo(previous).isDir())
            removeTree(previous);
        else
            QFile::remove(previous);
    }
    return true;
}

} // namespace

BackupReport DatabaseBackup::run(const BackupRequest &request)
{
    BackupReport report;
    QElapsedTimer total;
    total.start();
    const QString target = QFileInfo(request.target).absoluteFilePath();
    if (QFileInfo::exists(target) && !request.force) {
        report.error = QStringLiteral("%1 already exists; choose a new name or pass --force to replace it").arg(target);
        return report;
    }
    if (!QFileInfo(request.databasePath).isFile()) {
        report.error = QStringLiteral("there is no database at %1 (check --data-dir and storage.sqlite_path)").arg(request.databasePath);
        return report;
    }
    const QString temporary = target + QStringLiteral(".tmp-%1").arg(QCoreApplication::applicationPid());
    removeTree(temporary); // left by an earlier run of a process with our pid that died
    if (!backup::makeOwnerDirs(temporary, &report.error))
        return report;

    const QString databaseCopy = temporary + QLatin1Char('/') + backup::kDatabaseName;
    const auto fail = [&]() {
        removeTree(temporary);
        return report;
    };
    if (!copyPages(request.databasePath, databaseCopy, report, &report.error))
        return fail();

    SqliteFile copy;
    if (!copy.open(databaseCopy, SqliteFile::Mode::ReadOnly, kBusyTimeoutMs, &report.error))
        return fail();
    const auto contents = backup::inspect(copy, &report.error);
    if (!contents) {
        report.error = QStringLiteral("the copy is not sound, nothing was kept: %1").arg(report.error);
        return fail();
    }
    report.contents = *contents;
    if (!copyAudio(copy, request.audioRoot, temporary, report.contents, &report.error))
        return fail();
    copy.close();

    // The database file itself: fsync (the backup API wrote it through SQLite's journal-less copy).
    QFile written(databaseCopy);
    if (!written.open(QIODevice::ReadWrite) || ::fsync(written.handle()) != 0) {
        report.error = QStringLiteral("cannot write %1 to disk").arg(databaseCopy);
        return fail();
    }
    written.close();
    if (!backup::syncDirectory(temporary, &report.error) || !publish(temporary, target, request.force, &report.error))
        return fail();
    report.elapsedMs = total.elapsed();
    report.ok = true;
    return report;
}

} // namespace tianyi
