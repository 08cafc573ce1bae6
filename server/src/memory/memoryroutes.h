#pragma once
// GET /api/v1/me/memories, DELETE /api/v1/me/memories/{id}, DELETE /api/v1/me (account deletion).

namespace tianyi {

class AccountService;
class MemoryService;
class Router;

void registerMemoryRoutes(Router &router, AccountService &accounts, MemoryService &memory);

} // namespace tianyi
