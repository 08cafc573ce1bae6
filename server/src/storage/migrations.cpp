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
        {2, QStringLiteral("turns"),
         {
             QStringLiteral("CREATE TABLE turns ("
                            " id INTEGER PRIMARY KEY,"
                            " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
                            " session_id TEXT NOT NULL,"
                            " turn_no INTEGER NOT NULL,"      // the per-session number clients see
                            " user_text TEXT NOT NULL,"
                            " reply_text TEXT NOT NULL DEFAULT '',"  // interrupted: only what was heard
                            " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','completed','interrupted','failed')),"
                            " emotion TEXT NOT NULL DEFAULT '',"
                            " stats TEXT NOT NULL DEFAULT '{}',"     // turn_end stats, a JSON object
                            " created_at INTEGER NOT NULL,"
                            " completed_at INTEGER)"),
             QStringLiteral("CREATE INDEX turns_user ON turns(user_id, id)"),
             QStringLiteral("CREATE INDEX turns_pending ON turns(status) WHERE status = 'pending'"),
             QStringLiteral("CREATE TABLE turn_audio ("
                            " turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,"
                            " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
                            " sentence_index INTEGER NOT NULL,"
                            " text TEXT NOT NULL,"
                            " emotion TEXT NOT NULL DEFAULT '',"
                            " relative_path TEXT NOT NULL DEFAULT '',"  // under <data_dir>/audio; '' once removed
                            " duration_ms INTEGER NOT NULL DEFAULT 0,"
                            " bytes INTEGER NOT NULL DEFAULT 0,"
                            " created_at INTEGER NOT NULL,"
                            " PRIMARY KEY (turn_id, sentence_index))"),
             QStringLiteral("CREATE INDEX turn_audio_created ON turn_audio(created_at)"),
             QStringLiteral("CREATE INDEX turn_audio_user ON turn_audio(user_id, turn_id)"),
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
