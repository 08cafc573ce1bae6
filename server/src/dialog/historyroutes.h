#pragma once
// HTTP handlers of the user's own history (Bearer auth as the account routes):
//   GET /api/v1/me/history?before=ID&limit=N   turns newest first (completed, interrupted, failed)
//   GET /api/v1/me/audio/{turn_id}/{sentence}.wav   replay of a kept sentence (audio/wav)
// Anything that is not the caller's answers 404 not_found, never 403.

namespace tianyi {

class AccountService;
class AudioStore;
class Database;
class Router;

void registerHistoryRoutes(Router &router, AccountService &accounts, Database &db, AudioStore &audio);

} // namespace tianyi
