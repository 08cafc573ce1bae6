#include "auth/accountroutes.h"

#include "auth/accountservice.h"
#include "auth/logins.h"
#include "auth/requestbody.h"
#include "net/router.h"

#include <QJsonDocument>
#include <QJsonValue>
#include <QPointer>
#include <QStringList>

namespace tianyi {

namespace {

using Kind = HttpError::Kind;

HttpResponse errorResponse(Kind kind, const QString &message)
{
    return HttpError::of(kind, message).toResponse();
}

// The service goes away before the router at shutdown; a late request then gets 503, not a crash.
bool serviceGone(const QPointer<AccountService> &service, const Responder &r)
{
    if (service)
        return false;
    r.send(HttpError::shuttingDown().toResponse());
    return true;
}

// Names the fields of `object` that are not in `allowed`, or empty.
QString unknownFieldsProblem(const QJsonObject &object, const QStringList &allowed)
{
    QStringList unknown;
    for (auto it = object.begin(); it != object.end(); ++it)
        if (!allowed.contains(it.key()))
            unknown << it.key();
    if (unknown.isEmpty())
        return {};
    return QStringLiteral("unknown field%1: %2 (allowed: %3)")
        .arg(unknown.size() > 1 ? QStringLiteral("s") : QString(), unknown.join(QStringLiteral(", ")), allowed.join(QStringLiteral(", ")));
}

// A required string field of a JSON body: the value, or a problem naming the field.
QString requiredString(const QJsonObject &object, const QString &field, QString *problem)
{
    const QJsonValue v = object.value(field);
    if (v.isUndefined() || v.isNull())
        *problem = QStringLiteral("%1 is required").arg(field);
    else if (!v.isString())
        *problem = QStringLiteral("%1 must be a string").arg(field);
    return v.toString();
}

void handleRegister(AccountService &accounts, const HttpRequest &req, const Responder &r)
{
    const JsonBody body = parseJsonObject(req);
    if (!body.problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, body.problem));
        return;
    }
    QString problem = unknownFieldsProblem(body.object, {QStringLiteral("username"), QStringLiteral("password"), QStringLiteral("nickname")});
    AccountService::RegisterInput input;
    if (problem.isEmpty())
        input.username = requiredString(body.object, QStringLiteral("username"), &problem);
    if (problem.isEmpty())
        input.password = requiredString(body.object, QStringLiteral("password"), &problem);
    const QJsonValue nickname = body.object.value(QStringLiteral("nickname"));
    if (problem.isEmpty() && !nickname.isUndefined() && !nickname.isNull()) {
        if (nickname.isString())
            input.nickname = nickname.toString();
        else
            problem = QStringLiteral("nickname must be a string");
    }
    if (!problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, problem));
        return;
    }
    accounts.registerUser(std::move(input), AccountService::clientAddress(req), [r](Outcome<AccountService::UserView> result) {
        if (!result.ok()) {
            r.send(result.error().toResponse());
            return;
        }
        r.send(HttpResponse::json(201, QJsonObject{{QStringLiteral("user"), result.value().toJson()}}));
    });
}

// The token endpoint answers errors as RFC 6749 5.2 says, so OAuth2 client libraries recognise
// them: {"error":"invalid_grant","error_description":"..."}, status 400 (our other routes use
// {"error":{"code","message"}}). Status and headers (Retry-After, WWW-Authenticate) stay those of
// the project's mapping; only the body's shape differs.
HttpResponse oauthErrorResponse(const HttpError &error)
{
    HttpResponse response = error.toResponse();
    const QJsonObject project = QJsonDocument::fromJson(response.body).object().value(QStringLiteral("error")).toObject();
    const QJsonObject rfc{{QStringLiteral("error"), project.value(QStringLiteral("code")).toString()},
                          {QStringLiteral("error_description"), project.value(QStringLiteral("message")).toString()}};
    response.body = QJsonDocument(rfc).toJson(QJsonDocument::Compact);
    return response;
}

HttpResponse oauthError(Kind kind, const QString &message)
{
    return oauthErrorResponse(HttpError::of(kind, message));
}

void sendTokens(const Responder &r, const Outcome<AccountService::Tokens> &result)
{
    if (!result.ok()) {
        r.send(oauthErrorResponse(result.error()));
        return;
    }
    // RFC 6749 5.1: token responses must not be cached (Cache-Control: no-store is on every response).
    r.send(HttpResponse::json(200, result.value().toJson()).withHeader("Pragma", "no-cache"));
}

