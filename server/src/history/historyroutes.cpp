#include "history/historyroutes.h"

#include "auth/accountservice.h"
#include "auth/authguard.h"
#include "history/audiostore.h"
#include "history/conversationeraser.h"
#include "net/requestparams.h"
#include "prompt/promptcontextcache.h"
#include "net/router.h"
#include "storage/database.h"
#include "storage/turnrepository.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonValue>
#include <QPointer>
#include <limits>

namespace tianyi {

QJsonObject turnToJson(const StoredTurn &t, const std::function<QString(qint64 turnId, int sentence)> &audioUrl)
{
    const auto isoUtc = [](qint64 ms) { return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs); };
    QJsonArray sentences;
    for (const SentenceAudio &a : t.sentences) {
        const QJsonValue url = a.relativePath.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(audioUrl(t.id, a.index));
        sentences.append(QJsonObject{{QStringLiteral("index"), a.index},
                                     {QStringLiteral("text"), a.text},
                                     {QStringLiteral("emotion"), a.emotion},
                                     {QStringLiteral("duration_ms"), a.durationMs},
                                     {QStringLiteral("audio_url"), url}});
    }
    return QJsonObject{{QStringLiteral("id"), t.id},
                       {QStringLiteral("session_id"), t.sessionId},
                       {QStringLiteral("turn"), t.turnNo},
                       {QStringLiteral("user_text"), t.userText},
                       {QStringLiteral("reply_text"), t.replyText},
                       {QStringLiteral("status"), t.status},
                       {QStringLiteral("emotion"), t.emotion},
                       {QStringLiteral("created_at"), isoUtc(t.createdAtMs)},
                       {QStringLiteral("completed_at"), t.completedAtMs > 0 ? QJsonValue(isoUtc(t.completedAtMs)) : QJsonValue(QJsonValue::Null)},
                       {QStringLiteral("stats"), t.stats},
                       {QStringLiteral("sentences"), sentences}};
}

namespace {

using Kind = HttpError::Kind;

constexpr int kDefaultLimit = 20;
constexpr int kMaxLimit = 100;

struct Deps {
    QPointer<AccountService> accounts;
    QPointer<AudioStore> audio;
    QPointer<PromptContextCache> contexts;
    Database *db = nullptr; // outlives the routes' users (closed after the front door)
};

// The same answer for "does not exist" and "is another user's": nothing is revealed.
HttpResponse notFound()
{
    return HttpError::notFound(QStringLiteral("audio")).toResponse();
}


bool unavailable(const Deps &d, const Responder &r)
{
    if (d.accounts && d.audio && d.contexts)
        return false;
    r.send(HttpError::shuttingDown().toResponse());
    return true;
}


struct HistoryPage {
    std::optional<HttpError> denied;
    QVector<StoredTurn> turns;
};

void handleHistory(const Deps &d, const HttpRequest &req, const Responder &r)
{
    const Outcome<Principal> who = d.accounts->guard().authenticate(req);
    if (!who.ok()) {
        r.send(who.error().toResponse());
        return;
    }
    QString problem;
    const qint64 before = queryInteger(req.query, QStringLiteral("before"), 0, 1, std::numeric_limits<qint64>::max(), &problem);
    const int limit = problem.isEmpty() ? int(queryInteger(req.query, QStringLiteral("limit"), kDefaultLimit, 1, kMaxLimit, &problem)) : 0;
    if (!problem.isEmpty()) {
        r.send(HttpError::of(Kind::BadRequest, problem).toResponse());
        return;
    }
    const Principal principal = who.value();
    d.db->read<HistoryPage>(d.audio, [principal, before, limit](SqlSession &s) {
        HistoryPage page;
        const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
        if (!account.ok()) {
            page.denied = account.error();
            return page;
        }
        // One more than asked: tells whether an older page exists.
        page.turns = TurnRepository::history(s, principal.userId, before, limit + 1);
        return page;
    }, [r, limit](DbResult<HistoryPage> result) {
        if (!result.ok()) {
            r.send(HttpError::storage(result.busy).toResponse());
            return;
        }
        const HistoryPage &page = *result.value;
        if (page.denied) {
            r.send(page.denied->toResponse());
            return;
        }
        QJsonArray turns;
        const int shown = qMin(limit, int(page.turns.size()));
        for (int i = 0; i < shown; ++i)
            turns.append(turnToJson(page.turns[i], [](qint64 turn, int sentence) {
                return QStringLiteral("/api/v1/me/audio/%1/%2.wav").arg(turn).arg(sentence);
            }));
        const QJsonValue next = page.turns.size() > limit ? QJsonValue(page.turns[shown - 1].id) : QJsonValue(QJsonValue::Null);
        r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("turns"), turns}, {QStringLiteral("next_before"), next}}));
    });
}

