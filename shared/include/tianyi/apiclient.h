#pragma once
// Asynchronous client of the HTTP account API (register, token, profile), used by tianyi-cli,
// bench and the admin app. Every call ends in exactly one callback on the caller's thread, unless
// the ApiClient is destroyed first (pending callbacks are then dropped, never called).

#include "tianyi/apierror.h"

#include <QByteArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QUrl>
#include <functional>
#include <optional>

class QNetworkAccessManager;
class QNetworkReply;
class QNetworkRequest;

namespace tianyi::client {

// The outcome of one HTTP call.
struct ApiResult {
    int status = 0;                 // HTTP status; 0 = no HTTP answer (server down, timeout, too large)
    QByteArray body;
    QJsonObject json;               // body parsed as a JSON object (empty if it is not one)
    std::optional<ApiError> error;  // the error body of a non-2xx answer (when it has that shape)
    QString networkError;           // why there was no HTTP answer

    bool ok() const { return status >= 200 && status < 300; }
    bool reachedServer() const { return status != 0; }
    // One line for humans: "invalid_grant: wrong username or password (HTTP 400)" or the network error.
    QString describe() const;
};

struct Tokens {
    QString accessToken;
    QString refreshToken;
    QString tokenType;
    int expiresIn = 0;

    static std::optional<Tokens> fromJson(const QJsonObject &json);
    QJsonObject toJson() const;
};

class ApiClient : public QObject
{
    Q_OBJECT

public:
    using Callback = std::function<void(const ApiResult &)>;

    static constexpr qint64 kDefaultMaxResponseBytes = 1 << 20;
    static constexpr int kDefaultTimeoutMs = 30000;

    // baseUrl: "http://host:port" (a path prefix, as behind a reverse proxy, is kept).
    explicit ApiClient(const QUrl &baseUrl, QObject *parent = nullptr);
    ~ApiClient() override;

    QUrl baseUrl() const { return m_baseUrl; }
    void setTimeoutMs(int ms) { m_timeoutMs = ms; }
    // Answers larger than this are aborted (status 0, networkError says why).
    void setMaxResponseBytes(qint64 bytes) { m_maxResponseBytes = bytes; }

    // POST /api/v1/auth/register -> 201 {user}
    void registerUser(const QString &username, const QString &password, const QString &nickname, Callback done);
    // POST /api/v1/auth/token, password grant (JSON body) -> tokens in result.json (see Tokens::fromJson)
    void login(const QString &username, const QString &password, Callback done);
    // POST /api/v1/auth/token, refresh_token grant -> new tokens (the old refresh token is now rotated)
    void refresh(const QString &refreshToken, Callback done);
    // POST /api/v1/auth/logout -> 204
    void logout(const QString &refreshToken, Callback done);
    // GET /api/v1/me/profile with a Bearer token
    void getProfile(const QString &accessToken, Callback done);

    // Any other call: method, path relative to the base URL, optional JSON body and bearer token.
    void request(const QByteArray &method, const QString &path, const std::optional<QJsonObject> &body, const QString &bearer,
                 Callback done);

private:
    QUrl urlFor(const QString &path) const;

    QUrl m_baseUrl;
    QNetworkAccessManager *m_nam;
    int m_timeoutMs = kDefaultTimeoutMs;
    qint64 m_maxResponseBytes = kDefaultMaxResponseBytes;
};

} // namespace tianyi::client
