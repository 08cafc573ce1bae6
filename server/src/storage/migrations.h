#pragma once

#include <QString>
#include <QStringList>
#include <vector>

namespace tianyi {

class SqlSession;

// One numbered schema step. Steps are applied in order, each in its own transaction,
// and recorded in schema_version; a step is never edited once released: add a new one.
struct Migration {
    int version;
    QString name;
    QStringList statements;
    // Rebuilds tables that others reference (SQLite cannot alter a column in place): foreign keys
    // are switched off around the step, so dropping the old table neither cascades nor fails, and
    // checked before its commit.
    bool rebuildsTables = false;
};

const std::vector<Migration> &migrations();

// Applies pending migrations; throws DbError. Refuses a database newer than this build.
void runMigrations(SqlSession &session);

// The steps after knownVersion, as runMigrations applies them once it has read the version: each
// step is skipped if, under the write lock, schema_version already records it (another process
// applied it after our read). Exposed for that test.
void applyMigrationsAfter(SqlSession &session, int knownVersion);

int latestSchemaVersion();

// Why a database of schema version `found` (newer than this build) is refused, and what to do: it was
// written by a newer release, whose migrations this one cannot undo.
QString newerSchemaMessage(int found);

} // namespace tianyi
