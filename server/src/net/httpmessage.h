#pragma once
// Plain values for one HTTP request and its response. No I/O here.

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QUrlQuery>

namespace tianyi {

struct HttpRequest {
    QByteArray method;                       // upper case, e.g. "GET"
    QString path;                            // decoded path without query
    QUrlQuery query;
    QList<QPair<QByteArray, QByteArray>> headers; // names lower-cased, in order received
    QByteArray body;
    QHostAddress peer;                       // the TCP peer: a reverse proxy when there is one
    QHostAddress forwardedFor;               // the client a trusted proxy named (null otherwise)
    QString requestId;                       // correlation id of this request
    QHash<QString, QString> pathParams;      // filled by the router from {name} segments
    QString routePattern;                    // filled by the router, e.g. "/api/v1/me/profile"

    QByteArray header(const QByteArray &lowerName) const;
    // Who sent the request: the address to key per-client limits and throttles by. The client a
    // trusted proxy named (server.trusted_proxies), else the TCP peer. Never read `peer` for that.
    QHostAddress clientAddress() const { return forwardedFor.isNull() ? peer : forwardedFor; }
    // Number of header fields with this name (a request smuggled past a proxy repeats some).
    int headerCount(const QByteArray &lowerName) const;
    // The bearer token of the Authorization header, or empty.
    QByteArray bearerToken() const;
    // True when the Content-Type is JSON (application/json, +json).
    bool isJson() const;
    bool isForm() const;
};

struct HttpResponse {
    int status = 200;
    QByteArray contentType = "application/json";
    QByteArray body;
    QList<QPair<QByteArray, QByteArray>> headers;
    bool closeConnection = false;

    static HttpResponse json(int status, const QJsonObject &object);
    static HttpResponse json(int status, const QJsonDocument &document);
    // The single error shape of the API: {"error":{"code","message"}}.
    static HttpResponse error(int status, const QString &code, const QString &message);
    static HttpResponse text(int status, const QByteArray &body, const QByteArray &contentType = "text/plain; charset=utf-8");
    static HttpResponse noContent();

    HttpResponse &withHeader(const QByteArray &name, const QByteArray &value);
};

const char *httpReasonPhrase(int status);

} // namespace tianyi