void handleToken(AccountService &accounts, const HttpRequest &req, const Responder &r)
{
    const FlatParameters params = parseFlatParameters(req);
    if (!params.problem.isEmpty()) {
        r.send(oauthError(Kind::InvalidRequest, params.problem));
        return;
    }
    auto require = [&](const QStringList &names) {
        QStringList missing;
        for (const QString &n : names)
            if (params.value(n).isEmpty())
                missing << n;
        if (!missing.isEmpty())
            r.send(oauthError(Kind::InvalidRequest, QStringLiteral("missing parameter%1: %2")
                                                           .arg(missing.size() > 1 ? QStringLiteral("s") : QString(), missing.join(QStringLiteral(", ")))));
        return missing.isEmpty();
    };
    if (!require({QStringLiteral("grant_type")}))
        return;
    const QString grant = params.value(QStringLiteral("grant_type"));
    if (grant == QLatin1String("password")) {
        if (!require({QStringLiteral("username"), QStringLiteral("password")}))
            return;
        accounts.loginWithPassword(params.value(QStringLiteral("username")), params.value(QStringLiteral("password")), AccountService::clientAddress(req),
                                   [r](Outcome<AccountService::Tokens> result) { sendTokens(r, result); });
        return;
    }
    if (grant == QLatin1String("refresh_token")) {
        if (!require({QStringLiteral("refresh_token")}))
            return;
        accounts.refresh(params.value(QStringLiteral("refresh_token")).toUtf8(),
                         [r](Outcome<AccountService::Tokens> result) { sendTokens(r, result); });
        return;
    }
    r.send(oauthError(Kind::UnsupportedGrantType,
                         QStringLiteral("grant_type \"%1\" is not supported; use password or refresh_token").arg(grant.left(64))));
}

void handleLogout(AccountService &accounts, const HttpRequest &req, const Responder &r)
{
    // Holding the refresh token is the credential here (RFC 7009); an Authorization header is not needed.
    const FlatParameters params = parseFlatParameters(req);
    if (!params.problem.isEmpty()) {
        r.send(errorResponse(Kind::InvalidRequest, params.problem));
        return;
    }
    const QString token = params.value(QStringLiteral("refresh_token"));
    if (token.isEmpty()) {
        r.send(errorResponse(Kind::InvalidRequest, QStringLiteral("missing parameter: refresh_token")));
        return;
    }
    accounts.logout(token.toUtf8(), [r](Outcome<bool> result) {
        r.send(result.ok() ? HttpResponse::noContent() : result.error().toResponse());
    });
}

void handleLogoutAll(AccountService &accounts, const Principal &who, const HttpRequest &, const Responder &r)
{
    accounts.signOutEverywhere(who, [r](Outcome<bool> result) {
        r.send(result.ok() ? HttpResponse::noContent() : result.error().toResponse());
    });
}

void handleChangePassword(AccountService &accounts, const Principal &who, const HttpRequest &req, const Responder &r)
{
    const JsonBody body = parseJsonObject(req);
    if (!body.problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, body.problem));
        return;
    }
    QString problem = unknownFieldsProblem(body.object, {QStringLiteral("current_password"), QStringLiteral("new_password")});
    QString current;
    QString replacement;
    if (problem.isEmpty())
        current = requiredString(body.object, QStringLiteral("current_password"), &problem);
    if (problem.isEmpty())
        replacement = requiredString(body.object, QStringLiteral("new_password"), &problem);
    if (!problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, problem));
        return;
    }
    accounts.changePassword(who, current, replacement, AccountService::clientAddress(req), [r](Outcome<AccountService::Tokens> result) {
        if (!result.ok()) {
            r.send(result.error().toResponse());
            return;
        }
        r.send(HttpResponse::json(200, result.value().toJson()).withHeader("Pragma", "no-cache"));
    });
}

void sendProfile(const Responder &r, const Outcome<Profile> &result)
{
    r.send(result.ok() ? HttpResponse::json(200, result.value().toJson()) : result.error().toResponse());
}

void handleGetProfile(AccountService &accounts, const Principal &who, const HttpRequest &, const Responder &r)
{
    accounts.profile(who, [r](Outcome<Profile> result) { sendProfile(r, result); });
}

void handlePutProfile(AccountService &accounts, const Principal &who, const HttpRequest &req, const Responder &r)
{
    const JsonBody body = parseJsonObject(req);
    if (!body.problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, body.problem));
        return;
    }
    ProfilePolicy::Parsed parsed = ProfilePolicy::parseChanges(body.object);
    if (!parsed.problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, parsed.problem));
        return;
    }
    accounts.updateProfile(who, std::move(parsed.changes), [r](Outcome<Profile> result) { sendProfile(r, result); });
}

