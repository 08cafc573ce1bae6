// 50 registrations and then 50 logins at once all succeed, and password hashing never holds the
// event loop: /healthz, sent after them, is answered while they are still being hashed.
#include "authtest.h"
#include "core/workerpool.h"
#include "testserver.h"

#include <QJsonDocument>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {
constexpr int kUsers = 50;
const QString kPassword = QStringLiteral("correct horse battery");

QByteArray json(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}
} // namespace

class TestAuthLoad : public QObject
{
    Q_OBJECT

private slots:
    void parallelRegistrationsAndLoginsWhileHealthzAnswers()
    {
        // A realistic Argon2 cost (not the test default) so hashing takes long enough to observe.
        TestServer server([](Config &c) {
            c.auth.argon2OpsLimit = 2;
            c.auth.argon2MemLimitKiB = 32 * 1024;
            c.server.workerThreads = 2;
            // Load, not abuse: 50 people behind one address register and log in at once (the
            // per-address limits would, rightly, refuse most of them; tst_accountsecurity tests those).
            c.auth.registerPerAddressMax = kUsers;
            c.auth.loginMaxFailures = kUsers;
        });
        QVERIFY2(server.started(), qPrintable(server.error()));

        ParallelRequests registrations(server.port());
        for (int i = 0; i < kUsers; ++i)
            registrations.start("POST", QStringLiteral("/api/v1/auth/register"),
                                json({{QStringLiteral("username"), QStringLiteral("user%1").arg(i)}, {QStringLiteral("password"), kPassword}}));
        // Wait until hashing jobs are queued on the worker pool, then ask for /healthz.
        QTRY_VERIFY_WITH_TIMEOUT(server.app().workers().queued() >= 10, 30000);
        ParallelRequests health(server.port());
        health.start("GET", QStringLiteral("/healthz"));
        QTRY_VERIFY_WITH_TIMEOUT(health.allDone(), 30000);
        const int registrationsDoneBeforeHealth = registrations.finished();
        QCOMPARE(health.reply(0).status, 200);
        qInfo("registrations finished when /healthz was answered: %d of %d", registrationsDoneBeforeHealth, kUsers);
        QVERIFY2(registrationsDoneBeforeHealth < kUsers,
                 "every registration finished before /healthz was answered: hashing may be blocking the event loop");
        QTRY_VERIFY_WITH_TIMEOUT(registrations.allDone(), 120000);
        for (int i = 0; i < kUsers; ++i)
            QVERIFY2(registrations.reply(i).status == 201, registrations.reply(i).body.constData());

        ParallelRequests logins(server.port());
        for (int i = 0; i < kUsers; ++i)
            logins.start("POST", QStringLiteral("/api/v1/auth/token"),
                         json({{QStringLiteral("grant_type"), QStringLiteral("password")},
                               {QStringLiteral("username"), QStringLiteral("user%1").arg(i)},
                               {QStringLiteral("password"), kPassword}}));
        QTRY_VERIFY_WITH_TIMEOUT(server.app().workers().queued() >= 10, 30000);
        ParallelRequests health2(server.port());
        health2.start("GET", QStringLiteral("/healthz"));
        QTRY_VERIFY_WITH_TIMEOUT(health2.allDone(), 30000);
        QCOMPARE(health2.reply(0).status, 200);
        QVERIFY(logins.finished() < kUsers);
        QTRY_VERIFY_WITH_TIMEOUT(logins.allDone(), 120000);
        for (int i = 0; i < kUsers; ++i) {
            const ParallelRequests::Reply &r = logins.reply(i);
            QVERIFY2(r.status == 200, r.body.constData());
            const QByteArray access = QJsonDocument::fromJson(r.body).object().value(QStringLiteral("access_token")).toString().toLatin1();
            QCOMPARE(jwtPayload(access).value(QStringLiteral("role")).toString(), QStringLiteral("user"));
        }
    }
};

QTEST_GUILESS_MAIN(TestAuthLoad)
#include "tst_authload.moc"
