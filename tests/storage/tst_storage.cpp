// The storage thread: migrations, transactions, results delivered on the caller's thread.
#include "storage/database.h"
#include "storage/migrations.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

using namespace tianyi;

class TestStorage : public QObject
{
    Q_OBJECT

    template <typename R>
    DbResult<R> wait(std::function<void(std::function<void(DbResult<R>)>)> start)
    {
        std::optional<DbResult<R>> out;
        start([&](DbResult<R> r) { out = std::move(r); });
        if (!QTest::qWaitFor([&]() { return out.has_value(); }, 10000))
            return DbResult<R>{std::nullopt, QStringLiteral("timeout")};
        return *out;
    }

private slots:
    void migratesToLatestAndSetsPragmas()
    {
        QTemporaryDir dir;
        Database db(dir.filePath(QStringLiteral("t.sqlite3")), 5000);
        QString error;
        QVERIFY2(db.open(&error), qPrintable(error));
        auto r = wait<QStringList>([&](auto done) {
            db.read<QStringList>(this, [](SqlSession &s) {
                return QStringList{s.scalar(QStringLiteral("SELECT MAX(version) FROM schema_version"))->toString(),
                                   s.scalar(QStringLiteral("PRAGMA journal_mode"))->toString(),
                                   s.scalar(QStringLiteral("PRAGMA foreign_keys"))->toString()};
            }, done);
        });
        QVERIFY2(r.ok(), qPrintable(r.error));
        QCOMPARE(r.value->at(0).toInt(), latestSchemaVersion());
        QCOMPARE(r.value->at(1), QStringLiteral("wal"));
        QCOMPARE(r.value->at(2), QStringLiteral("1"));
    }

    void workRunsOnTheStorageThreadAndAnswersOnOurs()
    {
        QTemporaryDir dir;
        Database db(dir.filePath(QStringLiteral("t.sqlite3")), 5000);
        QString error;
        QVERIFY(db.open(&error));
        QThread *workThread = nullptr;
        QThread *doneThread = nullptr;
        bool finished = false;
        db.read<int>(this, [&](SqlSession &) { workThread = QThread::currentThread(); return 1; },
                     [&](DbResult<int>) { doneThread = QThread::currentThread(); finished = true; });
        QTRY_VERIFY(finished);
        QVERIFY(workThread != QThread::currentThread());
        QCOMPARE(doneThread, QThread::currentThread());
    }

    void failedWriteRollsBack()
    {
        QTemporaryDir dir;
        Database db(dir.filePath(QStringLiteral("t.sqlite3")), 5000);
        QString error;
        QVERIFY(db.open(&error));
        auto failed = wait<int>([&](auto done) {
            db.write<int>(this, [](SqlSession &s) -> int {
                s.exec(QStringLiteral("INSERT INTO users(username, username_key, password_hash, created_at) VALUES ('a','a','x',0)"));
                s.exec(QStringLiteral("INSERT INTO users(username, username_key, password_hash, created_at) VALUES ('A','a','x',0)"));
                return 1;
            }, done);
        });
        QVERIFY(!failed.ok());
        QVERIFY(failed.error.startsWith(QStringLiteral("constraint")));
        auto count = wait<int>([&](auto done) {
            db.read<int>(this, [](SqlSession &s) { return s.scalar(QStringLiteral("SELECT COUNT(*) FROM users"))->toInt(); }, done);
        });
        QCOMPARE(*count.value, 0);
    }

    void newerSchemaIsRefused()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("t.sqlite3"));
        {
            Database db(path, 5000);
            QString error;
            QVERIFY(db.open(&error));
            auto r = wait<int>([&](auto done) {
                db.write<int>(this, [](SqlSession &s) {
                    s.exec(QStringLiteral("INSERT INTO schema_version(version, name, applied_at) VALUES (9999, 'future', 0)"));
                    return 0;
                }, done);
            });
            QVERIFY(r.ok());
        }
        Database again(path, 5000);
        QString error;
        QVERIFY(!again.open(&error));
        QVERIFY2(error.contains(QStringLiteral("newer")), qPrintable(error));
    }

    void resultForADeadContextIsDropped()
    {
        QTemporaryDir dir;
        Database db(dir.filePath(QStringLiteral("t.sqlite3")), 5000);
        QString error;
        QVERIFY(db.open(&error));
        bool called = false;
        auto *context = new QObject;
        db.read<int>(context, [](SqlSession &) { return 1; }, [&](DbResult<int>) { called = true; });
        delete context;
        bool probe = false; // a later job on the same FIFO proves the first one has been delivered or dropped
        db.read<int>(this, [](SqlSession &) { return 1; }, [&](DbResult<int>) { probe = true; });
        QTRY_VERIFY(probe);
        QVERIFY(!called);
    }
};

QTEST_GUILESS_MAIN(TestStorage)
#include "tst_storage.moc"
