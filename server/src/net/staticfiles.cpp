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

// The web client's page may only run, style, fetch and connect to what this server serves: an
// injected <script> or a script from elsewhere does not run, and no other site may frame the page
// (clickjacking). data: is the page's empty favicon, blob: what the avatar's renderer may create.
// With the Live2D mount, pixi.js 6 compiles its shader uniform code with new Function and
// Cubism Core may compile WebAssembly: the scripts (still only our own) need those two.
QByteArray contentSecurityPolicy(bool live2d)
{
    return QByteArray("default-src 'self'; script-src 'self'") + (live2d ? " 'unsafe-eval' 'wasm-unsafe-eval'" : "")
         + "; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; "
           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

HttpResponse staticResponse(const QByteArray &bytes, const QString &path, const QByteArray &csp)
{
    return HttpResponse::text(200, bytes, staticContentType(path))
        .withHeader("Content-Security-Policy", csp)
        .withHeader("X-Frame-Options", "DENY");
}

// A file of the disk mount, read on the worker pool; 404 when missing or too large, 503 when the pool is full.
bool serveFromDisk(const StaticDiskMount &disk, const HttpRequest &request, const Responder &responder, const QByteArray &csp)
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
        [responder, path, csp, anyOrigin = disk.anyOrigin](std::optional<QByteArray> bytes) {
            if (!bytes)
                responder.send(HttpResponse::error(404, QStringLiteral("not_found"), QStringLiteral("no such file")));
            else if (anyOrigin)
                responder.send(staticResponse(*bytes, path, csp).withHeader("Access-Control-Allow-Origin", "*"));
            else
                responder.send(staticResponse(*bytes, path, csp));
        });
    if (!queued)
        responder.send(HttpResponse::error(503, QStringLiteral("busy"), QStringLiteral("the server is busy, try again")));
    return true;
}

} // namespace

void registerStaticFiles(Router &router, const QString &root, const StaticDiskMount &disk)
{
    const bool diskMounted = disk.workers && !disk.dir.isEmpty();
    const QByteArray csp = contentSecurityPolicy(diskMounted);
    router.setFallback([root, disk, diskMounted, csp](const HttpRequest &request, const Responder &responder) {
        if (diskMounted && request.path.startsWith(disk.urlPrefix + QLatin1Char('/')))
            return serveFromDisk(disk, request, responder, csp);
        const QString path = staticResourcePath(root, request.path);
        if (path.isEmpty() || !QFileInfo(path).isFile())
            return false;
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return false;
        responder.send(staticResponse(file.readAll(), path, csp));
        return true;
    });
}

} // namespace tianyi
