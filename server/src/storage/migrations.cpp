#include "storage/migrations.h"

#include "base/logging.h"
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
        {3, QStringLiteral("knowledge"),
         {
             // The shared knowledge graph (knowledge/knowledgeimporter.h): the same for every user.
             QStringLiteral("CREATE TABLE kg_entities ("
                            " id TEXT PRIMARY KEY,"
                            " name TEXT NOT NULL,"
                            " type TEXT NOT NULL,"
                            " summary TEXT NOT NULL DEFAULT '',"
                            " properties TEXT NOT NULL DEFAULT '{}',"  // JSON object
                            " source TEXT NOT NULL DEFAULT '')"),     // where the fact comes from
             QStringLiteral("CREATE TABLE kg_aliases ("
                            " alias_key TEXT PRIMARY KEY,"              // NFKC + case-folded alias
                            " entity_id TEXT NOT NULL REFERENCES kg_entities(id) ON DELETE CASCADE,"
                            " alias TEXT NOT NULL)"),
             QStringLiteral("CREATE INDEX kg_aliases_entity ON kg_aliases(entity_id)"),
             QStringLiteral("CREATE TABLE kg_relations ("
                            " id TEXT PRIMARY KEY,"
                            " source_id TEXT NOT NULL REFERENCES kg_entities(id) ON DELETE CASCADE,"
                            " target_id TEXT NOT NULL REFERENCES kg_entities(id) ON DELETE CASCADE,"
                            " type TEXT NOT NULL,"
                            " properties TEXT NOT NULL DEFAULT '{}',"
                            " weight REAL NOT NULL DEFAULT 1.0,"
                            " source TEXT NOT NULL DEFAULT '')"),
             QStringLiteral("CREATE INDEX kg_relations_source ON kg_relations(source_id)"),
             QStringLiteral("CREATE INDEX kg_relations_target ON kg_relations(target_id)"),
             QStringLiteral("CREATE TABLE kg_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"), // e.g. the bundled graph's version
         }},
        {4, QStringLiteral("outbox_memories"),
         {
             // Reliable background jobs (outbox/outbox.h), written in the transaction of their cause.
             QStringLiteral("CREATE TABLE outbox ("
                            " id INTEGER PRIMARY KEY,"
                            " kind TEXT NOT NULL,"
                            " user_id INTEGER NOT NULL DEFAULT 0,"  // no foreign key: account deletion removes them explicitly
                            " payload TEXT NOT NULL DEFAULT '{}',"  // JSON object
                            " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','dead')),"
                            " attempts INTEGER NOT NULL DEFAULT 0,"
                            " next_attempt_at INTEGER NOT NULL,"
                            " last_error TEXT NOT NULL DEFAULT '',"
                            " created_at INTEGER NOT NULL,"
                            " updated_at INTEGER NOT NULL)"),
             QStringLiteral("CREATE INDEX outbox_due ON outbox(status, next_attempt_at)"),
             QStringLiteral("CREATE INDEX outbox_user ON outbox(user_id)"),
             // Long-term memories of each user (memory/memoryrepository.h).
             QStringLiteral("CREATE TABLE memories ("
                            " id INTEGER PRIMARY KEY,"
                            " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
                            " text TEXT NOT NULL,"
                            " kind TEXT NOT NULL DEFAULT 'fact',"
                            " importance REAL NOT NULL DEFAULT 0.5,"
                            " created_at INTEGER NOT NULL,"
                            " last_used_at INTEGER NOT NULL DEFAULT 0,"
                            " embedding BLOB,"                      // float32 little-endian, L2-normalized
                            " embedding_model TEXT NOT NULL DEFAULT '',"
                            " dimensions INTEGER NOT NULL DEFAULT 0)"),
             QStringLiteral("CREATE INDEX memories_user ON memories(user_id)"),
             // The rolling summary of each user's older turns (memory/summarycompressor.h).
             QStringLiteral("CREATE TABLE summaries ("
                            " user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
                            " text TEXT NOT NULL,"
                            " last_turn_id INTEGER NOT NULL,"  // turns up to this id are folded into text
                            " updated_at INTEGER NOT NULL)"),
         }},
        {5, QStringLiteral("account_generations"),
         {
             // AUTOINCREMENT: a deleted account's id is never given to a new one, so nothing that
             // names the old id (an access token's sub, a log line) can ever name someone else.
             // token_version: the generation of the account's access tokens; bumping it ends them all.
             QStringLiteral("CREATE TABLE users_new ("
                            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                            " username TEXT NOT NULL,"
                            " username_key TEXT NOT NULL UNIQUE,"
                            " password_hash TEXT NOT NULL,"
                            " role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user','admin')),"
                            " disabled INTEGER NOT NULL DEFAULT 0,"
                            " created_at INTEGER NOT NULL,"
                            " token_version INTEGER NOT NULL DEFAULT 0)"),
             QStringLiteral("INSERT INTO users_new(id, username, username_key, password_hash, role, disabled, created_at)"
                            " SELECT id, username, username_key, password_hash, role, disabled, created_at FROM users"),
             QStringLiteral("DROP TABLE users"),
             // The other tables' REFERENCES users(id) now name the rebuilt table.
             QStringLiteral("ALTER TABLE users_new RENAME TO users"),
             // The global pass that prunes dead refresh tokens of users who never log in again.
             QStringLiteral("CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at)"),
         },
         true},
        {6, QStringLiteral("device_logins"),
         {
             // Logins of long-lived device tokens (auth/devicetokens.h). A table of their own rather than a
             // kind column on refresh_tokens: a device login has no refresh token to rotate, and every
             // refresh-token rule (rotation, reuse detection, the per-user family cap that drops the least
             // recently used login, the dead-row sweeps) would otherwise need an exception for it.
             // Only the id the token names is stored, never the token.
             QStringLiteral("CREATE TABLE device_logins ("
                            " id TEXT PRIMARY KEY,"                 // the login id (claim sid)
                            " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
                            " name TEXT NOT NULL,"
                            " token_version INTEGER NOT NULL,"      // the account's generation at issue: a bump ends it
                            " created_at INTEGER NOT NULL,"
                            " expires_at INTEGER NOT NULL,"
                            " last_used_at INTEGER,"
                            " revoked_at INTEGER)"),
             QStringLiteral("CREATE INDEX device_logins_user ON device_logins(user_id)"),
             // When a browser login began, carried across refresh-token rotations (the older rows of a
             // family are pruned, so their own created_at cannot say it). NULL in rows written before.
             QStringLiteral("ALTER TABLE refresh_tokens ADD COLUMN login_created_at INTEGER"),
         }},
    };
    return list;
}

