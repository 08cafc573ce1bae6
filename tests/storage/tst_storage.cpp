// The storage thread: migrations, transactions, results delivered on the caller's thread.
#include "storage/database.h"
#include "storage/migrations.h"

#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
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

    void accountGenerationsMigrationKeepsRowsAndCascadesAndNeverReusesIds()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("t.sqlite3"));
        {
            // A database as the release before the migration left it: schema 4, three users, the
            // last one with a profile, a turn and a refresh token.
            QSqlDatabase old = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("schema4"));
            old.setDatabaseName(path);
            QVERIFY(old.open());
            SqlSession s(old);
            s.exec(QStringLiteral("PRAGMA foreign_keys=ON"));
            s.exec(QStringLiteral("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
            for (const Migration &m : migrations()) {
                if (m.version > 4)
                    continue;
                for (const QString &sql : m.statements)
                    s.exec(sql);
                s.exec(QStringLiteral("INSERT INTO schema_version VALUES (?, ?, 0)"), {m.version, m.name});
            }
            for (int id = 1; id <= 3; ++id) {
                s.exec(QStringLiteral("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES (?, ?, ?, 'h', 0)"),
                       {id, QStringLiteral("u%1").arg(id), QStringLiteral("u%1").arg(id)});
                s.exec(QStringLiteral("INSERT INTO profiles(user_id, updated_at) VALUES (?, 0)"), {id});
            }
            s.exec(QStringLiteral("INSERT INTO turns(user_id, session_id, turn_no, user_text, created_at) VALUES (3, 's', 1, 'hi', 0)"));
            s.exec(QStringLiteral("INSERT INTO refresh_tokens(user_id, family_id, token_hash, created_at, expires_at) VALUES (3, 'f', x'00', 0, 1)"));
            old.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("schema4"));

        Database db(path, 5000);
        QString error;
        QVERIFY2(db.open(&error), qPrintable(error));
        auto r = wait<QVariantList>([&](auto done) {
            db.write<QVariantList>(this, [](SqlSession &s) {
                QVariantList out;
                out << s.scalar(QStringLiteral("SELECT COUNT(*) FROM users WHERE token_version = 0"))->toInt();
                out << s.scalar(QStringLiteral("PRAGMA foreign_keys"))->toInt();
                out << int(s.exec(QStringLiteral("PRAGMA foreign_key_check")).next());
                // Deleting the highest id still cascades through the rebuilt table...
                s.exec(QStringLiteral("DELETE FROM users WHERE id = 3"));
                out << s.scalar(QStringLiteral("SELECT (SELECT COUNT(*) FROM turns) + (SELECT COUNT(*) FROM profiles WHERE user_id = 3)"
                                               " + (SELECT COUNT(*) FROM refresh_tokens)"))->toInt();
                // ...and its id is never handed out again.
                QSqlQuery q = s.exec(QStringLiteral("INSERT INTO users(username, username_key, password_hash, created_at) VALUES ('n', 'n', 'h', 0)"));
                out << s.lastInsertId(q);
                return out;
            }, done);
        });
        QVERIFY2(r.ok(), qPrintable(r.error));
        QCOMPARE(r.value->at(0).toInt(), 3);
        QCOMPARE(r.value->at(1).toInt(), 1);
        QCOMPARE(r.value->at(2).toInt(), 0);
        QCOMPARE(r.value->at(3).toInt(), 0);
        QCOMPARE(r.value->at(4).toLongLong(), 4);
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
        // The message names both versions and the way out.
        QVERIFY2(error.contains(QStringLiteral("schema version 9999")), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("knows schema versions up to %1").arg(latestSchemaVersion())), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("--restore")), qPrintable(error));
    }

    // Two servers starting at once on an old database both read its version before either migrates:
    // the second must skip the steps the first applied, not run them again (and fail on CREATE TABLE).
    void aStepAppliedByAnotherProcessAfterOurReadIsSkipped()
    {
        QTemporaryDir dir;
        Database db(dir.filePath(QStringLiteral("t.sqlite3")), 5000);
        QString error;
        QVERIFY(db.open(&error)); // at the latest version, as the other process left it
        const auto rows = [&]() {
            return wait<QStringList>([&](auto done) {
                db.read<QStringList>(this, [](SqlSession &s) {
                    QStringList out;
                    QSqlQuery q = s.exec(QStringLiteral("SELECT version, applied_at FROM schema_version ORDER BY version"));
                    while (q.next())
                        out << q.value(0).toString() + QLatin1Char(':') + q.value(1).toString();
                    return out;
                }, done);
            });
        };
        const auto before = rows();
        QVERIFY(before.ok());
        // What we had read before the other process migrated: version 1.
        auto stale = wait<int>([&](auto done) {
            db.read<int>(this, [](SqlSession &s) {
                applyMigrationsAfter(s, 1);
                return 0;
            }, done);
        });
        QVERIFY2(stale.ok(), qPrintable(stale.error));
        const auto after = rows();
        QVERIFY(after.ok());
        QCOMPARE(*after.value, *before.value);
        QCOMPARE(after.value->size(), latestSchemaVersion());
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
