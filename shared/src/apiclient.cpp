#include "tianyi/apiclient.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>

namespace tianyi::client {

QString ApiResult::describe() const
{
    if (status == 0)
        return networkError.isEmpty() ? QStringLiteral("no answer from the server") : networkError;
    if (error)
        return QStringLiteral("%1: %2 (HTTP %3)").arg(error->code, error->message).arg(status);
    if (!ok())
        return QStringLiteral("HTTP %1: %2").arg(status).arg(QString::fromUtf8(body.left(200)));
    return QStringLiteral("HTTP %1").arg(status);
}

std::optional<Tokens> Tokens::fromJson(const QJsonObject &json)
{
    Tokens t;
    t.accessToken = json.value(QStringLiteral("access_token")).toString();
    t.refreshToken = json.value(QStringLiteral("refresh_token")).toString();
    t.tokenType = json.value(QStringLiteral("token_type")).toString();
    t.expiresIn = json.value(QStringLiteral("expires_in")).toInt();
    if (t.accessToken.isEmpty())
        return std::nullopt;
    return t;
}

QJsonObject Tokens::toJson() const
{
    return QJsonObject{{QStringLiteral("access_token"), accessToken},
                       {QStringLiteral("token_type"), tokenType},
                       {QStringLiteral("expires_in"), expiresIn},
                       {QStringLiteral("refresh_token"), refreshToken}};
}

ApiClient::ApiClient(const QUrl &baseUrl, QObject *parent)
    : QObject(parent)
    , m_baseUrl(baseUrl)
    , m_nam(new QNetworkAccessManager(this))
{
}

ApiClient::~ApiClient() = default;

QUrl ApiClient::urlFor(const QString &path) const
{
    QUrl url = m_baseUrl;
    QString base = url.path();
    while (base.endsWith(QLatin1Char('/')))
        base.chop(1);
    const int query = path.indexOf(QLatin1Char('?'));
    url.setPath(base + (query < 0 ? path : path.left(query)));
    if (query >= 0)
        url.setQuery(path.mid(query + 1));
    return url;
}

void ApiClient::registerUser(const QString &username, const QString &password, const QString &nickname, Callback done)
{
    QJsonObject body{{QStringLiteral("username"), username}, {QStringLiteral("password"), password}};
    if (!nickname.isEmpty())
        body.insert(QStringLiteral("nickname"), nickname);
    request("POST", QStringLiteral("/api/v1/auth/register"), body, {}, std::move(done));
}

void ApiClient::login(const QString &username, const QString &password, Callback done)
{
    request("POST", QStringLiteral("/api/v1/auth/token"),
            QJsonObject{{QStringLiteral("grant_type"), QStringLiteral("password")},
                        {QStringLiteral("username"), username},
                        {QStringLiteral("password"), password}},
            {}, std::move(done));
}

void ApiClient::refresh(const QString &refreshToken, Callback done)
{
    request("POST", QStringLiteral("/api/v1/auth/token"),
            QJsonObject{{QStringLiteral("grant_type"), QStringLiteral("refresh_token")}, {QStringLiteral("refresh_token"), refreshToken}}, {},
            std::move(done));
}

void ApiClient::logout(const QString &refreshToken, Callback done)
{
    request("POST", QStringLiteral("/api/v1/auth/logout"), QJsonObject{{QStringLiteral("refresh_token"), refreshToken}}, {},
            std::move(done));
}

void ApiClient::getProfile(const QString &accessToken, Callback done)
{
    request("GET", QStringLiteral("/api/v1/me/profile"), std::nullopt, accessToken, std::move(done));
}

void ApiClient::request(const QByteArray &method, const QString &path, const std::optional<QJsonObject> &body, const QString &bearer,
                        Callback done)
{
    QNetworkRequest req(urlFor(path));
    req.setTransferTimeout(m_timeoutMs);
    req.setRawHeader("Accept", "application/json");
    if (!bearer.isEmpty())
        req.setRawHeader("Authorization", "Bearer " + bearer.toUtf8());
    QByteArray payload;
    if (body) {
        payload = QJsonDocument(*body).toJson(QJsonDocument::Compact);
        req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    }
    QNetworkReply *reply = body ? m_nam->sendCustomRequest(req, method, payload) : m_nam->sendCustomRequest(req, method);

    // Bounded: an answer larger than the cap is aborted instead of buffered.
    auto tooLarge = std::make_shared<bool>(false);
    const qint64 cap = m_maxResponseBytes;
    connect(reply, &QNetworkReply::downloadProgress, this, [reply, tooLarge, cap](qint64 received, qint64 total) {
        if (!*tooLarge && (received > cap || total > cap)) {
            *tooLarge = true;
            reply->abort();
        }
    });
    connect(reply, &QNetworkReply::finished, this, [reply, tooLarge, cap, done = std::move(done)]() {
        reply->deleteLater();
        ApiResult result;
        if (*tooLarge) {
            result.networkError = QStringLiteral("the answer is larger than %1 bytes").arg(cap);
            done(result);
            return;
        }
        result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        result.body = reply->readAll();
        if (result.status == 0) {
            result.networkError = reply->error() == QNetworkReply::OperationCanceledError
                                      ? QStringLiteral("no answer within the time limit (%1)").arg(reply->errorString())
                                      : reply->errorString();
            done(result);
            return;
        }
        result.json = QJsonDocument::fromJson(result.body).object();
        if (!result.ok())
            result.error = ApiError::fromJson(result.body);
        done(result);
    });
}

} // namespace tianyi::client
