#include "admin/adminservice.h"

#include "history/historyroutes.h"

#include "base/logging.h"
#include "auth/accountservice.h"
#include "history/audiostore.h"
#include "dialog/chatgateway.h"
#include "dialog/chatsession.h"
#include "dialog/ttsscheduler.h"
#include "outbox/outbox.h"
#include "storage/database.h"
#include "storage/refreshtokenrepository.h"
#include "storage/userrepository.h"
#include "upstream/gptsovitspool.h"
#include "upstream/llm.h"
#include "upstream/openaillmclient.h"
#include "upstream/requestscheduler.h"
#include "upstream/tts.h"

#include <tianyi/chatprotocol.h>

#include <QDateTime>

namespace tianyi {

namespace {

using Kind = HttpError::Kind;


HttpError forbidden()
{
    return HttpError::of(Kind::Forbidden, QStringLiteral("this needs an admin account"));
}

QJsonValue msOrNull(qint64 ms)
{
    return ms >= 0 ? QJsonValue(ms) : QJsonValue(QJsonValue::Null);
}

struct Checked {
    std::optional<HttpError> denied;
    Principal principal;
};

struct UserChange {
    bool found = false;
    QJsonObject user;
    int revoked = 0;
};

struct TurnLookup {
    std::optional<StoredTurn> turn;
    QString username;
};

} // namespace

AdminService::AdminService(const AdminServices &services, QObject *parent)
    : QObject(parent)
    , m_s(services)
{
}

AdminService::~AdminService() = default;

QString AdminService::isoUtc(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

// ---- authorization --------------------------------------------------------------------------

void AdminService::authorize(const HttpRequest &request, Done<Principal> done)
{
    const Outcome<Principal> who = m_s.accounts->guard().authenticate(request);
    if (!who.ok()) {
        done(who.error());
        return;
    }
    authorize(request.bearerToken(), std::move(done));
}

void AdminService::authorize(const QByteArray &accessToken, Done<Principal> done)
{
    const Outcome<Principal> who = m_s.accounts->guard().authenticateToken(accessToken);
    if (!who.ok()) {
        done(who.error());
        return;
    }
    if (!who.value().isAdmin()) {
        done(forbidden()); // the token alone settles it: no storage round trip
        return;
    }
    const Principal principal = who.value();
    // The stored role and disabled flag decide: a demoted or disabled admin loses access at once.
    m_s.db->read<Checked>(this, [principal](SqlSession &s) {
        Checked c;
        const Outcome<Principal> account = AuthGuard::checkAccount(s, principal);
        if (!account.ok())
            c.denied = account.error();
        else
            c.principal = account.value();
        return c;
    }, [done](DbResult<Checked> result) {
        if (!result.ok()) {
            done(HttpError::storage(result.busy));
            return;
        }
        if (result.value->denied) {
            done(*result.value->denied);
            return;
        }
        if (!result.value->principal.isAdmin()) {
            done(forbidden());
            return;
        }
        done(result.value->principal);
    });
}

// ---- live state -----------------------------------------------------------------------------

QJsonObject AdminService::sessionJson(const ChatSession &session)
{
    const int current = session.currentTurn();
    return QJsonObject{{QStringLiteral("id"), session.sessionId()},
                       {QStringLiteral("user_id"), session.userId()},
                       {QStringLiteral("username"), session.username()},
                       {QStringLiteral("device"), session.device().isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(session.device())},
                       {QStringLiteral("user_agent"),
                        session.userAgent().isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(session.userAgent())},
                       {QStringLiteral("since"), session.openedAtMs() > 0 ? QJsonValue(isoUtc(session.openedAtMs())) : QJsonValue(QJsonValue::Null)},
                       {QStringLiteral("state"), ChatSession::stateName(session.state())},
                       {QStringLiteral("current_turn"), current > 0 ? QJsonValue(current) : QJsonValue(QJsonValue::Null)},
                       {QStringLiteral("turns"), session.turnCount()},
                       {QStringLiteral("last_ttft_ms"), msOrNull(session.lastTtftMs())},
                       {QStringLiteral("last_first_audio_ms"), msOrNull(session.lastFirstAudioMs())},
                       {QStringLiteral("last_turn_id"), session.lastTurnId() > 0 ? QJsonValue(session.lastTurnId()) : QJsonValue(QJsonValue::Null)}};
}

QJsonArray AdminService::sessionsJson() const
{
    QList<ChatSession *> sessions = m_s.chat->sessions();
    std::sort(sessions.begin(), sessions.end(), [](const ChatSession *a, const ChatSession *b) {
        return a->openedAtMs() != b->openedAtMs() ? a->openedAtMs() < b->openedAtMs() : a->sessionId() < b->sessionId();
    });
    QJsonArray out;
    for (const ChatSession *s : sessions)
        if (s->phase() != ChatSession::Phase::Closed) // closing: gone for the operator
            out.append(sessionJson(*s));
    return out;
}

QJsonObject AdminService::queuesJson() const
{
    QJsonObject llm{{QStringLiteral("provider"), m_s.llm ? m_s.llm->name() : QString()},
                    {QStringLiteral("built_in"), m_s.llm ? m_s.llm->isBuiltIn() : true},
                    {QStringLiteral("in_flight"), 0},
                    {QStringLiteral("waiting"), 0}};
    if (auto *openai = dynamic_cast<OpenAiLlmClient *>(m_s.llm)) {
        RequestScheduler &scheduler = openai->scheduler();
        llm.insert(QStringLiteral("in_flight"), scheduler.inFlight());
        llm.insert(QStringLiteral("waiting"), scheduler.waiting());
        llm.insert(QStringLiteral("max_concurrent"), scheduler.options().maxConcurrent);
    }

    QJsonObject tts{{QStringLiteral("provider"), m_s.tts ? m_s.tts->name() : QString()},
                    {QStringLiteral("built_in"), m_s.tts ? m_s.tts->isBuiltIn() : true}};
    if (m_s.chat) {
        TtsScheduler &scheduler = m_s.chat->ttsScheduler();
        tts.insert(QStringLiteral("queued"), scheduler.queued());
        tts.insert(QStringLiteral("running"), scheduler.running());
        tts.insert(QStringLiteral("capacity"), scheduler.capacity());
    }
    QJsonArray backends;
    if (auto *pool = dynamic_cast<GptSovitsPool *>(m_s.tts)) {
        for (int i = 0; i < pool->backendCount(); ++i)
            backends.append(QJsonObject{{QStringLiteral("url"), pool->backendUrl(i)},
                                        {QStringLiteral("state"), GptSovitsPool::stateName(pool->backendState(i))},
                                        {QStringLiteral("up"), pool->backendUp(i)},
                                        {QStringLiteral("in_flight"), pool->backendInFlight(i)}});
        tts.insert(QStringLiteral("pool_queue"), pool->queueDepth());
    }
    tts.insert(QStringLiteral("backends"), backends);

    QJsonObject out{{QStringLiteral("at"), isoUtc(QDateTime::currentMSecsSinceEpoch())},
                    {QStringLiteral("llm"), llm},
                    {QStringLiteral("tts"), tts},
                    {QStringLiteral("sessions"), m_s.chat ? m_s.chat->sessionCount() : 0}};
    if (m_s.extraQueues)
        out.insert(QStringLiteral("work"), m_s.extraQueues());
    if (m_s.outbox) // backlog as of the worker's last poll (about every second)
        out.insert(QStringLiteral("outbox"), QJsonObject{{QStringLiteral("pending"), m_s.outbox->backlog(QStringLiteral("pending"))},
                                                         {QStringLiteral("running"), m_s.outbox->backlog(QStringLiteral("running"))},
                                                         {QStringLiteral("dead"), m_s.outbox->backlog(QStringLiteral("dead"))},
                                                         {QStringLiteral("in_flight"), m_s.outbox->inFlight()}});
    return out;
}

ChatSession *AdminService::findSession(const QString &sessionId) const
{
    if (!m_s.chat)
        return nullptr;
    const QList<ChatSession *> sessions = m_s.chat->sessions();
    for (ChatSession *s : sessions)
        if (s->sessionId() == sessionId && s->phase() != ChatSession::Phase::Closed)
            return s;
    return nullptr;
}

int AdminService::closeSessionsOf(qint64 userId, int code, const QString &reason)
{
    if (!m_s.chat)
        return 0;
    return m_s.chat->closeSessionsOf(userId, code, reason);
}

// ---- users ----------------------------------------------------------------------------------

QJsonObject AdminService::userJson(qint64 id, const QString &username, const QString &role, bool disabled, qint64 createdAtMs)
{
    return QJsonObject{{QStringLiteral("id"), id},
                       {QStringLiteral("username"), username},
                       {QStringLiteral("role"), role},
                       {QStringLiteral("disabled"), disabled},
                       {QStringLiteral("created_at"), isoUtc(createdAtMs)}};
}

void AdminService::listUsers(qint64 afterId, int limit, Done<UserPage> done)
{
    m_s.db->read<UserPage>(this, [afterId, limit](SqlSession &s) {
        UserPage page;
        // One more than asked tells whether another page exists.
        QSqlQuery q = s.exec(QStringLiteral("SELECT id, username, role, disabled, created_at FROM users WHERE id > ? ORDER BY id LIMIT ?"),
                             {afterId, limit + 1});
        int n = 0;
        qint64 lastId = 0;
        while (q.next()) {
            if (n == limit) {
                page.nextAfter = lastId;
                break;
            }
            lastId = q.value(0).toLongLong();
            page.users.append(userJson(lastId, q.value(1).toString(), q.value(2).toString(), q.value(3).toInt() != 0, q.value(4).toLongLong()));
            ++n;
        }
        page.total = s.scalar(QStringLiteral("SELECT COUNT(*) FROM users")).value_or(QVariant(0)).toLongLong();
        return page;
    }, [done](DbResult<UserPage> result) {
        if (!result.ok())
            done(HttpError::storage(result.busy));
        else
            done(std::move(*result.value));
    });
}

void AdminService::setDisabled(const Principal &admin, qint64 userId, bool disabled, Done<std::optional<QJsonObject>> done)
{
    if (disabled && admin.userId == userId) {
        done(HttpError::of(Kind::BadRequest, QStringLiteral("an admin cannot disable their own account")));
        return;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_s.db->write<UserChange>(this, [userId, disabled, now](SqlSession &s) {
        UserChange change;
        UserRepository users(s);
        std::optional<UserRecord> user = users.findById(userId);
        if (!user)
            return change;
        change.found = true;
        users.setDisabled(userId, disabled);
        if (disabled)
            change.revoked = RefreshTokenRepository(s).revokeAllOfUser(userId, now);
        change.user = userJson(user->id, user->username, user->role, disabled, user->createdAtMs);
        return change;
    }, [this, userId, disabled, done](DbResult<UserChange> result) {
        if (!result.ok()) {
            done(HttpError::storage(result.busy));
            return;
        }
        if (!result.value->found) {
            done(Outcome<std::optional<QJsonObject>>(std::optional<QJsonObject>()));
            return;
        }
        // The write is committed: sessions authenticating now read the flag and are refused; the
        // ones already open close here.
        int closed = 0;
        if (disabled)
            closed = closeSessionsOf(userId, chat::kCloseKicked, QStringLiteral("account disabled by an administrator"));
        qCInfo(lcAuth).noquote() << "admin:" << (disabled ? "disabled" : "enabled") << "user" << userId
                                 << (disabled ? QStringLiteral("(%1 refresh tokens revoked, %2 sessions closed)").arg(result.value->revoked).arg(closed)
                                              : QString());
        emit usersChanged(result.value->user, disabled ? QStringLiteral("disabled") : QStringLiteral("enabled"));
        done(Outcome<std::optional<QJsonObject>>(std::optional<QJsonObject>(result.value->user)));
    });
}

// ---- turns ----------------------------------------------------------------------------------

QJsonObject AdminService::turnJson(const StoredTurn &t, const QString &username)
{
    QJsonObject json = turnToJson(t, [](qint64 turn, int sentence) {
        return QStringLiteral("/api/v1/admin/turns/%1/audio/%2.wav").arg(turn).arg(sentence);
    });
    json.insert(QStringLiteral("user_id"), t.userId);
    json.insert(QStringLiteral("username"), username);
    return json;
}

namespace {
// The owner of a turn (TurnRepository is scoped by user: find the user first, then read as them).
std::optional<qint64> ownerOfTurn(SqlSession &s, qint64 turnId)
{
    const std::optional<QVariant> owner = s.scalar(QStringLiteral("SELECT user_id FROM turns WHERE id = ?"), {turnId});
    if (!owner || owner->isNull())
        return std::nullopt;
    return owner->toLongLong();
}
} // namespace

void AdminService::turn(qint64 turnId, Done<std::optional<QJsonObject>> done)
{
    m_s.db->read<TurnLookup>(this, [turnId](SqlSession &s) {
        TurnLookup lookup;
        const std::optional<qint64> owner = ownerOfTurn(s, turnId);
        if (!owner)
            return lookup;
        lookup.turn = TurnRepository::turn(s, *owner, turnId);
        if (const auto user = UserRepository(s).findById(*owner))
            lookup.username = user->username;
        return lookup;
    }, [done](DbResult<TurnLookup> result) {
        if (!result.ok()) {
            done(HttpError::storage(result.busy));
            return;
        }
        std::optional<QJsonObject> json;
        if (result.value->turn)
            json = turnJson(*result.value->turn, result.value->username);
        done(Outcome<std::optional<QJsonObject>>(std::move(json)));
    });
}

void AdminService::sentenceAudio(qint64 turnId, int sentence, Done<std::optional<QByteArray>> done)
{
    m_s.db->read<std::optional<SentenceAudio>>(this, [turnId, sentence](SqlSession &s) -> std::optional<SentenceAudio> {
        const std::optional<qint64> owner = ownerOfTurn(s, turnId);
        if (!owner)
            return std::nullopt;
        return TurnRepository::sentenceAudio(s, *owner, turnId, sentence);
    }, [this, done](DbResult<std::optional<SentenceAudio>> result) {
        if (!result.ok()) {
            done(HttpError::storage(result.busy));
            return;
        }
        const std::optional<SentenceAudio> &audio = *result.value;
        if (!audio || audio->relativePath.isEmpty() || !m_s.audio) {
            done(Outcome<std::optional<QByteArray>>(std::optional<QByteArray>()));
            return;
        }
        const bool queued = m_s.audio->readFile(this, audio->relativePath, [done](std::optional<QByteArray> bytes) {
            done(Outcome<std::optional<QByteArray>>(std::move(bytes)));
        });
        if (!queued)
            done(HttpError::storage(true));
    });
}

} // namespace tianyi
