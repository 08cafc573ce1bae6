#include "outbox/outbox.h"

#include "metrics/metrics.h"
#include "storage/database.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QPointer>

Q_LOGGING_CATEGORY(lcOutbox, "tianyi.outbox")

namespace tianyi {

namespace {

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

const QStringList kStatuses = {QStringLiteral("pending"), QStringLiteral("running"), QStringLiteral("done"), QStringLiteral("dead")};

struct PollResult {
    QVector<OutboxJob> jobs;
    QHash<QString, int> counts;
};

} // namespace

namespace Outbox {

qint64 enqueue(SqlSession &s, const QString &kind, qint64 userId, const QJsonObject &payload, qint64 dueAtMs)
{
    const qint64 now = nowMs();
    QSqlQuery q = s.exec(QStringLiteral("INSERT INTO outbox(kind, user_id, payload, status, attempts, next_attempt_at, last_error, created_at, updated_at)"
                                        " VALUES (?, ?, ?, 'pending', 0, ?, '', ?, ?)"),
                         {kind, userId, QString::fromUtf8(QJsonDocument(payload).toJson(QJsonDocument::Compact)), dueAtMs > 0 ? dueAtMs : now, now, now});
    return s.lastInsertId(q);
}

int resumeRunning(SqlSession &s, qint64 now)
{
    QSqlQuery q = s.exec(QStringLiteral("UPDATE outbox SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE status = 'running'"), {now, now});
    return q.numRowsAffected();
}

QVector<OutboxJob> claimDue(SqlSession &s, qint64 now, int limit, const QSet<qint64> &busyUsers)
{
    QVector<OutboxJob> out;
    if (limit <= 0)
        return out;
    QSet<qint64> taken = busyUsers;
    // A few more rows than needed: some may belong to users that already have a job running.
    QSqlQuery q = s.exec(QStringLiteral("SELECT id, kind, user_id, payload, attempts FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
                                        " ORDER BY next_attempt_at, id LIMIT ?"),
                         {now, limit * 8 + busyUsers.size()});
    while (q.next() && out.size() < limit) {
        OutboxJob job;
        job.id = q.value(0).toLongLong();
        job.kind = q.value(1).toString();
        job.userId = q.value(2).toLongLong();
        if (taken.contains(job.userId))
            continue;
        taken.insert(job.userId);
        job.payload = QJsonDocument::fromJson(q.value(3).toString().toUtf8()).object();
        job.attempts = q.value(4).toInt() + 1;
        out.append(job);
    }
    for (const OutboxJob &job : std::as_const(out))
        s.exec(QStringLiteral("UPDATE outbox SET status = 'running', attempts = ?, updated_at = ? WHERE id = ?"), {job.attempts, now, job.id});
    return out;
}

void markDone(SqlSession &s, qint64 id, qint64 now)
{
    s.exec(QStringLiteral("UPDATE outbox SET status = 'done', last_error = '', updated_at = ? WHERE id = ?"), {now, id});
}

void markFailed(SqlSession &s, qint64 id, const QString &error, bool dead, qint64 retryAtMs, qint64 now)
{
    s.exec(QStringLiteral("UPDATE outbox SET status = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?"),
           {dead ? QStringLiteral("dead") : QStringLiteral("pending"), error.isNull() ? QStringLiteral("") : error.left(2000), retryAtMs, now, id});
}

QHash<QString, int> countByStatus(SqlSession &s)
{
    QHash<QString, int> out;
    for (const QString &status : kStatuses)
        out.insert(status, 0);
    QSqlQuery q = s.exec(QStringLiteral("SELECT status, COUNT(*) FROM outbox GROUP BY status"));
    while (q.next())
        out.insert(q.value(0).toString(), q.value(1).toInt());
    return out;
}

int pruneDone(SqlSession &s, qint64 olderThanMs)
{
    QSqlQuery q = s.exec(QStringLiteral("DELETE FROM outbox WHERE status = 'done' AND updated_at < ?"), {olderThanMs});
    return q.numRowsAffected();
}

void removeUser(SqlSession &s, qint64 userId)
{
    s.exec(QStringLiteral("DELETE FROM outbox WHERE user_id = ?"), {userId});
}

bool hasRunningJob(SqlSession &s, qint64 userId)
{
    return s.scalar(QStringLiteral("SELECT 1 FROM outbox WHERE user_id = ? AND status = 'running' LIMIT 1"), {userId}).has_value();
}

} // namespace Outbox

OutboxWorker::OutboxWorker(Database &db, Metrics &metrics, QObject *parent)
    : QObject(parent)
    , m_db(db)
    , m_metrics(metrics)
{
    m_timer.setInterval(kPollIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &OutboxWorker::poll);
    m_metrics.declareGaugeCallback(QStringLiteral("tianyi_outbox_jobs"), QStringLiteral("Outbox jobs by status (as of the last poll)."),
                                   [self = QPointer<OutboxWorker>(this)]() {
                                       QList<QPair<Labels, double>> out;
                                       for (const QString &status : kStatuses)
                                           out.append({{{QStringLiteral("status"), status}}, self ? double(self->m_counts.value(status)) : 0.0});
                                       return out;
                                   });
    m_metrics.declareCounter(QStringLiteral("tianyi_outbox_attempts_total"), QStringLiteral("Outbox job attempts by kind and result."));
}

OutboxWorker::~OutboxWorker() = default;

void OutboxWorker::registerHandler(const QString &kind, Handler handler)
{
    m_handlers.insert(kind, std::move(handler));
}

void OutboxWorker::start()
{
    m_stopped = false;
    m_db.write<int>(this, [](SqlSession &s) { return Outbox::resumeRunning(s, nowMs()); }, [this](DbResult<int> r) {
        if (r.ok() && *r.value > 0)
            qCInfo(lcOutbox) << *r.value << "jobs left running by a previous run are pending again";
        if (!r.ok())
            qCWarning(lcOutbox) << "cannot resume running jobs:" << r.error;
    });
    m_timer.start();
    wake();
}

void OutboxWorker::stop()
{
    m_stopped = true;
    m_timer.stop();
}

void OutboxWorker::wake()
{
    if (!m_stopped)
        QMetaObject::invokeMethod(this, &OutboxWorker::poll, Qt::QueuedConnection);
}

qint64 OutboxWorker::backoffMs(int attempts, int baseMs, int capMs)
{
    qint64 delay = baseMs;
    for (int i = 1; i < attempts && delay < capMs; ++i)
        delay *= 2;
    return qMin<qint64>(delay, capMs);
}

void OutboxWorker::setRetryPolicy(int maxAttempts, int baseBackoffMs, int maxBackoffMs)
{
    m_maxAttempts = qMax(1, maxAttempts);
    m_baseBackoffMs = qMax(0, baseBackoffMs);
    m_maxBackoffMs = qMax(m_baseBackoffMs, maxBackoffMs);
}

void OutboxWorker::setPollInterval(int ms)
{
    m_timer.setInterval(qMax(1, ms));
}

void OutboxWorker::poll()
{
    if (m_stopped)
        return;
    if (m_polling) {
        m_pollAgain = true;
        return;
    }
    m_polling = true;
    const int room = kMaxInFlight - m_inFlight;
    const QSet<qint64> busy = m_busyUsers;
    m_db.write<PollResult>(this, [room, busy](SqlSession &s) {
        PollResult r;
        r.jobs = Outbox::claimDue(s, nowMs(), room, busy);
        Outbox::pruneDone(s, nowMs() - kDoneRetentionMs);
        r.counts = Outbox::countByStatus(s);
        return r;
    }, [this](DbResult<PollResult> r) {
        m_polling = false;
        if (!r.ok()) {
            if (!r.busy)
                qCWarning(lcOutbox) << "poll failed:" << r.error;
        } else {
            m_counts = r.value->counts;
            for (const OutboxJob &job : std::as_const(r.value->jobs))
                run(job);
        }
        emit polled();
        if (m_pollAgain) {
            m_pollAgain = false;
            wake();
        }
    });
}

void OutboxWorker::run(const OutboxJob &job)
{
    ++m_inFlight;
    m_busyUsers.insert(job.userId);
    const auto handler = m_handlers.constFind(job.kind);
    if (handler == m_handlers.constEnd()) {
        finishJob(job, false, QStringLiteral("no handler for kind \"%1\"").arg(job.kind));
        return;
    }
    auto called = std::make_shared<bool>(false);
    QPointer<OutboxWorker> self(this);
    (*handler)(job, [self, job, called](bool ok, const QString &error) {
        if (*called || !self)
            return;
        *called = true;
        self->finishJob(job, ok, error);
    });
}

void OutboxWorker::finishJob(const OutboxJob &job, bool ok, const QString &error)
{
    const bool dead = !ok && job.attempts >= m_maxAttempts;
    const qint64 retryAt = nowMs() + backoffMs(job.attempts, m_baseBackoffMs, m_maxBackoffMs);
    const QString status = ok ? QStringLiteral("done") : dead ? QStringLiteral("dead") : QStringLiteral("pending");
    m_metrics.increment(QStringLiteral("tianyi_outbox_attempts_total"), {{QStringLiteral("kind"), job.kind}, {QStringLiteral("result"), ok ? QStringLiteral("ok") : QStringLiteral("failed")}});
    if (!ok) {
        if (dead)
            qCWarning(lcOutbox).noquote() << "job" << job.id << job.kind << "is dead after" << job.attempts << "attempts:" << error;
        else
            qCInfo(lcOutbox).noquote() << "job" << job.id << job.kind << "failed (attempt" << job.attempts << "), retry in"
                                       << (retryAt - nowMs()) << "ms:" << error;
    }
    m_db.write<bool>(this, [id = job.id, ok, dead, error, retryAt](SqlSession &s) {
        if (ok)
            Outbox::markDone(s, id, nowMs());
        else
            Outbox::markFailed(s, id, error, dead, retryAt, nowMs());
        return true;
    }, [this, job, status](DbResult<bool> r) {
        --m_inFlight;
        m_busyUsers.remove(job.userId);
        if (!r.ok())
            qCWarning(lcOutbox) << "cannot mark job" << job.id << ":" << r.error;
        emit jobFinished(job.id, job.kind, status);
        wake();
    });
}

} // namespace tianyi
