#include "net/router.h"

namespace tianyi {

void Router::add(const QByteArray &method, const QString &pattern, Handler handler)
{
    m_routes.push_back({method, pattern, pattern.split(QLatin1Char('/'), Qt::SkipEmptyParts), std::move(handler)});
}

bool Router::match(const Route &route, const QStringList &pathSegments, QHash<QString, QString> *params)
{
    if (route.segments.size() != pathSegments.size())
        return false;
    QHash<QString, QString> captured;
    for (int i = 0; i < pathSegments.size(); ++i) {
        const QString &seg = route.segments[i];
        if (seg.startsWith(QLatin1Char('{')) && seg.endsWith(QLatin1Char('}')))
            captured.insert(seg.mid(1, seg.size() - 2), pathSegments[i]);
        else if (seg != pathSegments[i])
            return false;
    }
    if (params)
        *params = captured;
    return true;
}

void Router::dispatch(HttpRequest request, const Responder &responder) const
{
    const QStringList segments = request.path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
    QByteArrayList allowed;
    for (const Route &route : m_routes) {
        QHash<QString, QString> params;
        if (!match(route, segments, &params))
            continue;
        if (route.method != request.method) {
            if (!allowed.contains(route.method))
                allowed << route.method;
            continue;
        }
        request.pathParams = params;
        request.routePattern = route.pattern;
        responder.setRoute(route.pattern);
        route.handler(request, responder);
        return;
    }
    if (!allowed.isEmpty()) {
        responder.setRoute(QStringLiteral("method_not_allowed"));
        responder.send(HttpResponse::error(405, QStringLiteral("method_not_allowed"),
                                           QStringLiteral("%1 is not allowed on %2; allowed: %3")
                                               .arg(QString::fromLatin1(request.method), request.path, QString::fromLatin1(allowed.join(", "))))
                           .withHeader("Allow", allowed.join(", ")));
        return;
    }
    if (request.method == "GET" && m_fallback) {
        responder.setRoute(QStringLiteral("static"));
        if (m_fallback(request, responder))
            return;
    }
    responder.setRoute(QStringLiteral("not_found"));
    responder.send(HttpResponse::error(404, QStringLiteral("not_found"), QStringLiteral("no such resource: %1").arg(request.path)));
}

} // namespace tianyi
