#pragma once
// The storage thread: it alone owns the SQLite connection. Callers on the event loop post work
// (a function of an SqlSession) and get the result back on their own thread; they never block on SQL.

#include "base/config.h"

#include <QObject>
#include <QPointer>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QThread>
#include <QVariant>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

namespace tianyi {

// Thrown inside storage work on an SQL failure; turned into DbResult::error at the boundary.
class DbError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// Thrown by repositories when a unique constraint is hit (e.g. username taken).
class DbConstraintError : public DbError
{
public:
    using DbError::DbError;
};

template <typename T>
struct DbResult {
    std::optional<T> value;
    QString error;    // empty when value is set
    bool busy = false; // the storage queue was full
    bool ok() const { return value.has_value(); }
};

// Thin helper around the thread's connection: prepared statements with bound parameters only.
class SqlSession
{
public:
    explicit SqlSession(QSqlDatabase db) : m_db(std::move(db)) {}

    // Prepares, binds positional values, executes; throws DbError on failure.
    QSqlQuery exec(const QString &sql, const QVariantList &values = {});
    // Convenience: first column of first row, or nullopt.
    std::optional<QVariant> scalar(const QString &sql, const QVariantList &values = {});
    qint64 lastInsertId(QSqlQuery &q);

    QSqlDatabase &db() { return m_db; }

private:
    QSqlDatabase m_db;
};

class StorageWorker;

class Database : public QObject
{
    Q_OBJECT
public:
    Database(QString path, int busyTimeoutMs, int maxQueued = 10000, QObject *parent = nullptr);
    ~Database() override;

    // Starts the thread, opens the file (WAL, foreign keys), runs migrations. Blocks the caller:
    // called once at startup, before the event loop serves anyone.
    bool open(QString *error);
    // Finishes queued work, closes the connection and joins the thread.
    void close();

    // Read-only work, no transaction.
    template <typename R>
    void read(QObject *context, std::function<R(SqlSession &)> work, std::function<void(DbResult<R>)> done)
    {
        post<R>(context, std::move(work), std::move(done), false);
    }
    // Work inside BEGIN IMMEDIATE ... COMMIT (rolled back when work throws).
    template <typename R>
    void write(QObject *context, std::function<R(SqlSession &)> work, std::function<void(DbResult<R>)> done)
    {
        post<R>(context, std::move(work), std::move(done), true);
    }

    int queued() const { return m_queued.load(); }
    QString path() const { return m_path; }

private:
    template <typename R>
    void post(QObject *context, std::function<R(SqlSession &)> work, std::function<void(DbResult<R>)> done, bool transactional)
    {
        if (m_queued.load() >= m_maxQueued || !m_worker) {
            DbResult<R> busy;
            busy.busy = true;
            busy.error = QStringLiteral("storage queue full");
            QPointer<QObject> guard(context);
            QMetaObject::invokeMethod(this, [guard, done, busy]() { if (guard) done(busy); }, Qt::QueuedConnection);
            return;
        }
        ++m_queued;
        QPointer<QObject> guard(context);
        QPointer<Database> self(this);
        auto job = [this, self, guard, work = std::move(work), done = std::move(done), transactional](SqlSession &session) mutable {
            auto result = std::make_shared<DbResult<R>>();
            runGuarded(session, transactional, [&]() { result->value = work(session); }, result->error);
            --m_queued;
            // `this` outlives the storage thread (close() joins it), so posting to it is safe.
            QMetaObject::invokeMethod(this, [guard, done = std::move(done), result]() {
                if (guard)
                    done(std::move(*result));
            }, Qt::QueuedConnection);
        };
        enqueue(std::move(job));
    }

    void enqueue(std::function<void(SqlSession &)> job);
    static void runGuarded(SqlSession &session, bool transactional, const std::function<void()> &body, QString &error);

    QString m_path;
    int m_busyTimeoutMs;
    int m_maxQueued;
    std::atomic<int> m_queued{0};
    QThread m_thread;
    StorageWorker *m_worker = nullptr;
};

} // namespace tianyi
