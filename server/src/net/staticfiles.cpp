#include "net/staticfiles.h"

#include "core/workerpool.h"
#include "net/router.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStringList>

namespace tianyi {

QByteArray staticContentType(const QString &fileName)
{
    const QString ext = QFileInfo(fileName).suffix().toLower();
    if (ext == QLatin1String("html"))
        return "text/html; charset=utf-8";
    if (ext == QLatin1String("js") || ext == QLatin1String("mjs"))
        return "text/javascript; charset=utf-8";
    if (ext == QLatin1String("css"))
        return "text/css; charset=utf-8";
    if (ext == QLatin1String("json"))
        return "application/json";
    if (ext == QLatin1String("svg"))
        return "image/svg+xml";
    if (ext == QLatin1String("png"))
        return "image/png";
    if (ext == QLatin1String("ico"))
        return "image/x-icon";
    if (ext == QLatin1String("wav"))
        return "audio/wav";
    if (ext == QLatin1String("txt") || ext == QLatin1String("md"))
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

namespace {

// A file of the disk mount, read on the worker pool; 404 when missing or too large, 503 when the pool is full.
bool serveFromDisk(const StaticDiskMount &disk, const HttpRequest &request, const Responder &responder)
{
    const QString path = staticResourcePath(disk.dir, request.path.mid(disk.urlPrefix.size()));
    if (path.isEmpty() || request.path.size() <= disk.urlPrefix.size() + 1)
        return false;
    const bool queued = disk.workers->run<std::optional<QByteArray>>(
        disk.workers,
        [path]() -> std::optional<QByteArray> {
            QFile file(path);
            if (!QFileInfo(path).isFile() || file.size() > StaticDiskMount::kMaxFileBytes || !file.open(QIODevice::ReadOnly))
                return std::nullopt;
            return file.readAll();
        },
        [responder, path](std::optional<QByteArray> bytes) {
            if (!bytes)
                responder.send(HttpResponse::error(404, QStringLiteral("not_found"), QStringLiteral("no such file")));
            else
                responder.send(HttpResponse::text(200, *bytes, staticContentType(path)));
        });
    if (!queued)
        responder.send(HttpResponse::error(503, QStringLiteral("busy"), QStringLiteral("the server is busy, try again")));
    return true;
}

} // namespace

void registerStaticFiles(Router &router, const QString &root, const StaticDiskMount &disk)
{
    router.setFallback([root, disk](const HttpRequest &request, const Responder &responder) {
        if (disk.workers && !disk.dir.isEmpty() && request.path.startsWith(disk.urlPrefix + QLatin1Char('/')))
            return serveFromDisk(disk, request, responder);
        const QString path = staticResourcePath(root, request.path);
        if (path.isEmpty() || !QFileInfo(path).isFile())
            return false;
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return false;
        responder.send(HttpResponse::text(200, file.readAll(), staticContentType(path)));
        return true;
    });
}

} // namespace tianyi
