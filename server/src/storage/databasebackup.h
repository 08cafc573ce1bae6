#pragma once
// tianyi-server --backup: a consistent copy of a live database (and the audio its rows point at),
// taken by a separate process while a server keeps serving the same data directory.
//
// Consistency: SQLite's online backup API copies the pages of one read snapshot. The source
// connection opens a read transaction before the first step and keeps it to the last, so the copy
// is the database as of that instant; in WAL mode a reader never blocks the server's writers, and
// writers do not make the copy start over (as they would without the held snapshot). The copy goes
// in steps of kPagesPerStep pages; SQLITE_BUSY / SQLITE_LOCKED (e.g. while the server checkpoints or
// recovers the WAL) are retried, at most kMaxBusyRetries times in all.
//
// Durability: everything is written under <target>.tmp-<pid>, fsynced, integrity-checked and then
// renamed to <target>: a backup that has its final name is complete. An existing <target> is
// refused unless `force`; then it is replaced only once the new backup is complete.
//
// Audio: after the database, each file a turn_audio row of the copy names is copied from the audio
// root. A row whose file retention removed meanwhile is counted (audioMissing), not an error: the
// server shows such a sentence without audio.

#include "storage/backupformat.h"

#include <QString>

namespace tianyi {

struct BackupRequest {
    QString databasePath; // the live database
    QString audioRoot;    // <data_dir>/audio
    QString target;       // the backup directory to create
    bool force = false;   // replace an existing target
};

struct BackupReport {
    bool ok = false;
    QString error;
    backup::Contents contents;
    qint64 elapsedMs = 0;
    int steps = 0;            // sqlite3_backup_step calls
    int busyRetries = 0;
    qint64 longestStepMs = 0; // the longest single step (how long the copy held any SQLite lock at once)
};

class DatabaseBackup
{
public:
    static constexpr int kPagesPerStep = 256;
    static constexpr int kMaxBusyRetries = 200;
    static constexpr int kBusyBackoffMs = 25;
    // How long one statement on the live database waits for a lock before counting as busy.
    static constexpr int kBusyTimeoutMs = 2000;

    static BackupReport run(const BackupRequest &request);
};

} // namespace tianyi
