#pragma once
// Helpers shared by the auth tests: account calls over real HTTP, token inspection, and a way to
// keep many requests in flight at once (QNetworkAccessManager would queue all but 6 per host).

#include "httpclient.h"

#include <QByteArray>
#include <QEventLoop>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QObject>
#include <QTcpSocket>
#include <QUrl>
#include <QtTest>
#include <functional>
#include <memory>
#include <vector>

namespace tianyi::test {

inline HttpResult registerUser(HttpClient &http, const QString &username, const QString &password, const QString &nickname = {})
{
    QJsonObject body{{QStringLiteral("username"), username}, {QStringLiteral("password"), password}};
    if (!nickname.isEmpty())
        body.insert(QStringLiteral("nickname"), nickname);
    return http.postJson(QStringLiteral("/api/v1/auth/register"), body);
}

inline QByteArray formEncode(const QList<QPair<QString, QString>> &fields)
{
    QByteArray out;
    for (const auto &f : fields) {
        if (!out.isEmpty())
            out += '&';
        out += QUrl::toPercentEncoding(f.first) + '=' + QUrl::toPercentEncoding(f.second);
    }
    return out;
}

inline HttpResult postForm(HttpClient &http, const QString &path, const QList<QPair<QString, QString>> &fields)
{
    return http.request("POST", path, formEncode(fields), {{"Content-Type", "application/x-www-form-urlencoded"}});
}

inline HttpResult loginForm(HttpClient &http, const QString &username, const QString &password)
{
    return postForm(http, QStringLiteral("/api/v1/auth/token"),
                    {{QStringLiteral("grant_type"), QStringLiteral("password")}, {QStringLiteral("username"), username}, {QStringLiteral("password"), password}});
}

inline HttpResult loginJson(HttpClient &http, const QString &username, const QString &password)
{
    return http.postJson(QStringLiteral("/api/v1/auth/token"), {{QStringLiteral("grant_type"), QStringLiteral("password")},
                                                                {QStringLiteral("username"), username},
                                                                {QStringLiteral("password"), password}});
}

inline HttpResult refreshGrant(HttpClient &http, const QByteArray &refreshToken)
{
    return postForm(http, QStringLiteral("/api/v1/auth/token"),
                    {{QStringLiteral("grant_type"), QStringLiteral("refresh_token")}, {QStringLiteral("refresh_token"), QString::fromLatin1(refreshToken)}});
}

inline QByteArray accessTokenOf(const HttpResult &r)
{
    return r.json().value(QStringLiteral("access_token")).toString().toLatin1();
}

inline QByteArray refreshTokenOf(const HttpResult &r)
{
    return r.json().value(QStringLiteral("refresh_token")).toString().toLatin1();
}

// The claims of a JWT, read without verifying it (the server verifies; tests only look).
inline QJsonObject jwtPayload(const QByteArray &token)
{
    const QList<QByteArray> parts = token.split('.');
    if (parts.size() != 3)
        return {};
    return QJsonDocument::fromJson(QByteArray::fromBase64(parts[1], QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals)).object();
}

// The token endpoint answers errors as RFC 6749 5.2 says: {"error":"<code>","error_description":"..."}.
inline QString oauthErrorCode(const HttpResult &r)
{
    return r.json().value(QStringLiteral("error")).toString();
}

inline QString oauthErrorDescription(const HttpResult &r)
{
    return r.json().value(QStringLiteral("error_description")).toString();
}

// A sample of the server's /metrics (Prometheus text): the value of the line that starts with
// `series` (e.g. tianyi_auth_password_hash_seconds_count{op="verify"}), or 0 when absent.
inline double metricSample(HttpClient &http, const QByteArray &series)
{
    const QList<QByteArray> lines = http.get(QStringLiteral("/metrics")).body.split('\n');
    for (const QByteArray &line : lines)
        if (line.startsWith(series + ' '))
            return line.mid(series.size() + 1).toDouble();
    return 0;
}

inline QString describe(const HttpResult &r)
{
    return QStringLiteral("status %1 body %2 %3").arg(r.status).arg(QString::fromUtf8(r.body), r.networkError);
}

// Many HTTP requests in flight at once, each on its own connection (Connection: close).
// Completion order is recorded, so a test can prove what finished before what.
class ParallelRequests
{
public:
    struct Reply {
        int status = 0;
        QByteArray body;
        bool done = false;
        int finishedAs = -1; // 0 = first to complete
    };

    // localAddress: the client address the server sees (any 127.x.y.z works on loopback), so a test
    // can act from several "places" at once.
    explicit ParallelRequests(quint16 port, QHostAddress localAddress = {}) : m_port(port), m_local(std::move(localAddress)) {}

    // Returns the index of the request.
    int start(const QByteArray &method, const QString &path, const QByteArray &body = {}, const QByteArray &contentType = "application/json")
    {
        const int index = int(m_replies.size());
        m_replies.push_back(std::make_shared<Reply>());
        auto socket = std::make_shared<QTcpSocket>();
        m_sockets.push_back(socket);
        QByteArray raw = method + ' ' + path.toUtf8() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
        if (!body.isEmpty() || method == "POST")
            raw += "Content-Type: " + contentType + "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n";
        raw += "\r\n" + body;
        auto buffer = std::make_shared<QByteArray>();
        std::shared_ptr<Reply> reply = m_replies.back();
        QTcpSocket *s = socket.get();
        QObject::connect(s, &QTcpSocket::connected, s, [s, raw]() { s->write(raw); });
        QObject::connect(s, &QTcpSocket::readyRead, s, [s, buffer]() { *buffer += s->readAll(); });
        auto finish = [this, s, buffer, reply]() {
            if (reply->done)
                return;
            *buffer += s->readAll();
            reply->done = true;
            reply->finishedAs = m_finished++;
            if (buffer->startsWith("HTTP/1."))
                reply->status = buffer->mid(9, 3).toInt();
            const int headEnd = buffer->indexOf("\r\n\r\n");
            if (headEnd >= 0)
                reply->body = buffer->mid(headEnd + 4);
        };
        QObject::connect(s, &QTcpSocket::disconnected, s, finish);
        QObject::connect(s, &QAbstractSocket::errorOccurred, s, finish);
        if (!m_local.isNull())
            s->bind(m_local);
        s->connectToHost(QStringLiteral("127.0.0.1"), m_port);
        return index;
    }

    const Reply &reply(int index) const { return *m_replies.at(size_t(index)); }
    int finished() const { return m_finished; }
    int size() const { return int(m_replies.size()); }
    bool allDone() const { return m_finished == size(); }

private:
    quint16 m_port;
    QHostAddress m_local;
    std::vector<std::shared_ptr<Reply>> m_replies;
    std::vector<std::shared_ptr<QTcpSocket>> m_sockets;
    int m_finished = 0;
};

} // namespace tianyi::test
