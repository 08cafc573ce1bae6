#pragma once
// tianyi-server --restore: puts a backup (backupformat.h) in place of a data directory's database
// and audio, with the server stopped.
//
// "Stopped" is asked of SQLite itself rather than of a pid or lock file we would have to keep true:
// a connection in WAL mode holds a shared lock on the database file for as long as it is open, so
// switching the file out of WAL mode (PRAGMA journal_mode=DELETE, which needs every other connection
// gone) fails at once while any server, or any other process, has it open. The switch also folds the
// WAL into the file, so the database kept aside is one complete file. From then until it is renamed
// aside the restore holds an exclusive lock, so a server started meanwhile waits and then fails
// instead of opening the old file.
//
// Order: (1) copy the backup's database into the live database's folder as a temporary file and
// validate that copy (SQLite header, integrity_check, a tianyi schema not newer than this build);
// (2) copy the backup's audio to a temporary directory — until here nothing live has changed, and a
// refusal leaves the data directory byte for byte as it was; (3) check and lock the live database;
// (4) rename it to <name>.before-restore-<UTC stamp> and the live audio directory to
// audio.before-restore-<stamp>; (5) rename the temporaries into place and fsync the directories. Nothing is deleted: the operator
// removes what was kept aside once the restored server is fine. The JWT secret and the
// configuration are not touched: tokens issued before stay valid if the server still knows them.

#include "storage/backupformat.h"

#include <QString>

namespace tianyi {

struct RestoreRequest {
    QString databasePath; // the live database (config.sqlitePath())
    QString audioRoot;    // <data_dir>/audio
    QString source;       // a backup directory, or a bare SQLite database file
};

struct RestoreReport {
    bool ok = false;
    QString error;
    backup::Contents contents;
    QString keptDatabase; // where the replaced database went ('' when there was none)
    QString keptAudio;    // where the replaced audio went ('' when none, or the audio was left alone)
    bool audioRestored = false;
};

class DatabaseRestore
{
public:
    static constexpr int kBusyTimeoutMs = 2000;

    static RestoreReport run(const RestoreRequest &request);
};

} // namespace tianyi
