#include "storage/migrations.h"

#include "app/logging.h"
#include "storage/database.h"

#include <QDateTime>

namespace tianyi {

const std::vector<Migration> &migrations()
{
    static const std::vector<Migration> list = {
        {1, QStringLiteral("accounts"),
         {
             QStringLiteral("CREATE TABLE users ("
                            " id INTEGER PRIMARY KEY,"
                            " username TEXT NOT NULL,"
                            " username_key TEXT NOT NULL UNIQUE," // case-folded: uniqueness ignores case
                            " password_hash TEXT NOT NULL,"
                            " role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user','admin')),"
                            " disabled INTEGER NOT NULL DEFAULT 0,"
                            " created_at INTEGER NOT NULL)"),
             QStringLiteral("CREATE TABLE profiles ("
                            " user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
                            " nickname TEXT NOT NULL DEFAULT '',"
                            " description TEXT NOT NULL DEFAULT '',"
                            " avatar_url TEXT NOT NULL DEFAULT '',"
                            " preferences TEXT NOT NULL DEFAULT '{}',"
                            " updated_at INTEGER NOT NULL)"),
             QStringLiteral("CREATE TABLE refresh_tokens ("
                            " id INTEGER PRIMARY KEY,"
                            " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
                            " family_id TEXT NOT NULL,"
                            " token_hash BLOB NOT NULL UNIQUE," // SHA-256 of the token; the token itself is never stored
                            " created_at INTEGER NOT NULL,"
                            " expires_at INTEGER NOT NULL,"
                            " rotated_at INTEGER,"
                            " revoked_at INTEGER)"),
             QStringLiteral("CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id)"),
             QStringLiteral("CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id)"),
         }},
    };
    return list;
}

int latestSchemaVersion()
{
    return migrations().back().version;
}

void runMigrations(SqlSession &session)
{
    session.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version ("
                                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
    const int current = session.scalar(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM schema_version"))->toInt();
    if (current > latestSchemaVersion())
        throw DbError(QStringLiteral("database schema version %1 is newer than this server (%2); refusing to run")
                          .arg(current).arg(latestSchemaVersion()).toStdString());
    for (const Migration &m : migrations()) {
        if (m.version <= current)
            continue;
        session.exec(QStringLiteral("BEGIN IMMEDIATE"));
        try {
            for (const QString &sql : m.statements)
                session.exec(sql);
            session.exec(QStringLiteral("INSERT INTO schema_version(version, name, applied_at) VALUES (?, ?, ?)"),
                         {m.version, m.name, QDateTime::currentMSecsSinceEpoch()});
            session.exec(QStringLiteral("COMMIT"));
        } catch (...) {
            session.exec(QStringLiteral("ROLLBACK"));
            throw;
        }
        qCInfo(lcDb) << "applied migration" << m.version << m.name;
    }
}

} // namespace tianyi