struct AudioLookup {
    std::optional<HttpError> denied;
    std::optional<SentenceAudio> audio;
};

void handleAudio(const Deps &d, const HttpRequest &req, const Responder &r)
{
    const Outcome<Principal> who = d.accounts->guard().authenticate(req);
    if (!who.ok()) {
        r.send(who.error().toResponse());
        return;
    }
    const std::optional<qint64> turnId = parseDigits(req.pathParams.value(QStringLiteral("turn_id")));
    const std::optional<int> sentence = parseSentenceFileName(req.pathParams.value(QStringLiteral("sentence")));
    if (!turnId || !sentence) {
        r.send(notFound());
        return;
    }
    const Principal principal = who.value();
    const qint64 turn = *turnId;
    const int index = *sentence;
    QPointer<AudioStore> audio = d.audio;
    d.db->read<AudioLookup>(d.audio, [principal, turn, index](SqlSession &s) {
        AudioLookup lookup;
        const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
        if (!account.ok())
            lookup.denied = account.error();
        else
            lookup.audio = TurnRepository::sentenceAudio(s, principal.userId, turn, index);
        return lookup;
    }, [r, audio](DbResult<AudioLookup> result) {
        if (!result.ok()) {
            r.send(HttpError::storage(result.busy).toResponse());
            return;
        }
        if (result.value->denied) {
            r.send(result.value->denied->toResponse());
            return;
        }
        if (!result.value->audio || !audio) {
            r.send(notFound());
            return;
        }
        const bool queued = audio->readFile(audio, result.value->audio->relativePath, [r](std::optional<QByteArray> bytes) {
            if (!bytes) {
                r.send(notFound());
                return;
            }
            HttpResponse response;
            response.status = 200;
            response.contentType = "audio/wav";
            response.body = std::move(*bytes);
            r.send(std::move(response));
        });
        if (!queued)
            r.send(HttpError::of(Kind::Busy, QStringLiteral("the server is busy; try again")).toResponse());
    });
}

void handleDeleteConversation(const Deps &d, const HttpRequest &req, const Responder &r)
{
    const Outcome<Principal> who = d.accounts->guard().authenticate(req);
    if (!who.ok()) {
        r.send(who.error().toResponse());
        return;
    }
    const QString sessionId = req.pathParams.value(QStringLiteral("session_id"));
    if (!ConversationEraser::isValidSessionId(sessionId)) {
        r.send(HttpError::of(Kind::BadRequest, QStringLiteral("session_id must be 1 to %1 of A-Z a-z 0-9 . _ : -")
                                                   .arg(ConversationEraser::kMaxSessionIdLength))
                   .toResponse());
        return;
    }
    const Principal principal = who.value();
    auto gate = [principal](SqlSession &s) -> std::optional<HttpError> {
        const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
        return account.ok() ? std::nullopt : std::optional<HttpError>(account.error());
    };
    ConversationEraser(*d.db, d.audio, *d.contexts).erase(principal.userId, sessionId, d.audio, [r](const ConversationDeletion &outcome) {
        using Status = ConversationDeletion::Status;
        switch (outcome.status) {
        case Status::Deleted: r.send(HttpResponse::noContent()); return;
        case Status::NotFound: r.send(HttpError::notFound(QStringLiteral("conversation")).toResponse()); return;
        case Status::InProgress:
            r.send(HttpResponse::error(409, QStringLiteral("conversation_in_progress"),
                                       QStringLiteral("a reply of this conversation, or the processing after one, is still running; try again shortly")));
            return;
        case Status::Denied: r.send(outcome.denied->toResponse()); return;
        case Status::StorageBusy: r.send(HttpError::storage(true).toResponse()); return;
        case Status::StorageError: r.send(HttpError::storage(false).toResponse()); return;
        }
    }, gate);
}

} // namespace

void registerHistoryRoutes(Router &router, AccountService &accounts, Database &db, AudioStore &audio, PromptContextCache &contexts)
{
    const Deps deps{QPointer<AccountService>(&accounts), QPointer<AudioStore>(&audio), QPointer<PromptContextCache>(&contexts), &db};
    using Handler = void (*)(const Deps &, const HttpRequest &, const Responder &);
    auto bind = [deps](Handler handler) {
        return [deps, handler](const HttpRequest &req, Responder r) {
            if (!unavailable(deps, r))
                handler(deps, req, r);
        };
    };
    router.add("GET", QStringLiteral("/api/v1/me/history"), bind(&handleHistory));
    router.add("GET", QStringLiteral("/api/v1/me/audio/{turn_id}/{sentence}"), bind(&handleAudio));
    router.add("DELETE", QStringLiteral("/api/v1/me/history/conversations/{session_id}"), bind(&handleDeleteConversation));
}

} // namespace tianyi
