#include "storage/databaserestore.h"

#include "base/servablepath.h"
#include "storage/sqlitefile.h"

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <sqlite3.h>

namespace tianyi {

namespace {

// The live database, held so that no server opens it until it is renamed aside.
class LiveDatabaseLock
{
public:
    // false with a message when a server (or another process) has the database open.
    bool acquire(const QString &path, QString *error)
    {
        if (!QFileInfo::exists(path))
            return true; // a fresh data directory: nothing to keep aside
        if (!m_db.open(path, SqliteFile::Mode::ReadWrite, 0, error))
            return false;
        QString sqlError;
        int code = SQLITE_OK;
        const auto mode = m_db.column(QStringLiteral("PRAGMA journal_mode=DELETE"), &sqlError, &code);
        if (!mode) {
            *error = SqliteFile::isBusy(code)
                         ? QStringLiteral("%1 is in use: a tianyi-server (or another program) has it open. Stop the server first "
                                          "(e.g. systemctl stop tianyi-server), then run --restore again. Nothing was changed.")
                               .arg(path)
                         : QStringLiteral("cannot open the current database %1: %2. Nothing was changed.").arg(path, sqlError);
            return false;
        }
        if (!m_db.exec(QStringLiteral("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;"), &sqlError, &code)) {
            *error = QStringLiteral("cannot lock the current database %1: %2. Nothing was changed.").arg(path, sqlError);
            return false;
        }
        return true;
    }
    void release() { m_db.close(); }

private:
    SqliteFile m_db;
};

// Copies the audio tree of a backup (regular files only; links and odd names are skipped).
bool copyAudioTree(const QString &from, const QString &to, backup::Contents &contents, QString *error)
{
    if (!backup::makeOwnerDirs(to, error))
        return false;
    if (!QFileInfo(from).isDir())
        return backup::syncDirectory(to, error);
    QDirIterator it(from, QDir::Files | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QFileInfo info(path);
        const QString relative = QDir(from).relativeFilePath(path);
        if (info.isSymLink() || !info.isFile() || fileUnder(to, relative).isEmpty())
            continue;
        const QString target = fileUnder(to, relative);
        if (!backup::makeOwnerDirs(QFileInfo(target).absolutePath(), error) || !backup::copyFileDurably(path, target, error))
            return false;
        ++contents.audioFiles;
        contents.audioBytes += info.size();
    }
    return backup::syncDirectoryTree(to, error);
}

} // namespace

RestoreReport DatabaseRestore::run(const RestoreRequest &request)
{
    RestoreReport report;
    const QFileInfo source(request.source);
    const bool isDirectory = source.isDir();
    const QString sourceDatabase = isDirectory ? source.absoluteFilePath() + QLatin1Char('/') + backup::kDatabaseName : source.absoluteFilePath();
    if (!source.exists()) {
        report.error = QStringLiteral("%1 does not exist").arg(request.source);
        return report;
    }
    if (!QFileInfo(sourceDatabase).isFile()) {
        report.error = QStringLiteral("%1 is not a tianyi backup: it has no %2").arg(request.source, backup::kDatabaseName);
        return report;
    }
    if (!SqliteFile::hasSqliteHeader(sourceDatabase)) {
        report.error = QStringLiteral("%1 is not an SQLite database. Nothing was changed.").arg(sourceDatabase);
        return report;
    }

    const QString live = QFileInfo(request.databasePath).absoluteFilePath();
    const QString liveDir = QFileInfo(live).absolutePath();
    if (!backup::makeOwnerDirs(liveDir, &report.error))
        return report;

    // The copy that will go live is the one validated.
    const QString pid = QString::number(QCoreApplication::applicationPid());
    const QString incoming = live + QStringLiteral(".restore-tmp-") + pid;
    const QString incomingAudio = request.audioRoot + QStringLiteral(".restore-tmp-") + pid;
    const auto fail = [&](const QString &message) {
        report.error = message;
        QFile::remove(incoming);
        QFile::remove(incoming + QStringLiteral("-journal"));
        QDir(incomingAudio).removeRecursively();
        return report;
    };
    QString error;
    if (!backup::copyFileDurably(sourceDatabase, incoming, &error))
        return fail(error);
    {
        SqliteFile copy;
        if (!copy.open(incoming, SqliteFile::Mode::ReadWrite, kBusyTimeoutMs, &error))
            return fail(error + QStringLiteral(". Nothing was changed."));
        // A bare file may come in WAL mode without its -wal: the live copy is one file either way.
        QString sqlError;
        const auto mode = copy.column(QStringLiteral("PRAGMA journal_mode=DELETE"), &sqlError);
        if (!mode)
            return fail(QStringLiteral("%1 cannot be read as a database: %2. Nothing was changed.").arg(sourceDatabase, sqlError));
        const auto contents = backup::inspect(copy, &error);
        if (!contents)
            return fail(error.replace(incoming, sourceDatabase) + QStringLiteral(". Nothing was changed."));
        report.contents = *contents;
    }
    report.contents.databaseBytes = QFileInfo(incoming).size();
    report.audioRestored = isDirectory;
    if (isDirectory && !copyAudioTree(source.absoluteFilePath() + QLatin1Char('/') + backup::kAudioDirName, incomingAudio, report.contents, &error))
        return fail(error + QStringLiteral(". Nothing was changed."));

    // Owned like what they replace: the database's owner, or the folder's for a fresh data directory.
    const QString owner = QFileInfo::exists(live) ? live : liveDir;
    if (!backup::giveToOwnerOf(owner, incoming, &error) || !backup::giveToOwnerOf(owner, incomingAudio, &error))
        return fail(error + QStringLiteral(". Nothing was changed."));

    // Only now the live database is touched (folded out of WAL mode, which also proves no one has it open).
    LiveDatabaseLock lock;
    if (!lock.acquire(live, &error))
        return fail(error);

    // From here the live files move; each step is a rename within one directory.
    const QString stamp = backup::utcStamp();
    if (QFileInfo::exists(live)) {
        report.keptDatabase = live + QStringLiteral(".before-restore-") + stamp;
        if (!QFile::rename(live, report.keptDatabase))
            return fail(QStringLiteral("cannot move %1 aside. Nothing was changed.").arg(live));
    }
    lock.release();
    if (isDirectory && QFileInfo::exists(request.audioRoot)) {
        report.keptAudio = request.audioRoot + QStringLiteral(".before-restore-") + stamp;
        if (!QDir().rename(request.audioRoot, report.keptAudio)) {
            if (!report.keptDatabase.isEmpty())
                QFile::rename(report.keptDatabase, live);
            return fail(QStringLiteral("cannot move %1 aside. Nothing was changed.").arg(request.audioRoot));
        }
    }
    if (!QFile::rename(incoming, live) || (isDirectory && !QDir().rename(incomingAudio, request.audioRoot))) {
        report.error = QStringLiteral("cannot move the restored files into place; the previous database is %1 and its audio %2: "
                                      "rename them back to %3 and %4")
                           .arg(report.keptDatabase, report.keptAudio, live, request.audioRoot);
        return report;
    }
    if (!backup::syncDirectory(liveDir, &error)
        || (isDirectory && !backup::syncDirectory(QFileInfo(request.audioRoot).absolutePath(), &error))) {
        report.error = error;
        return report;
    }
    report.ok = true;
    return report;
}

} // namespace tianyi
