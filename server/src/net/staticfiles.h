#pragma once
// Serves the web client's files from a Qt resource folder (resources/web -> ":/web") as the router's
// GET fallback: "/" is index.html, "/app.js" is ":/web/app.js". Only plain file names below that
// folder are served (no "..", no hidden files, no directories); anything else falls through to 404.
// Optionally also a directory on disk under a URL prefix (the Live2D model: web.live2d_dir at
// /live2d/), with the same name rules, read on the worker pool (model textures are megabytes).

#include "base/servablepath.h"

#include <QByteArray>
#include <QString>

namespace tianyi {

class Router;
class WorkerPool;

struct StaticDiskMount {
    QString urlPrefix;          // e.g. "/live2d"
    QString dir;                // absolute, cleaned
    WorkerPool *workers = nullptr;
    // Access-Control-Allow-Origin: * on these files, for clients served from elsewhere that load the
    // model (an Open-LLM-VTuber page or desktop pet). Public files fetched without credentials: the
    // header lets other origins read what any GET already returns, nothing more.
    bool anyOrigin = false;
    static constexpr qint64 kMaxFileBytes = qint64(64) << 20; // larger files are not served (404)
};

// Content-Type for a file name by its extension ("application/octet-stream" when unknown).
QByteArray staticContentType(const QString &fileName);

void registerStaticFiles(Router &router, const QString &root = QStringLiteral(":/web"), const StaticDiskMount &disk = {});

} // namespace tianyi
