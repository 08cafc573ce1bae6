#include "httpclient.h"

#include <QElapsedTimer>
#include <QJsonValue>
#include <QEventLoop>
#include <QJsonDocument>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QTimer>

namespace tianyi::test {

QJsonObject HttpResult::json() const
{
    return QJsonDocument::fromJson(body).object();
}

QByteArray HttpResult::header(const QByteArray &name) const
{
    for (const auto &h : headers)
        if (h.first.toLower() == name.toLower())
            return h.second;
    return {};
}

QString HttpResult::errorCode() const
{
    const QJsonValue error = json().value(QStringLiteral("error"));
    // The token endpoint answers as RFC 6749 5.2 says: {"error":"invalid_grant","error_description":...}.
    if (error.isString())
        return error.toString();
    return error.toObject().value(QStringLiteral("code")).toString();
}

HttpResult HttpClient::request(const QByteArray &method, const QString &path, const QByteArray &body,
                               const QList<QPair<QByteArray, QByteArray>> &headers, int timeoutMs)
{
    QNetworkRequest req(QUrl(m_baseUrl + path));
    for (const auto &h : headers)
        req.setRawHeader(h.first, h.second);
    QNetworkReply *reply = m_nam.sendCustomRequest(req, method, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    if (!reply->isFinished())
        loop.exec();
    HttpResult result;
    if (!reply->isFinished()) {
        reply->abort();
        result.networkError = QStringLiteral("timeout");
    }
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    result.body = reply->readAll();
    for (const auto &pair : reply->rawHeaderPairs())
        result.headers.append(pair);
    if (reply->error() != QNetworkReply::NoError && result.status == 0)
        result.networkError = reply->errorString();
    reply->deleteLater();
    return result;
}

HttpResult HttpClient::get(const QString &path, const QByteArray &bearer)
{
    QList<QPair<QByteArray, QByteArray>> h;
    if (!bearer.isEmpty())
        h.append({"Authorization", "Bearer " + bearer});
    return request("GET", path, {}, h);
}

HttpResult HttpClient::postJson(const QString &path, const QJsonObject &body, const QByteArray &bearer)
{
    QList<QPair<QByteArray, QByteArray>> h{{"Content-Type", "application/json"}};
    if (!bearer.isEmpty())
        h.append({"Authorization", "Bearer " + bearer});
    return request("POST", path, QJsonDocument(body).toJson(QJsonDocument::Compact), h);
}

HttpResult HttpClient::putJson(const QString &path, const QJsonObject &body, const QByteArray &bearer)
{
    QList<QPair<QByteArray, QByteArray>> h{{"Content-Type", "application/json"}};
    if (!bearer.isEmpty())
        h.append({"Authorization", "Bearer " + bearer});
    return request("PUT", path, QJsonDocument(body).toJson(QJsonDocument::Compact), h);
}

int RawExchange::status() const
{
    if (!received.startsWith("HTTP/1."))
        return 0;
    return received.mid(9, 3).toInt();
}

RawExchange rawExchange(quint16 port, const QByteArray &bytes, int timeoutMs)
{
    RawExchange ex;
    QTcpSocket socket;
    QEventLoop loop;
    QObject::connect(&socket, &QTcpSocket::readyRead, [&]() { ex.received += socket.readAll(); });
    QObject::connect(&socket, &QTcpSocket::disconnected, &loop, [&]() {
        ex.received += socket.readAll();
        ex.closedByServer = true;
        loop.quit();
    });
    QObject::connect(&socket, &QTcpSocket::connected, [&]() {
        if (!bytes.isEmpty())
            socket.write(bytes);
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    socket.connectToHost(QStringLiteral("127.0.0.1"), port);
    loop.exec();
    return ex;
}

} // namespace tianyi::test
