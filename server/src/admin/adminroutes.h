#pragma once
// The admin HTTP API under /api/v1/admin/ (docs/protocol.md "Admin"). Every route: 401 without a
// valid access token, 403 forbidden for a valid non-admin one (the stored role decides).

#include <QString>
#include <QStringList>

namespace tianyi {

class AdminService;
class Router;

void registerAdminRoutes(Router &router, AdminService &admin);

// "METHOD /path" of every admin route, with sample path parameters (tests walk them all).
QStringList adminRouteSamples();

} // namespace tianyi
