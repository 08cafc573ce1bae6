#pragma once
// HTTP handlers of the user's own history (Bearer auth as the account routes):
//   GET /api/v1/me/history?before=ID&limit=N   turns newest first (completed, interrupted, failed)
//   GET /api/v1/me/audio/{turn_id}/{sentence}.wav   replay of a kept sentence (audio/wav)
//   DELETE /api/v1/me/history/conversations/{session_id}   the turns of one session id (ConversationEraser)
// Anything that is not the caller's answers 404 not_found, never 403.

#include <QJsonObject>
#include <functional>

namespace tianyi {

struct StoredTurn;
class AccountService;
class AudioStore;
class Database;
class PromptContextCache;
class Router;

void registerHistoryRoutes(Router &router, AccountService &accounts, Database &db, AudioStore &audio, PromptContextCache &contexts);

// The JSON of one stored turn with its sentences; audioUrl names a kept sentence's replay URL
// (owners and admins reach the same file by different routes).
QJsonObject turnToJson(const StoredTurn &turn, const std::function<QString(qint64 turnId, int sentence)> &audioUrl);

} // namespace tianyi
