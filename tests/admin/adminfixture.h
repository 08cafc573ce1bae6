#pragma once
// The chat fixture plus an admin account (created through AccountService::createAdmin, as
// --create-admin does) and a recording client of the /ws/admin feed.

#include "chatfixture.h"

#include <QJsonArray>
#include <QNetworkRequest>

namespace tianyi::test {

inline const QString kAdminPassword = QStringLiteral("an admin pass phrase");
inline const QString kUserPassword = QStringLiteral("correct horse battery"); // ChatFixture::user()

// A reply with two emotions, streamed and synthesized fast by the fake upstream.
inline const QString kAdminReply = QStringLiteral("[开心]你好呀！今天想聊点什么呢？[悲伤]可是我有点累了。");
inline ChatFixture::Options fastOptions(const QString &reply = kAdminReply)
{
    return ChatFixture::fast(reply);
}

// Five sentences at 10 tokens a second: a turn that runs long enough to be stopped.
inline ChatFixture::Options slowOptions()
{
    ChatFixture::Options o = fastOptions(QStringLiteral("[开心]第一句话说完了。第二句话也说完了。第三句话还在路上。第四句话更远一些。第五句话是最后一句。"));
    o.fake.tokensPerSecond = 10;
    return o;
}

struct AdminUser {
    qint64 id = 0;
    QByteArray token;
};

// Signs an access token with any role (the stored role still decides on the server).
inline QByteArray signToken(ChatFixture &fx, qint64 userId, const QString &role, qint64 ttlS = 600)
{
    AccessClaims claims;
    claims.userId = userId;
    claims.role = role;
    claims.issuedAt = QDateTime::currentSecsSinceEpoch();
    claims.expiresAt = claims.issuedAt + ttlS;
    claims.jti = QUuid::createUuid().toString(QUuid::Id128);
    return fx.app().accounts().jwt().sign(claims);
}

inline AdminUser makeAdmin(ChatFixture &fx, const QString &name = QStringLiteral("root"))
{
    AdminUser admin;
    bool done = false;
    fx.app().accounts().createAdmin(name, kAdminPassword, [&](Outcome<AccountService::AdminResult> r) {
        if (r.ok())
            admin.id = r.value().userId;
        done = true;
    });
    if (!QTest::qWaitFor([&]() { return done; }, 20000) || admin.id == 0)
        qWarning("makeAdmin: createAdmin failed");
    admin.token = signToken(fx, admin.id, QStringLiteral("admin"));
    return admin;
}

inline HttpResult adminPost(HttpClient &http, const QString &path, const QByteArray &token)
{
    QList<QPair<QByteArray, QByteArray>> headers;
    if (!token.isEmpty())
        headers.append({"Authorization", "Bearer " + token});
    return http.request("POST", path, {}, headers);
}

inline HttpResult passwordLogin(HttpClient &http, const QString &username, const QString &password)
{
    QUrlQuery form;
    form.addQueryItem(QStringLiteral("grant_type"), QStringLiteral("password"));
    form.addQueryItem(QStringLiteral("username"), username);
    form.addQueryItem(QStringLiteral("password"), password);
    return http.request("POST", QStringLiteral("/api/v1/auth/token"), form.toString(QUrl::FullyEncoded).toUtf8(),
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
}

class AdminFeedTestClient : public QObject
{
    Q_OBJECT
public:
    explicit AdminFeedTestClient(QObject *parent = nullptr) : QObject(parent)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this,
                [this](const QString &text) { events.append(QJsonDocument::fromJson(text.toUtf8()).object()); });
        connect(&socket, &QWebSocket::disconnected, this, [this]() {
            closed = true;
            closeCode = int(socket.closeCode());
            closeReason = socket.closeReason();
        });
    }
    ~AdminFeedTestClient() override
    {
        // Close cleanly while the server still runs (Qt 6.4 leaks a string when an open QWebSocket is destroyed).
        if (socket.state() == QAbstractSocket::ConnectedState) {
            socket.close();
            if (!QTest::qWaitFor([&]() { return closed; }, 10000))
                qWarning("AdminFeedTestClient: the server did not finish the close");
        }
    }
    void open(quint16 port, const QByteArray &token = {})
    {
        QUrl url(QStringLiteral("ws://127.0.0.1:%1/ws/admin").arg(port));
        if (!token.isEmpty())
            url.setQuery(QStringLiteral("token=") + QString::fromLatin1(token));
        socket.open(url);
    }
    bool openAndHello(quint16 port, const QByteArray &token)
    {
        open(port, token);
        return waitForType(QStringLiteral("hello"));
    }
    int indexOfType(const QString &type, int from = 0) const
    {
        for (int i = from; i < events.size(); ++i)
            if (events.at(i).value(QStringLiteral("type")).toString() == type)
                return i;
        return -1;
    }
    bool waitForType(const QString &type, int from = 0, int timeoutMs = 20000)
    {
        return QTest::qWaitFor([&]() { return indexOfType(type, from) >= 0; }, timeoutMs);
    }
    bool waitClosed(int timeoutMs = 20000) { return QTest::qWaitFor([&]() { return closed; }, timeoutMs); }
    void send(const QJsonObject &message) { socket.sendTextMessage(QString::fromUtf8(QJsonDocument(message).toJson(QJsonDocument::Compact))); }
    void sendAuth(const QByteArray &token) { send({{QStringLiteral("type"), QStringLiteral("auth")}, {QStringLiteral("token"), QString::fromLatin1(token)}}); }
    QStringList types() const
    {
        QStringList out;
        for (const QJsonObject &e : events)
            out << e.value(QStringLiteral("type")).toString();
        return out;
    }

    QWebSocket socket;
    QList<QJsonObject> events;
    bool closed = false;
    int closeCode = -1;
    QString closeReason;
};

} // namespace tianyi::test
