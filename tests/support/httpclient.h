#pragma once
// Blocking-looking helpers for tests: each runs the event loop until the reply arrives (or a
// generous timeout fails the test). The server under test runs on the same loop.

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QNetworkAccessManager>
#include <QPair>
#include <QString>
#include <QTcpSocket>

namespace tianyi::test {

struct HttpResult {
    int status = 0;                // 0 = no HTTP answer (connection error)
    QByteArray body;
    QList<QPair<QByteArray, QByteArray>> headers;
    QString networkError;

    QJsonObject json() const;
    QByteArray header(const QByteArray &name) const;
    QString errorCode() const;     // error.code of an error body
};

class HttpClient
{
public:
    explicit HttpClient(QString baseUrl) : m_baseUrl(std::move(baseUrl)) {}

    HttpResult request(const QByteArray &method, const QString &path, const QByteArray &body = {},
                       const QList<QPair<QByteArray, QByteArray>> &headers = {}, int timeoutMs = 30000);
    HttpResult get(const QString &path, const QByteArray &bearer = {});
    HttpResult postJson(const QString &path, const QJsonObject &body, const QByteArray &bearer = {});
    HttpResult putJson(const QString &path, const QJsonObject &body, const QByteArray &bearer = {});

private:
    QString m_baseUrl;
    QNetworkAccessManager m_nam;
};

// Sends raw bytes on a fresh TCP connection and collects everything until the server closes
// (or timeoutMs passes: then closedByServer is false).
struct RawExchange {
    QByteArray received;
    bool closedByServer = false;
    int status() const; // status code of the first response line, 0 if none
};
RawExchange rawExchange(quint16 port, const QByteArray &bytes, int timeoutMs = 10000);

} // namespace tianyi::test
