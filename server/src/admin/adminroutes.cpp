#include "admin/adminroutes.h"

#include "admin/adminservice.h"
#include "base/logging.h"
#include "dialog/chatsession.h"
#include "net/requestparams.h"
#include "net/router.h"

#include <tianyi/chatprotocol.h>

#include <QPointer>
#include <limits>

namespace tianyi {

namespace {

using Kind = HttpError::Kind;

// One admin route: the handler runs only for an authorized admin (401 / 403 otherwise).
using AdminHandler = void (*)(AdminService &, const Principal &, const HttpRequest &, const Responder &);

struct RouteDef {
    const char *method;
    const char *pattern;
    const char *sample; // the pattern with sample parameters
    AdminHandler handler;
};


void handleSessions(AdminService &admin, const Principal &, const HttpRequest &, const Responder &r)
{
    r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("sessions"), admin.sessionsJson()}}));
}

void handleQueues(AdminService &admin, const Principal &, const HttpRequest &, const Responder &r)
{
    r.send(HttpResponse::json(200, admin.queuesJson()));
}

void handleUsers(AdminService &admin, const Principal &, const HttpRequest &req, const Responder &r)
{
    QString problem;
    const qint64 after = queryInteger(req.query, QStringLiteral("after_id"), 0, 0, std::numeric_limits<qint64>::max(), &problem);
    const int limit = int(queryInteger(req.query, QStringLiteral("limit"), AdminService::kDefaultUsersLimit, 1, AdminService::kMaxUsersLimit, &problem));
    if (!problem.isEmpty()) {
        r.send(HttpError::of(Kind::BadRequest, problem).toResponse());
        return;
    }
    admin.listUsers(after, limit, [r](Outcome<AdminService::UserPage> result) {
        if (!result.ok()) {
            r.send(result.error().toResponse());
            return;
        }
        const AdminService::UserPage &page = result.value();
        r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("users"), page.users},
                                                   {QStringLiteral("next_after_id"), page.nextAfter ? QJsonValue(*page.nextAfter) : QJsonValue(QJsonValue::Null)},
                                                   {QStringLiteral("total"), page.total}}));
    });
}

void setDisabled(AdminService &admin, const Principal &who, const HttpRequest &req, const Responder &r, bool disabled)
{
    const std::optional<qint64> id = parseDigits(req.pathParams.value(QStringLiteral("id")));
    if (!id) {
        r.send(HttpError::notFound(QStringLiteral("user")).toResponse());
        return;
    }
    admin.setDisabled(who, *id, disabled, [r](Outcome<std::optional<QJsonObject>> result) {
        if (!result.ok())
            r.send(result.error().toResponse());
        else if (!result.value())
            r.send(HttpError::notFound(QStringLiteral("user")).toResponse());
        else
            r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("user"), *result.value()}}));
    });
}

void handleDisable(AdminService &admin, const Principal &who, const HttpRequest &req, const Responder &r)
{
    setDisabled(admin, who, req, r, true);
}

void handleEnable(AdminService &admin, const Principal &who, const HttpRequest &req, const Responder &r)
{
    setDisabled(admin, who, req, r, false);
}

void handleStop(AdminService &admin, const Principal &who, const HttpRequest &req, const Responder &r)
{
    ChatSession *session = admin.findSession(req.pathParams.value(QStringLiteral("id")));
    if (!session) {
        r.send(HttpError::notFound(QStringLiteral("session")).toResponse());
        return;
    }
    const int turn = session->currentTurn();
    if (turn > 0) {
        qCInfo(lcWs).noquote() << "admin" << who.userId << "stops turn" << turn << "of session" << session->sessionId();
        session->stopCurrentTurn();
    }
    r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("session"), AdminService::sessionJson(*session)},
                                               {QStringLiteral("stopped_turn"), turn > 0 ? QJsonValue(turn) : QJsonValue(QJsonValue::Null)}}));
}

// The last prompt the session's turns sent to the LLM, with what each slot's budget did.
void handlePrompt(AdminService &admin, const Principal &, const HttpRequest &req, const Responder &r)
{
    ChatSession *session = admin.findSession(req.pathParams.value(QStringLiteral("id")));
    if (!session) {
        r.send(HttpError::notFound(QStringLiteral("session")).toResponse());
        return;
    }
    const QJsonObject prompt = session->lastPrompt();
    r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("session"), AdminService::sessionJson(*session)},
                                               {QStringLiteral("prompt"), prompt.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(prompt)}}));
}

