#pragma once
// Maps (method, path pattern) to handlers. Patterns are literal segments and {name} captures.
// Unknown paths answer 404, known paths with another method 405 with an Allow header.

#include "net/httpmessage.h"
#include "net/responder.h"

#include <QStringList>
#include <functional>
#include <vector>

namespace tianyi {

class Router
{
public:
    using Handler = std::function<void(const HttpRequest &, Responder)>;

    void add(const QByteArray &method, const QString &pattern, Handler handler);
    void dispatch(HttpRequest request, const Responder &responder) const;

    // Fallback for GET paths no route matched (static files of the web client). Returns false to 404.
    void setFallback(std::function<bool(const HttpRequest &, const Responder &)> fallback) { m_fallback = std::move(fallback); }

private:
    struct Route {
        QByteArray method;
        QString pattern;
        QStringList segments;
        Handler handler;
    };
    static bool match(const Route &route, const QStringList &pathSegments, QHash<QString, QString> *params);

    std::vector<Route> m_routes;
    std::function<bool(const HttpRequest &, const Responder &)> m_fallback;
};

} // namespace tianyi
