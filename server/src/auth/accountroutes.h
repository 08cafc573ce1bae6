#pragma once
// HTTP handlers of the account endpoints: parse and check the request shape, call the
// AccountService, and turn its Outcome into a response (errors via HttpError::toResponse).
//   POST /api/v1/auth/register, POST /api/v1/auth/token, POST /api/v1/auth/logout,
//   GET and PUT /api/v1/me/profile, GET /api/v1/me/logins, DELETE /api/v1/me/logins/{id},
//   POST /api/v1/me/device-tokens

namespace tianyi {

class AccountService;
class Router;

void registerAccountRoutes(Router &router, AccountService &accounts);

} // namespace tianyi
