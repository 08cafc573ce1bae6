#include "memory/memoryroutes.h"

#include "auth/accountservice.h"
#include "auth/authguard.h"
#include "auth/requestbody.h"
#include "memory/memoryindex.h"
#include "memory/memoryrepository.h"
#include "memory/memoryservice.h"
#include "net/requestparams.h"
#include "net/router.h"
#include "storage/database.h"

#include <QDateTime>
#include <QJsonArray>
#include <QPointer>
#include <limits>

namespace tianyi {

namespace {

using Kind = HttpError::Kind;

struct Deps {
    QPointer<AccountService> accounts;
    QPointer<MemoryService> memory;
};

bool unavailable(const Deps &d, const Responder &r)
{
    if (d.accounts && d.memory)
        return false;
    r.send(HttpError::shuttingDown().toResponse());
    return true;
}

// Answers a storage failure or a denied account (disabled or gone since the token was issued);
// true when it did, and the caller is done.
template <typename Result>
bool answeredProblem(const DbResult<Result> &result, const Responder &r)
{
    if (!result.ok()) {
        r.send(HttpError::storage(result.busy).toResponse());
        return true;
    }
    if (result.value->denied) {
        r.send(result.value->denied->toResponse());
        return true;
    }
    return false;
}

// The same answer for "does not exist" and "is another user's".
HttpResponse notFound()
{
    return HttpError::notFound(QStringLiteral("memory")).toResponse();
}

QJsonValue isoUtc(qint64 ms)
{
    if (ms <= 0)
        return QJsonValue(QJsonValue::Null);
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

constexpr int kDefaultPage = 50;
constexpr int kMaxPage = 200;

struct Listing {
    std::optional<HttpError> denied;
    QVector<MemoryRecord> memories;
};

struct Removal {
    std::optional<HttpError> denied;
    bool removed = false;
};

void handleList(const Deps &d, const HttpRequest &req, const Responder &r)
{
    const Outcome<Principal> who = d.accounts->guard().authenticate(req);
    if (!who.ok()) {
        r.send(who.error().toResponse());
        return;
    }
    QString problem;
    const qint64 beforeId = queryInteger(req.query, QStringLiteral("before"), 0, 0, std::numeric_limits<qint64>::max(), &problem);
    const int limit = int(queryInteger(req.query, QStringLiteral("limit"), kDefaultPage, 1, kMaxPage, &problem));
    if (!problem.isEmpty()) {
        r.send(HttpError::of(HttpError::Kind::BadRequest, problem).toResponse());
        return;
    }
    const Principal principal = who.value();
    d.memory->database().read<Listing>(d.memory, [principal, beforeId, limit](SqlSession &s) {
        Listing l;
        const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
        if (!account.ok())
            l.denied = account.error();
        else
            l.memories = MemoryRepository::page(s, principal.userId, beforeId, limit + 1); // one more: is there a next page?
        return l;
    }, [r, limit](DbResult<Listing> result) {
        if (answeredProblem(result, r))
            return;
        QVector<MemoryRecord> &memories = result.value->memories;
        const bool more = memories.size() > limit;
        if (more)
            memories.resize(limit);
        QJsonArray list;
        for (const MemoryRecord &m : std::as_const(memories))
            list.append(QJsonObject{{QStringLiteral("id"), m.id},
                                    {QStringLiteral("text"), m.text},
                                    {QStringLiteral("kind"), m.kind},
                                    {QStringLiteral("importance"), m.importance},
                                    {QStringLiteral("created_at"), isoUtc(m.createdAtMs)},
                                    {QStringLiteral("last_used_at"), isoUtc(m.lastUsedAtMs)}});
        r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("memories"), list},
                                                   {QStringLiteral("next_before"), more ? QJsonValue(memories.last().id) : QJsonValue(QJsonValue::Null)}}));
    });
}

void handleDeleteOne(const Deps &d, const HttpRequest &req, const Responder &r)
{
    const Outcome<Principal> who = d.accounts->guard().authenticate(req);
    if (!who.ok()) {
        r.send(who.error().toResponse());
        return;
    }
    const std::optional<qint64> parsed = parseDigits(req.pathParams.value(QStringLiteral("id")));
    if (!parsed) {
        r.send(notFound());
        return;
    }
    const qint64 id = *parsed;
    const Principal principal = who.value();
    MemoryIndex *index = &d.memory->index();
    d.memory->database().write<Removal>(d.memory, [principal, id, index](SqlSession &s) {
        Removal out;
        const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
        if (!account.ok()) {
            out.denied = account.error();
            return out;
        }
        out.removed = MemoryRepository::remove(s, principal.userId, id);
        if (out.removed)
            index->remove(principal.userId, id);
        return out;
    }, [r](DbResult<Removal> result) {
        if (answeredProblem(result, r))
            return;
        r.send(result.value->removed ? HttpResponse::noContent() : notFound());
    });
}

void handleDeleteAccount(const Deps &d, const HttpRequest &req, const Responder &r)
{
    const Outcome<Principal> who = d.accounts->guard().authenticate(req);
    if (!who.ok()) {
        r.send(who.error().toResponse());
        return;
    }
    // Re-authentication: a stolen access token alone must not be able to destroy the account.
    const JsonBody body = parseJsonObject(req);
    const QJsonValue password = body.object.value(QStringLiteral("password"));
    if (!body.problem.isEmpty() || !password.isString() || password.toString().isEmpty()) {
        r.send(HttpError::of(Kind::BadRequest, body.problem.isEmpty() ? QStringLiteral("password (the current password) is required")
                                                                      : body.problem).toResponse());
        return;
    }
    QPointer<MemoryService> memory = d.memory;
    // The account is checked (deleted, disabled or signed out gets the usual answer) with the password.
    d.accounts->confirmPassword(who.value(), password.toString(), AccountService::clientAddress(req), [r, memory](Outcome<Principal> confirmed) {
        if (!confirmed.ok()) {
            r.send(confirmed.error().toResponse());
            return;
        }
        if (!memory) {
            r.send(HttpError::storage(true).toResponse());
            return;
        }
        memory->deleteAccount(confirmed.value().userId, [r](bool ok, const QString &error) {
            if (!ok) {
                qCWarning(lcMemory).noquote() << "account deletion incomplete:" << error;
                r.send(HttpError::of(Kind::Internal, QStringLiteral("the account could not be deleted completely")).toResponse());
                return;
            }
            r.send(HttpResponse::noContent());
        });
    });
}

} // namespace

void registerMemoryRoutes(Router &router, AccountService &accounts, MemoryService &memory)
{
    const Deps deps{QPointer<AccountService>(&accounts), QPointer<MemoryService>(&memory)};
    using Handler = void (*)(const Deps &, const HttpRequest &, const Responder &);
    auto bind = [deps](Handler handler) {
        return [deps, handler](const HttpRequest &req, Responder r) {
            if (!unavailable(deps, r))
                handler(deps, req, r);
        };
    };
    router.add("GET", QStringLiteral("/api/v1/me/memories"), bind(&handleList));
    router.add("DELETE", QStringLiteral("/api/v1/me/memories/{id}"), bind(&handleDeleteOne));
    router.add("DELETE", QStringLiteral("/api/v1/me"), bind(&handleDeleteAccount));
}

} // namespace tianyi
