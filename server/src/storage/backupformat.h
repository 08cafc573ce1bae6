#pragma once
// What a tianyi backup is, shared by tianyi-server --backup and --restore.
//
// A backup is a directory:
//   <backup>/tianyi.sqlite3   one consistent snapshot of the database, a single self-contained file
//                             (rollback journal mode, no -wal beside it), integrity-checked
//   <backup>/audio/<user>/<turn>/<sentence>.wav
//                             the synthesized audio every turn_audio row of that snapshot points at
// It is complete once it has that name: it is built as <backup>.tmp-<pid> and renamed at the end.
// --restore also takes a bare SQLite database file (e.g. from `sqlite3 .backup`): then only the
// database is replaced and the audio directory is left as it is.
//
// Helpers that make files durable (fsync before rename) live here too.

#include <QString>
#include <optional>

namespace tianyi {

class SqliteFile;

namespace backup {

inline const QString kDatabaseName = QStringLiteral("tianyi.sqlite3");
inline const QString kAudioDirName = QStringLiteral("audio");

// What a database file holds, as reported to the operator.
struct Contents {
    int schemaVersion = 0;
    qint64 users = 0;
    qint64 turns = 0;
    qint64 databaseBytes = 0;
    qint64 audioFiles = 0;
    qint64 audioBytes = 0;
    qint64 audioMissing = 0; // rows whose file was gone when copied (retention removed it meanwhile)
    QString describe() const;
};

// Checks an open copy: integrity_check, a tianyi schema, a version this build knows; fills the counts.
// The error says what is wrong in words an operator can act on.
std::optional<Contents> inspect(SqliteFile &db, QString *error);

// Copies a regular file (owner-only permissions) and fsyncs it.
bool copyFileDurably(const QString &from, const QString &to, QString *error);
// fsync of a directory: makes the renames and creations inside it durable.
bool syncDirectory(const QString &path, QString *error);
// syncDirectory of root and of every directory below it.
bool syncDirectoryTree(const QString &root, QString *error);
// Creates every missing directory of path, each owner-only (0700).
bool makeOwnerDirs(const QString &path, QString *error);
// Run as root (a restore from a root shell), files would be root's and a server running as its own
// user could not open them: hands path (recursively) to the owner and group of reference. A no-op
// for any other user, who can only create files of their own anyway.
bool giveToOwnerOf(const QString &reference, const QString &path, QString *error);
// "20261203T142501Z": names what a restore keeps aside.
QString utcStamp();

} // namespace backup
} // namespace tianyi
