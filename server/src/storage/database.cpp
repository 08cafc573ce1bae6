#include "storage/database.h"

#include "base/logging.h"
#include "storage/migrations.h"

#include <QSqlError>
#include <QUuid>
#include <QWaitCondition>
#include <QMutex>

namespace tianyi {

QSqlQuery SqlSession::exec(const QString &sql, const QVariantList &values)
{
    QSqlQuery q(m_db);
    if (!q.prepare(sql))
        throw DbError(QStringLiteral("prepare failed: %1 [%2]").arg(q.lastError().text(), sql).toStdString());
    for (const QVariant &v : values)
        q.addBindValue(v);
    if (!q.exec()) {
        const QString text = q.lastError().text();
        // SQLite reports constraint violations as "UNIQUE constraint failed" / "FOREIGN KEY constraint failed".
        if (text.contains(QLatin1String("constraint failed"), Qt::CaseInsensitive))
            throw DbConstraintError(text.toStdString());
        throw DbError(QStringLiteral("%1 [%2]").arg(text, sql).toStdString());
    }
    return q;
}

std::optional<QVariant> SqlSession::scalar(const QString &sql, const QVariantList &values)
{
    QSqlQuery q = exec(sql, values);
    if (!q.next())
        return std::nullopt;
    return q.value(0);
}

qint64 SqlSession::lastInsertId(QSqlQuery &q)
{
    return q.lastInsertId().toLongLong();
}

// Lives on the storage thread; the connection is opened, used and closed there only.
class StorageWorker : public QObject
{
public:
    explicit StorageWorker(QString connectionName) : m_connectionName(std::move(connectionName)) {}

    bool openConnection(const QString &path, int busyTimeoutMs, QString *error)
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(busyTimeoutMs));
        if (!db.open()) {
            *error = QStringLiteral("cannot open database %1: %2").arg(path, db.lastError().text());
            return false;
        }
        m_session = std::make_unique<SqlSession>(db);
        try {
            // WAL: readers never block the writer; NORMAL is durable across crashes of the process.
            m_session->exec(QStringLiteral("PRAGMA journal_mode=WAL"));
            m_session->exec(QStringLiteral("PRAGMA synchronous=NORMAL"));
            m_session->exec(QStringLiteral("PRAGMA foreign_keys=ON"));
            runMigrations(*m_session);
        } catch (const DbError &e) {
            *error = QString::fromStdString(e.what());
            return false;
        }
        return true;
    }

    void closeConnection()
    {
        if (m_session) {
            try {
                m_session->exec(QStringLiteral("PRAGMA optimize"));
            } catch (const DbError &) {
            }
            m_session->db().close();
            m_session.reset();
        }
        QSqlDatabase::removeDatabase(m_connectionName);
    }

    SqlSession *session() { return m_session.get(); }

private:
    QString m_connectionName;
    std::unique_ptr<SqlSession> m_session;
};

Database::Database(QString path, int busyTimeoutMs, int maxQueued, QObject *parent)
    : QObject(parent)
    , m_path(std::move(path))
    , m_busyTimeoutMs(busyTimeoutMs)
    , m_maxQueued(maxQueued)
{
    m_thread.setObjectName(QStringLiteral("storage"));
}

Database::~Database()
{
    close();
}

bool Database::open(QString *error)
{
    m_worker = new StorageWorker(QStringLiteral("tianyi-") + QUuid::createUuid().toString(QUuid::WithoutBraces));
    m_worker->moveToThread(&m_thread);
    m_thread.start();

    bool ok = false;
    QString openError;
    QMetaObject::invokeMethod(m_worker, [&]() { ok = m_worker->openConnection(m_path, m_busyTimeoutMs, &openError); },
                              Qt::BlockingQueuedConnection);
    if (!ok) {
        *error = openError;
        close();
        return false;
    }
    qCInfo(lcDb) << "database open:" << m_path;
    return true;
}

void Database::close()
{
    if (!m_worker)
        return;
    StorageWorker *worker = m_worker;
    m_worker = nullptr; // refuse new work from now on
    // Queued jobs run first (the event queue is FIFO), then the connection closes.
    QMetaObject::invokeMethod(worker, [worker]() {
        worker->closeConnection();
        delete worker;
        QThread::currentThread()->quit();
    }, Qt::QueuedConnection);
    m_thread.wait();
    qCInfo(lcDb) << "database closed";
}

void Database::enqueue(std::function<void(SqlSession &)> job)
{
    StorageWorker *worker = m_worker;
    QMetaObject::invokeMethod(worker, [worker, job = std::move(job)]() mutable {
        if (SqlSession *s = worker->session())
            job(*s);
    }, Qt::QueuedConnection);
}

void Database::runGuarded(SqlSession &session, bool transactional, const std::function<void()> &body, QString &error)
{
    try {
        if (transactional)
            session.exec(QStringLiteral("BEGIN IMMEDIATE"));
        try {
            body();
            if (transactional)
                session.exec(QStringLiteral("COMMIT"));
        } catch (...) {
            if (transactional) {
                try {
                    session.exec(QStringLiteral("ROLLBACK"));
                } catch (const DbError &) {
                }
            }
            throw;
        }
    } catch (const DbConstraintError &e) {
        error = QStringLiteral("constraint: ") + QString::fromStdString(e.what());
    } catch (const DbError &e) {
        error = QString::fromStdString(e.what());
        qCWarning(lcDb) << "storage work failed:" << error;
    } catch (const std::exception &e) {
        error = QString::fromStdString(e.what());
        qCWarning(lcDb) << "storage work failed:" << error;
    }
}

} // namespace tianyi
