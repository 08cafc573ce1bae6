#pragma once
// Conversation turns and their synthesized sentences. All functions run on the storage thread
// (inside Database::read/write work) and throw DbError on failure. Every query is scoped by user_id:
// no function returns another user's rows.

#include <QJsonObject>
#include <optional>
#include <QString>
#include <QStringList>
#include <QVector>

namespace tianyi {

class SqlSession;

struct SentenceAudio {
    int index = 0;
    QString text;
    QString emotion;
    QString relativePath;  // under <data_dir>/audio; empty once removed by retention
    int durationMs = 0;
    qint64 bytes = 0;
    qint64 createdAtMs = 0;  // when the audio was stored (retention by age); 0 on insert = now
};

// A file released by retention: its row keeps text and duration, relative_path is now empty.
struct ReleasedAudio {
    qint64 userId = 0;
    qint64 turnId = 0;
    int index = 0;
    QString relativePath;
    qint64 bytes = 0;
};

struct RetentionPass {
    QVector<ReleasedAudio> released;  // delete these files (their rows no longer point at them)
    int byAge = 0;                    // of which older than max_days
    int byBytes = 0;                  // of which removed to get under max_bytes
    qint64 bytesKept = 0;             // sum of bytes of the rows that still have a file
    bool more = false;                // the pass hit its row cap: run another one
};

// One pass of deleting a conversation (the turns of one session id) of one user.
struct SessionDeletion {
    bool running = false;           // a turn of the session is still pending: nothing was deleted
    int turns = 0;                  // turns deleted (their sentence rows went with them)
    qint64 lowestTurnId = 0;        // the oldest deleted turn (0: none)
    QVector<ReleasedAudio> audio;   // files of the deleted sentences: delete them
    bool more = false;              // the pass hit its turn cap: run another one
};

struct StoredTurn {
    qint64 id = 0;
    qint64 userId = 0;
    QString sessionId;
    int turnNo = 0;                // the per-session number clients see
    QString userText;
    QString replyText;             // completed: the whole reply; interrupted: only what was heard
    QString status;                // pending | completed | interrupted | failed
    QString emotion;               // the last emotion of the reply
    QJsonObject stats;             // turn_end stats
    qint64 createdAtMs = 0;
    qint64 completedAtMs = 0;
    QVector<SentenceAudio> sentences;
};

namespace TurnRepository {

// Stores the user's text as a pending turn; returns its id.
qint64 insertPending(SqlSession &s, qint64 userId, const QString &sessionId, int turnNo, const QString &userText, qint64 nowMs);
// Finishes a turn: reply text (already cut to what was heard), status, last emotion, stats.
void finish(SqlSession &s, qint64 turnId, qint64 userId, const QString &replyText, const QString &status, const QString &emotion,
            const QJsonObject &stats, qint64 nowMs);
void addSentenceAudio(SqlSession &s, qint64 turnId, qint64 userId, const SentenceAudio &audio);
// The user's last `limit` finished turns (completed or interrupted), oldest first: the prompt's history.
QVector<StoredTurn> recentForPrompt(SqlSession &s, qint64 userId, int limit);
// Newest first, ids below beforeId (0 = from the newest), with sentences (ascending index).
// Pending turns (still running) are left out unless includePending.
QVector<StoredTurn> history(SqlSession &s, qint64 userId, qint64 beforeId, int limit, bool includePending = false);
// One sentence's audio of the user's turn, or nothing (not theirs, not found, or removed).
std::optional<SentenceAudio> sentenceAudio(SqlSession &s, qint64 userId, qint64 turnId, int sentenceIndex);
// One turn of the user with its sentences, or nothing.
std::optional<StoredTurn> turn(SqlSession &s, qint64 userId, qint64 turnId);

// Deletes the user's finished turns of one session id (oldest first, at most maxTurns of them) and
// their sentence rows. With refuseRunning, a pending turn of that session means nothing is deleted
// (running = true). Another user's session id deletes nothing.
SessionDeletion deleteSession(SqlSession &s, qint64 userId, const QString &sessionId, int maxTurns, bool refuseRunning);

// ---- maintenance (not scoped by user: startup and retention only) ----
// Turns left pending by a crash become failed (completed_at = nowMs). Returns how many.
int failPending(SqlSession &s, qint64 nowMs);
// Total bytes of the audio rows that still have a file.
qint64 audioBytesKept(SqlSession &s);
// Releases (clears relative_path of) audio created before olderThanMs (0 = no age limit), then the
// oldest remaining files while the total exceeds maxBytes. At most maxRows rows per pass.
RetentionPass releaseForRetention(SqlSession &s, qint64 olderThanMs, qint64 maxBytes, int maxRows = 5000);
// Every relative_path still recorded (the startup sweep of files no row knows).
QStringList keptAudioPaths(SqlSession &s);
// The user's audio directory is gone: no row of theirs points at a file any more.
void releaseUserAudio(SqlSession &s, qint64 userId);

} // namespace TurnRepository
} // namespace tianyi
