#pragma once
// Deleting one conversation of a user's history: the turns stored under one session id
// (turns.session_id) with their sentence rows and kept audio files. Used by
// DELETE /api/v1/me/history/conversations/{session_id} and by the Open-LLM-VTuber wire's
// delete-history. Event-loop thread only.
//
// What happens, in this order:
// 1. On the storage thread, in one write transaction per pass of at most kMaxTurnsPerPass turns:
//    refuse (InProgress, nothing deleted) when a turn of that session is still pending or a background
//    job of the user is running (it may have read the turns already and would write their text back,
//    e.g. a rolling summary); otherwise delete the finished turns and their sentence rows, and drop
//    the user's rolling summary if it folded any deleted turn (the next fold starts again from what
//    is left). A conversation longer than one pass takes several; each is its own transaction.
// 2. Right after posting each pass, the user's prompt context is announced changed, so no later
//    turn's prompt holds the deleted text (see PromptContextCache's ordering rule).
// 3. The audio files of the deleted sentences are removed on the worker pool; done runs after that.
// Pending outbox jobs naming a deleted turn stay: the memory extractor finds no turn and finishes
// quietly. Memories extracted earlier stay (the memories page deletes them).

#include "net/httperror.h"

#include <QPointer>
#include <QString>
#include <functional>
#include <optional>

namespace tianyi {

class AudioStore;
class Database;
class PromptContextCache;
class SqlSession;

struct ConversationDeletion {
    enum class Status {
        Deleted,      // turnsDeleted > 0
        NotFound,     // the user has no finished turn with that session id (also: another user's id)
        InProgress,   // a turn of it or a background job of the user is running: nothing deleted, try again
        Denied,       // the gate refused (denied holds why)
        StorageBusy,  // the storage queue was full: nothing deleted, try again
        StorageError, // a pass failed: turnsDeleted may already be > 0 (earlier passes)
    };
    Status status = Status::NotFound;
    int turnsDeleted = 0;
    std::optional<HttpError> denied;
};

class ConversationEraser
{
public:
    static constexpr int kMaxTurnsPerPass = 500;   // bounds one transaction (and its list of files)
    static constexpr int kMaxSessionIdLength = 128;

    // The account check of an HTTP route, run inside the first pass's transaction (no extra round trip).
    using Gate = std::function<std::optional<HttpError>(SqlSession &)>;
    using Done = std::function<void(const ConversationDeletion &)>;

    // audio may be null (no files are kept).
    ConversationEraser(Database &db, AudioStore *audio, PromptContextCache &contexts);

    // Session ids are what the server and clients generate: 1..kMaxSessionIdLength of [A-Za-z0-9._:-].
    static bool isValidSessionId(const QString &sessionId);

    // Deletes the user's conversation `sessionId`. done runs exactly once on the event loop, unless
    // context is destroyed first. An invalid session id answers NotFound without touching storage.
    void erase(qint64 userId, const QString &sessionId, QObject *context, Done done, Gate gate = {}) const;

private:
    Database &m_db;
    QPointer<AudioStore> m_audio;
    QPointer<PromptContextCache> m_contexts;
};

} // namespace tianyi