void handleListLogins(AccountService &accounts, const Principal &who, const HttpRequest &, const Responder &r)
{
    accounts.listLogins(who, [r](Outcome<AccountService::LoginList> result) {
        r.send(result.ok() ? HttpResponse::json(200, result.value().toJson()) : result.error().toResponse());
    });
}

void handleCreateDeviceToken(AccountService &accounts, const Principal &who, const HttpRequest &req, const Responder &r)
{
    const JsonBody body = parseJsonObject(req);
    if (!body.problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, body.problem));
        return;
    }
    QString problem = unknownFieldsProblem(body.object, {QStringLiteral("name"), QStringLiteral("password")});
    QString name;
    QString password;
    if (problem.isEmpty())
        name = requiredString(body.object, QStringLiteral("name"), &problem);
    if (problem.isEmpty())
        password = requiredString(body.object, QStringLiteral("password"), &problem);
    // The name is checked before the password, so a bad name costs no hashing and no throttle count.
    if (problem.isEmpty())
        problem = Logins::deviceNameProblem(name);
    if (!problem.isEmpty()) {
        r.send(errorResponse(Kind::BadRequest, problem));
        return;
    }
    accounts.createDeviceToken(who, name, password, AccountService::clientAddress(req), [r](Outcome<AccountService::DeviceTokenResult> result) {
        if (!result.ok()) {
            r.send(result.error().toResponse());
            return;
        }
        if (const auto *refusal = std::get_if<AccountService::DeviceTokenRefusal>(&result.value())) {
            r.send(HttpResponse::error(409, refusal->code, refusal->message));
            return;
        }
        // Shown once: like a token response, never cached (Cache-Control: no-store is on every response).
        r.send(HttpResponse::json(201, std::get<AccountService::DeviceToken>(result.value()).toJson()).withHeader("Pragma", "no-cache"));
    });
}

void handleRevokeLogin(AccountService &accounts, const Principal &who, const HttpRequest &req, const Responder &r)
{
    accounts.revokeLogin(who, req.pathParams.value(QStringLiteral("id")), [r](Outcome<bool> result) {
        r.send(result.ok() ? HttpResponse::noContent() : result.error().toResponse());
    });
}

} // namespace

void registerAccountRoutes(Router &router, AccountService &accounts)
{
    const QPointer<AccountService> service(&accounts);
    using Handler = void (*)(AccountService &, const HttpRequest &, const Responder &);
    auto bind = [service](Handler handler) {
        return [service, handler](const HttpRequest &req, Responder r) {
            if (!serviceGone(service, r))
                handler(*service, req, r);
        };
    };
    // Authentication first: an anonymous caller learns nothing about the body rules.
    using AuthenticatedHandler = void (*)(AccountService &, const Principal &, const HttpRequest &, const Responder &);
    auto bindAuthenticated = [service](AuthenticatedHandler handler) {
        return [service, handler](const HttpRequest &req, Responder r) {
            if (serviceGone(service, r))
                return;
            const Outcome<Principal> who = service->guard().authenticate(req);
            if (!who.ok()) {
                r.send(who.error().toResponse());
                return;
            }
            handler(*service, who.value(), req, r);
        };
    };
    router.add("POST", QStringLiteral("/api/v1/auth/register"), bind(&handleRegister));
    router.add("POST", QStringLiteral("/api/v1/auth/token"), bind(&handleToken));
    router.add("POST", QStringLiteral("/api/v1/auth/logout"), bind(&handleLogout));
    router.add("POST", QStringLiteral("/api/v1/auth/logout-all"), bindAuthenticated(&handleLogoutAll));
    router.add("POST", QStringLiteral("/api/v1/me/password"), bindAuthenticated(&handleChangePassword));
    router.add("GET", QStringLiteral("/api/v1/me/profile"), bindAuthenticated(&handleGetProfile));
    router.add("PUT", QStringLiteral("/api/v1/me/profile"), bindAuthenticated(&handlePutProfile));
    router.add("GET", QStringLiteral("/api/v1/me/logins"), bindAuthenticated(&handleListLogins));
    router.add("DELETE", QStringLiteral("/api/v1/me/logins/{id}"), bindAuthenticated(&handleRevokeLogin));
    router.add("POST", QStringLiteral("/api/v1/me/device-tokens"), bindAuthenticated(&handleCreateDeviceToken));
}

} // namespace tianyi