int latestSchemaVersion()
{
    return migrations().back().version;
}

QString newerSchemaMessage(int found)
{
    return QStringLiteral("the database has schema version %1, but this tianyi-server (%2) knows schema versions up to %3: "
                          "it was written by a newer tianyi release, and an older one cannot undo its changes. "
                          "Nothing was changed. Run the newer release again, or restore a backup taken before the upgrade "
                          "(tianyi-server --restore FILE) with this one.")
        .arg(found)
        .arg(QStringLiteral(TIANYI_VERSION))
        .arg(latestSchemaVersion());
}

void runMigrations(SqlSession &session)
{
    session.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version ("
                                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
    const int current = session.scalar(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM schema_version"))->toInt();
    if (current > latestSchemaVersion())
        throw DbError(newerSchemaMessage(current).toStdString());
    applyMigrationsAfter(session, current);
}

void applyMigrationsAfter(SqlSession &session, int knownVersion)
{
    for (const Migration &m : migrations()) {
        if (m.version <= knownVersion)
            continue;
        // PRAGMA foreign_keys is a no-op inside a transaction: it must change before BEGIN.
        if (m.rebuildsTables)
            session.exec(QStringLiteral("PRAGMA foreign_keys=OFF"));
        session.exec(QStringLiteral("BEGIN IMMEDIATE"));
        try {
            // Another process (a second server started on the same file at the same moment) may have
            // applied this step since we read the version: the write lock is ours now, so look again.
            if (session.scalar(QStringLiteral("SELECT COUNT(*) FROM schema_version WHERE version = ?"), {m.version})->toInt() > 0) {
                session.exec(QStringLiteral("COMMIT"));
                if (m.rebuildsTables)
                    session.exec(QStringLiteral("PRAGMA foreign_keys=ON"));
                continue;
            }
            for (const QString &sql : m.statements)
                session.exec(sql);
            if (m.rebuildsTables && session.exec(QStringLiteral("PRAGMA foreign_key_check")).next())
                throw DbError(QStringLiteral("migration %1 left rows whose foreign keys point nowhere").arg(m.version).toStdString());
            session.exec(QStringLiteral("INSERT INTO schema_version(version, name, applied_at) VALUES (?, ?, ?)"),
                         {m.version, m.name, QDateTime::currentMSecsSinceEpoch()});
            session.exec(QStringLiteral("COMMIT"));
        } catch (...) {
            session.exec(QStringLiteral("ROLLBACK"));
            if (m.rebuildsTables)
                session.exec(QStringLiteral("PRAGMA foreign_keys=ON"));
            throw;
        }
        if (m.rebuildsTables)
            session.exec(QStringLiteral("PRAGMA foreign_keys=ON"));
        qCInfo(lcDb) << "applied migration" << m.version << m.name;
    }
}

} // namespace tianyi
