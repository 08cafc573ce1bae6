#pragma once
// Serves the web client's files from a Qt resource folder (resources/web -> ":/web") as the router's
// GET fallback: "/" is index.html, "/app.js" is ":/web/app.js". Only plain file names below that
// folder are served (no "..", no hidden files, no directories); anything else falls through to 404.

#include <QByteArray>
#include <QString>

namespace tianyi {

class Router;

// Content-Type for a file name by its extension ("application/octet-stream" when unknown).
QByteArray staticContentType(const QString &fileName);

// The resource path a request path maps to, or an empty string when it must not be served.
QString staticResourcePath(const QString &root, const QString &requestPath);

void registerStaticFiles(Router &router, const QString &root = QStringLiteral(":/web"));

} // namespace tianyi
