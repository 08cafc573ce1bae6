#pragma once
// Reliable background jobs (the transactional outbox). A job is a row of table `outbox` written in
// the same transaction as the change that causes it (e.g. the finished turn), so a job exists if and
// only if its cause was committed. The OutboxWorker (event-loop thread) claims due jobs in a write
// transaction, runs the handler registered for the job's kind, and marks the job done, or schedules
// a retry with exponential backoff, or moves it to `dead` after kMaxAttempts. Handlers must be
// idempotent: a crash between the handler's effect and "done" runs the job again (running jobs are
// pending again at startup).

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>
#include <QVector>
#include <QLoggingCategory>
#include <functional>

Q_DECLARE_LOGGING_CATEGORY(lcOutbox)

namespace tianyi {

class Database;
class Metrics;
class SqlSession;

struct OutboxJob {
    qint64 id = 0;
    QString kind;
    qint64 userId = 0;
    QJsonObject payload;
    int attempts = 0;   // including the current one
};

namespace Outbox {

// Storage thread, inside the caller's write transaction. Returns the job id. Due at once (or at dueAtMs).
qint64 enqueue(SqlSession &s, const QString &kind, qint64 userId, const QJsonObject &payload, qint64 dueAtMs = 0);
// Jobs left running by a crash are pending again (due now). Returns how many.
int resumeRunning(SqlSession &s, qint64 nowMs);
// Claims up to `limit` due pending jobs (status running, attempts + 1), at most one per user and
// none of `busyUsers` (a user's jobs run one after another). Call inside a write transaction.
QVector<OutboxJob> claimDue(SqlSession &s, qint64 nowMs, int limit, const QSet<qint64> &busyUsers);
void markDone(SqlSession &s, qint64 id, qint64 nowMs);
// Pending again at retryAtMs, or dead when `dead`.
void markFailed(SqlSession &s, qint64 id, const QString &error, bool dead, qint64 retryAtMs, qint64 nowMs);
// status -> number of jobs
QHash<QString, int> countByStatus(SqlSession &s);
// Done jobs last updated before olderThanMs go (the table does not grow forever). Returns how many.
int pruneDone(SqlSession &s, qint64 olderThanMs);
// Account deletion: every job of the user goes.
void removeUser(SqlSession &s, qint64 userId);
// A job of the user has been claimed and not yet marked (it may hold what it read). A claim is a
// write, so inside a write transaction the answer is exact for the storage queue's order.
bool hasRunningJob(SqlSession &s, qint64 userId);

} // namespace Outbox

class OutboxWorker : public QObject
{
    Q_OBJECT
public:
    static constexpr int kMaxAttempts = 5;               // then dead
    static constexpr int kBaseBackoffMs = 2000;          // after the 1st failure; doubles each time
    static constexpr int kMaxBackoffMs = 10 * 60 * 1000; // cap
    static constexpr int kMaxInFlight = 4;               // handlers running at once
    static constexpr int kPollIntervalMs = 1000;
    static constexpr qint64 kDoneRetentionMs = 24LL * 3600 * 1000; // done jobs are kept this long (inspection)

    // done(ok, error): call exactly once, on the event-loop thread.
    using Done = std::function<void(bool ok, const QString &error)>;
    using Handler = std::function<void(const OutboxJob &job, Done done)>;

    OutboxWorker(Database &db, Metrics &metrics, QObject *parent = nullptr);
    ~OutboxWorker() override;

    void registerHandler(const QString &kind, Handler handler);
    // Makes running jobs pending again, then polls every poll interval. Call before listening.
    void start();
    void stop();
    // Polls now (e.g. after enqueuing).
    void wake();

    // The delay before attempt `attempts + 1` after `attempts` failed ones.
    static qint64 backoffMs(int attempts, int baseMs = kBaseBackoffMs, int capMs = kMaxBackoffMs);

    // Tests and tuning.
    void setRetryPolicy(int maxAttempts, int baseBackoffMs, int maxBackoffMs);
    void setPollInterval(int ms);
    int inFlight() const { return m_inFlight; }
    int backlog(const QString &status) const { return m_counts.value(status); }

signals:
    // After a job was marked: status is done, pending (retry) or dead.
    void jobFinished(qint64 id, const QString &kind, const QString &status);
    void polled();

private:
    void poll();
    void run(const OutboxJob &job);
    void finishJob(const OutboxJob &job, bool ok, const QString &error);

    Database &m_db;
    Metrics &m_metrics;
    QHash<QString, Handler> m_handlers;
    QTimer m_timer;
    QSet<qint64> m_busyUsers;
    int m_inFlight = 0;
    bool m_polling = false;
    bool m_pollAgain = false;
    bool m_stopped = false;
    int m_maxAttempts = kMaxAttempts;
    int m_baseBackoffMs = kBaseBackoffMs;
    int m_maxBackoffMs = kMaxBackoffMs;
    QHash<QString, int> m_counts;
};

} // namespace tianyi
