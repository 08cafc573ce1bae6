// Failed-login throttling over HTTP: per username (known or unknown alike) and per client IP.
#include "authtest.h"
#include "testserver.h"

#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");
constexpr int kMaxFailures = 3;
constexpr int kLockoutS = 120;

void throttleConfig(Config &c)
{
    c.auth.loginMaxFailures = kMaxFailures;
    c.auth.loginFailureWindowS = 600;
    c.auth.loginLockoutS = kLockoutS;
}

struct Observed {
    QList<HttpResult> failures;
    HttpResult throttled;
    HttpResult evenWithRightPassword;
};

// kMaxFailures wrong passwords for `name`, then one more wrong and one right attempt.
Observed hammer(HttpClient &http, const QString &name)
{
    Observed o;
    for (int i = 0; i < kMaxFailures; ++i)
        o.failures << loginForm(http, name, QStringLiteral("wrong password %1").arg(i));
    o.throttled = loginForm(http, name, QStringLiteral("wrong again"));
    o.evenWithRightPassword = loginForm(http, name, kPassword);
    return o;
}
} // namespace

class TestLoginThrottle : public QObject
{
    Q_OBJECT

private slots:
    void knownAndUnknownUsernamesAreThrottledAlike()
    {
        Observed known;
        Observed unknown;
        {
            TestServer server(throttleConfig);
            HttpClient http(server.baseUrl());
            QCOMPARE(registerUser(http, QStringLiteral("alice"), kPassword).status, 201);
            known = hammer(http, QStringLiteral("alice"));
            const QByteArray metrics = http.get(QStringLiteral("/metrics")).body;
            QVERIFY2(metrics.contains("tianyi_auth_logins_total{outcome=\"throttled\"} 2"), metrics.constData());
        }
        {
            TestServer server(throttleConfig);
            HttpClient http(server.baseUrl());
            unknown = hammer(http, QStringLiteral("nosuchuser"));
        }
        for (int i = 0; i < kMaxFailures; ++i) {
            QCOMPARE(known.failures[i].status, 400);
            QCOMPARE(oauthErrorCode(known.failures[i]), QStringLiteral("invalid_grant"));
            // Byte for byte the same answer: nothing tells an existing name from a missing one.
            QCOMPARE(unknown.failures[i].status, known.failures[i].status);
            QCOMPARE(unknown.failures[i].body, known.failures[i].body);
        }
        for (const HttpResult *r : {&known.throttled, &known.evenWithRightPassword, &unknown.throttled, &unknown.evenWithRightPassword}) {
            QCOMPARE(r->status, 429);
            QCOMPARE(oauthErrorCode(*r), QStringLiteral("rate_limited"));
            const int retryAfter = r->header("Retry-After").toInt();
            QVERIFY2(retryAfter > 0 && retryAfter <= kLockoutS, r->header("Retry-After").constData());
        }
    }

    void failuresBelowTheLimitDoNotBlockTheRightPassword()
    {
        TestServer server(throttleConfig);
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("bob"), kPassword).status, 201);
        // Two failures only: below the limit, then the right password works and resets the count.
        for (int i = 0; i < kMaxFailures - 1; ++i)
            QCOMPARE(loginForm(http, QStringLiteral("bob"), QStringLiteral("nope nope")).status, 400);
        QCOMPARE(loginForm(http, QStringLiteral("bob"), kPassword).status, 200);
    }

    void oneAddressIsLimitedAcrossUsernames()
    {
        TestServer server(throttleConfig);
        HttpClient http(server.baseUrl());
        QCOMPARE(registerUser(http, QStringLiteral("carol"), kPassword).status, 201);
        // One failure each for different names from the same address...
        for (int i = 0; i < kMaxFailures; ++i)
            QCOMPARE(loginForm(http, QStringLiteral("spray%1").arg(i), QStringLiteral("guess guess")).status, 400);
        // ...locks the address: even a correct login of an untouched account must wait.
        const HttpResult r = loginForm(http, QStringLiteral("carol"), kPassword);
        QCOMPARE(r.status, 429);
        QCOMPARE(oauthErrorCode(r), QStringLiteral("rate_limited"));
        QVERIFY(r.header("Retry-After").toInt() > 0);
    }
};

QTEST_GUILESS_MAIN(TestLoginThrottle)
#include "tst_loginthrottle.moc"