void handleDisconnect(AdminService &admin, const Principal &who, const HttpRequest &req, const Responder &r)
{
    ChatSession *session = admin.findSession(req.pathParams.value(QStringLiteral("id")));
    if (!session) {
        r.send(HttpError::notFound(QStringLiteral("session")).toResponse());
        return;
    }
    const QJsonObject before = AdminService::sessionJson(*session);
    qCInfo(lcWs).noquote() << "admin" << who.userId << "disconnects session" << session->sessionId();
    session->close(chat::kCloseKicked, QStringLiteral("disconnected by an administrator"));
    r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("session"), before}, {QStringLiteral("close_code"), chat::kCloseKicked}}));
}

void handleTurn(AdminService &admin, const Principal &, const HttpRequest &req, const Responder &r)
{
    const std::optional<qint64> id = parseDigits(req.pathParams.value(QStringLiteral("id")));
    if (!id) {
        r.send(HttpError::notFound(QStringLiteral("turn")).toResponse());
        return;
    }
    admin.turn(*id, [r](Outcome<std::optional<QJsonObject>> result) {
        if (!result.ok())
            r.send(result.error().toResponse());
        else if (!result.value())
            r.send(HttpError::notFound(QStringLiteral("turn")).toResponse());
        else
            r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("turn"), *result.value()}}));
    });
}

void handleTurnAudio(AdminService &admin, const Principal &, const HttpRequest &req, const Responder &r)
{
    const std::optional<qint64> id = parseDigits(req.pathParams.value(QStringLiteral("id")));
    const std::optional<int> sentence = parseSentenceFileName(req.pathParams.value(QStringLiteral("sentence")));
    if (!id || !sentence) {
        r.send(HttpError::notFound(QStringLiteral("audio")).toResponse());
        return;
    }
    admin.sentenceAudio(*id, *sentence, [r](Outcome<std::optional<QByteArray>> result) {
        if (!result.ok()) {
            r.send(result.error().toResponse());
            return;
        }
        if (!result.value()) {
            r.send(HttpError::notFound(QStringLiteral("audio")).toResponse());
            return;
        }
        HttpResponse response;
        response.status = 200;
        response.contentType = "audio/wav";
        response.body = *result.value();
        r.send(std::move(response));
    });
}

const RouteDef kRoutes[] = {
    {"GET", "/api/v1/admin/sessions", "/api/v1/admin/sessions", &handleSessions},
    {"GET", "/api/v1/admin/queues", "/api/v1/admin/queues", &handleQueues},
    {"GET", "/api/v1/admin/users", "/api/v1/admin/users", &handleUsers},
    {"POST", "/api/v1/admin/users/{id}/disable", "/api/v1/admin/users/1/disable", &handleDisable},
    {"POST", "/api/v1/admin/users/{id}/enable", "/api/v1/admin/users/1/enable", &handleEnable},
    {"POST", "/api/v1/admin/sessions/{id}/stop", "/api/v1/admin/sessions/abc/stop", &handleStop},
    {"POST", "/api/v1/admin/sessions/{id}/disconnect", "/api/v1/admin/sessions/abc/disconnect", &handleDisconnect},
    {"GET", "/api/v1/admin/sessions/{id}/prompt", "/api/v1/admin/sessions/abc/prompt", &handlePrompt},
    {"GET", "/api/v1/admin/turns/{id}", "/api/v1/admin/turns/1", &handleTurn},
    {"GET", "/api/v1/admin/turns/{id}/audio/{sentence}", "/api/v1/admin/turns/1/audio/0.wav", &handleTurnAudio},
};

} // namespace

void registerAdminRoutes(Router &router, AdminService &admin)
{
    const QPointer<AdminService> service(&admin);
    for (const RouteDef &def : kRoutes) {
        const AdminHandler handler = def.handler;
        router.add(def.method, QString::fromLatin1(def.pattern), [service, handler](const HttpRequest &req, Responder r) {
            if (!service) {
                r.send(HttpError::shuttingDown().toResponse());
                return;
            }
            // Authorization comes first: an anonymous or non-admin caller learns nothing else.
            service->authorize(req, [service, handler, req, r](Outcome<Principal> who) {
                if (!who.ok()) {
                    r.send(who.error().toResponse());
                    return;
                }
                if (!service) {
                    r.send(HttpError::shuttingDown().toResponse());
                    return;
                }
                handler(*service, who.value(), req, r);
            });
        });
    }
}

QStringList adminRouteSamples()
{
    QStringList out;
    for (const RouteDef &def : kRoutes)
        out << QStringLiteral("%1 %2").arg(QLatin1String(def.method), QLatin1String(def.sample));
    return out;
}

} // namespace tianyi
