#include "adminapi.h"

#include <QCoreApplication>

namespace tianyi::admin {

AdminApi::AdminApi(QObject *parent)
    : QObject(parent)
{
}

AdminApi::~AdminApi() = default;

QString AdminApi::describe(const ApiResult &r)
{
    auto tr = [](const char *text) { return QCoreApplication::translate("tianyi::admin::AdminApi", text); };
    if (!r.reachedServer())
        return tr("Cannot reach the server: %1").arg(r.networkError);
    const QString code = r.error ? r.error->code : QString();
    if (code == QLatin1String("invalid_grant"))
        return tr("Wrong username or password.");
    if (code == QLatin1String("forbidden"))
        return tr("This account is not an administrator.");
    if (code == QLatin1String("account_disabled"))
        return tr("This account is disabled.");
    if (code == QLatin1String("rate_limited"))
        return tr("Too many failed logins; try again later.");
    if (code == QLatin1String("unauthorized"))
        return tr("The server no longer accepts this login.");
    if (r.status == 404)
        return tr("Not found (it may be gone already).");
    return tr("The server answered: %1").arg(r.describe());
}

void AdminApi::signIn(const QUrl &server, const QString &username, const QString &password, std::function<void(const ApiResult *)> done)
{
    delete m_client; // a new server: pending answers of the old one are dropped, never delivered
    // A re-login of the old client will never answer: its waiters give up now.
    const auto waiters = std::move(m_reauthWaiters);
    m_reauthWaiters.clear();
    m_reauthRunning = false;
    for (const auto &w : waiters)
        w(false);
    m_client = new client::ApiClient(server, this);
    m_client->setMaxResponseBytes(kMaxResponseBytes);
    m_server = server;
    m_username = username;
    m_password.clear();
    m_access.clear();
    m_refresh.clear();
    QPointer<AdminApi> self(this);
    m_client->login(username, password, [self, password, done](const ApiResult &login) {
        if (!self)
            return;
        if (!login.ok() || !client::Tokens::fromJson(login.json)) {
            done(&login);
            return;
        }
        self->takeTokens(login);
        // The password grant works for every account: an admin route proves the role.
        self->m_client->request("GET", QStringLiteral("/api/v1/admin/queues"), std::nullopt, self->m_access,
                                [self, password, done](const ApiResult &probe) {
                                    if (!self)
                                        return;
                                    if (!probe.ok()) {
                                        self->m_access.clear();
                                        self->m_refresh.clear();
                                        done(&probe);
                                        return;
                                    }
                                    self->m_password = password;
                                    emit self->accessTokenChanged();
                                    done(nullptr);
                                });
    });
}

void AdminApi::takeTokens(const ApiResult &result)
{
    if (const auto tokens = client::Tokens::fromJson(result.json)) {
        m_access = tokens->accessToken;
        m_refresh = tokens->refreshToken;
    }
}

void AdminApi::reauthenticate(std::function<void(bool)> done)
{
    if (!m_client) {
        done(false);
        return;
    }
    m_reauthWaiters.push_back(std::move(done));
    if (m_reauthRunning)
        return; // one re-login for every call that hit the 401 at once
    m_reauthRunning = true;
    QPointer<AdminApi> self(this);
    auto finish = [self](bool ok) {
        if (!self)
            return;
        self->m_reauthRunning = false;
        const auto waiters = std::move(self->m_reauthWaiters);
        self->m_reauthWaiters.clear();
        if (ok)
            emit self->accessTokenChanged();
        for (const auto &w : waiters)
            w(ok);
    };
    auto byPassword = [self, finish]() {
        if (!self || self->m_password.isEmpty()) {
            finish(false);
            return;
        }
        self->m_client->login(self->m_username, self->m_password, [self, finish](const ApiResult &r) {
            if (self && r.ok())
                self->takeTokens(r);
            finish(self && r.ok());
        });
    };
    if (m_refresh.isEmpty()) {
        byPassword();
        return;
    }
    m_client->refresh(m_refresh, [self, finish, byPassword](const ApiResult &r) {
        if (!self)
            return;
        if (r.ok()) {
            self->takeTokens(r);
            finish(true);
        } else if (r.reachedServer()) {
            byPassword();   // rotated or revoked refresh token: the password still proves who we are
        } else {
            finish(false);  // server down: the feed's backoff will try again
        }
    });
}

void AdminApi::users(qint64 afterId, int limit, Callback done)
{
    call("GET", QStringLiteral("/api/v1/admin/users?after_id=%1&limit=%2").arg(afterId).arg(limit), std::move(done));
}

void AdminApi::setUserDisabled(qint64 userId, bool disabled, Callback done)
{
    call("POST", QStringLiteral("/api/v1/admin/users/%1/%2").arg(userId).arg(disabled ? QStringLiteral("disable") : QStringLiteral("enable")),
         std::move(done));
}

void AdminApi::stopSession(const QString &sessionId, Callback done)
{
    call("POST", QStringLiteral("/api/v1/admin/sessions/%1/stop").arg(sessionId), std::move(done));
}

void AdminApi::disconnectSession(const QString &sessionId, Callback done)
{
    call("POST", QStringLiteral("/api/v1/admin/sessions/%1/disconnect").arg(sessionId), std::move(done));
}

void AdminApi::call(const QByteArray &method, const QString &path, Callback done, bool retried)
{
    if (!m_client) {
        ApiResult none;
        none.networkError = tr("not connected");
        done(none);
        return;
    }
    // POSTs carry an empty JSON object: the server wants a Content-Length on request bodies.
    const std::optional<QJsonObject> body = method == "POST" ? std::optional<QJsonObject>(QJsonObject()) : std::nullopt;
    QPointer<AdminApi> self(this);
    m_client->request(method, path, body, m_access, [self, method, path, done, retried](const ApiResult &r) {
        if (!self)
            return;
        if (r.status == 401 && !retried) {
            self->reauthenticate([self, method, path, done, r](bool ok) {
                if (!self)
                    return;
                if (ok)
                    self->call(method, path, done, true);
                else
                    done(r);
            });
            return;
        }
        done(r);
    });
}

} // namespace tianyi::admin
