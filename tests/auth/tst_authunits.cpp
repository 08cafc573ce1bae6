// The pure building blocks of accounts: JWT codec, base64url, username/password/profile rules,
// the login throttle, form parsing and the Argon2id hasher. No server, no network.
#include "auth/cryptoutil.h"
#include "auth/jwt.h"
#include "auth/loginthrottle.h"
#include "auth/registrationthrottle.h"
#include "auth/passwordhasher.h"
#include "auth/passwordpolicy.h"
#include "auth/profilepolicy.h"
#include "auth/requestbody.h"
#include "auth/usernamepolicy.h"

#include <QJsonArray>
#include <QtTest>

using namespace tianyi;

namespace {
const QByteArray kSecret = QByteArray(40, 'k');
constexpr qint64 kNow = 1700000000;

AccessClaims claims(qint64 exp = kNow + 900)
{
    return AccessClaims{42, QStringLiteral("user"), kNow, exp, QStringLiteral("jti-1")};
}

QByteArray b64(const QByteArray &raw)
{
    return crypto::base64UrlEncode(raw);
}
} // namespace

class TestAuthUnits : public QObject
{
    Q_OBJECT

private slots:
    void jwtRoundTrip()
    {
        const JwtCodec codec(kSecret);
        const QByteArray token = codec.sign(claims());
        QVERIFY(!token.contains('='));
        const QList<QByteArray> parts = token.split('.');
        QCOMPARE(parts.size(), 3);
        QCOMPARE(*crypto::base64UrlDecode(parts[0]), QByteArray("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"));
        const JwtCodec::Verified v = codec.verify(token, kNow + 1);
        QVERIFY(v.ok());
        QCOMPARE(v.claims.userId, 42);
        QCOMPARE(v.claims.role, QStringLiteral("user"));
        QCOMPARE(v.claims.expiresAt, kNow + 900);
        QCOMPARE(v.claims.jti, QStringLiteral("jti-1"));
        QCOMPARE(v.claims.tokenVersion, 0);
    }

    void jwtCarriesTheTokenVersion()
    {
        const JwtCodec codec(kSecret);
        AccessClaims c = claims();
        c.tokenVersion = 7;
        const QByteArray token = codec.sign(c);
        QCOMPARE(codec.verify(token, kNow + 1).claims.tokenVersion, 7);
        // A signed token whose tv is not a whole non-negative number is refused, not read as 0.
        auto signedPayload = [&](const QByteArray &payload) {
            const QByteArray input = b64(R"({"alg":"HS256","typ":"JWT"})") + '.' + b64(payload);
            return input + '.' + b64(crypto::hmacSha256(kSecret, input));
        };
        QCOMPARE(int(codec.verify(signedPayload(R"({"sub":"1","role":"user","iat":1700000000,"exp":1700000900,"tv":"7"})"), kNow).failure),
                 int(JwtCodec::Failure::BadClaims));
        QCOMPARE(int(codec.verify(signedPayload(R"({"sub":"1","role":"user","iat":1700000000,"exp":1700000900,"tv":-1})"), kNow).failure),
                 int(JwtCodec::Failure::BadClaims));
        // Tokens from before the claim existed are generation 0.
        QCOMPARE(codec.verify(signedPayload(R"({"sub":"1","role":"user","iat":1700000000,"exp":1700000900})"), kNow).claims.tokenVersion, 0);
    }

    // sid names the login; a token made before logins were named has none and still verifies.
    void jwtCarriesTheLogin()
    {
        const JwtCodec codec(kSecret);
        AccessClaims c = claims();
        c.loginId = QStringLiteral("0123456789abcdef0123456789abcdef");
        QCOMPARE(codec.verify(codec.sign(c), kNow + 1).claims.loginId, c.loginId);
        const QByteArray unnamed = codec.sign(claims());
        QVERIFY(!crypto::base64UrlDecode(unnamed.split('.').at(1)).value_or(QByteArray()).contains("sid")); // not written when empty
        QCOMPARE(codec.verify(codec.sign(claims()), kNow + 1).claims.loginId, QString());
        auto signedPayload = [&](const QByteArray &payload) {
            const QByteArray input = b64(R"({"alg":"HS256","typ":"JWT"})") + '.' + b64(payload);
            return input + '.' + b64(crypto::hmacSha256(kSecret, input));
        };
        for (const QByteArray &sid : {QByteArray("7"), QByteArray("\"\""), QByteArray("[\"a\"]"), '"' + QByteArray(65, 'a') + '"'}) {
            const QByteArray payload = R"({"sub":"1","role":"user","iat":1700000000,"exp":1700000900,"sid":)" + sid + '}';
            QCOMPARE(int(codec.verify(signedPayload(payload), kNow).failure), int(JwtCodec::Failure::BadClaims));
        }
    }

    void jwtRefusals_data()
    {
        QTest::addColumn<QByteArray>("token");
        QTest::addColumn<int>("failure");
        const JwtCodec codec(kSecret);
        const QByteArray good = codec.sign(claims());
        const QList<QByteArray> p = good.split('.');
        const QByteArray otherPayload = b64(R"({"sub":"1","role":"admin","iat":1700000000,"exp":1700000900,"jti":"x"})");
        QTest::newRow("expired") << codec.sign(claims(kNow)) << int(JwtCodec::Failure::Expired);
        QTest::newRow("tampered payload") << p[0] + '.' + otherPayload + '.' + p[2] << int(JwtCodec::Failure::BadSignature);
        QTest::newRow("wrong key") << JwtCodec(QByteArray(40, 'x')).sign(claims()) << int(JwtCodec::Failure::BadSignature);
        QTest::newRow("alg none") << b64(R"({"alg":"none","typ":"JWT"})") + '.' + p[1] + '.' << int(JwtCodec::Failure::UnsupportedAlgorithm);
        QTest::newRow("alg None signed") << b64(R"({"alg":"None"})") + '.' + p[1] + '.' + p[2] << int(JwtCodec::Failure::UnsupportedAlgorithm);
        QTest::newRow("alg HS512") << b64(R"({"alg":"HS512","typ":"JWT"})") + '.' + p[1] + '.' + p[2] << int(JwtCodec::Failure::UnsupportedAlgorithm);
        QTest::newRow("crit header") << b64(R"({"alg":"HS256","crit":["x"]})") + '.' + p[1] + '.' + p[2] << int(JwtCodec::Failure::UnsupportedAlgorithm);
        QTest::newRow("no alg") << b64(R"({"typ":"JWT"})") + '.' + p[1] + '.' + p[2] << int(JwtCodec::Failure::UnsupportedAlgorithm);
        QTest::newRow("empty") << QByteArray() << int(JwtCodec::Failure::Malformed);
        QTest::newRow("two parts") << p[0] + '.' + p[1] << int(JwtCodec::Failure::Malformed);
        QTest::newRow("four parts") << good + ".x" << int(JwtCodec::Failure::Malformed);
        QTest::newRow("padding") << p[0] + "==." + p[1] + '.' + p[2] << int(JwtCodec::Failure::Malformed);
        QTest::newRow("garbage header") << QByteArray("!!!.") + p[1] + '.' + p[2] << int(JwtCodec::Failure::Malformed);
        QTest::newRow("header not json") << b64("hello") + '.' + p[1] + '.' + p[2] << int(JwtCodec::Failure::Malformed);
        QTest::newRow("signature not base64") << p[0] + '.' + p[1] + ".***" << int(JwtCodec::Failure::Malformed);
        QTest::newRow("truncated signature") << p[0] + '.' + p[1] + '.' + p[2].left(20) << int(JwtCodec::Failure::BadSignature);
        QTest::newRow("huge") << QByteArray(100000, 'a') << int(JwtCodec::Failure::Malformed);
    }

    void jwtRefusals()
    {
        QFETCH(QByteArray, token);
        QFETCH(int, failure);
        QCOMPARE(int(JwtCodec(kSecret).verify(token, kNow + 1).failure), failure);
    }

    void jwtSignedButBadClaimsAreRefused()
    {
        // Even a correctly signed token needs sane claims (defence in depth against a leaked key misuse).
        const QByteArray header = b64(R"({"alg":"HS256","typ":"JWT"})");
        for (const QByteArray &payload : {QByteArray(R"({"sub":42,"role":"user","iat":1,"exp":1800000000})"),
                                          QByteArray(R"({"sub":"42","role":"root","iat":1,"exp":1800000000})"),
                                          QByteArray(R"({"sub":"42","role":"user","iat":1})")}) {
            const QByteArray input = header + '.' + b64(payload);
            const QByteArray token = input + '.' + b64(crypto::hmacSha256(kSecret, input));
            QCOMPARE(JwtCodec(kSecret).verify(token, kNow).failure, JwtCodec::Failure::BadClaims);
        }
    }

    void base64UrlIsStrict()
    {
        QCOMPARE(*crypto::base64UrlDecode("aGk"), QByteArray("hi"));
        QVERIFY(!crypto::base64UrlDecode("aGk=")); // padding
        QVERIFY(!crypto::base64UrlDecode("aGl")); // non-canonical last character
        QVERIFY(!crypto::base64UrlDecode("a+b/"));
        QVERIFY(!crypto::base64UrlDecode("a"));
    }

    void constantTimeEqualsCompares()
    {
        QVERIFY(crypto::constantTimeEquals("abc", "abc"));
        QVERIFY(!crypto::constantTimeEquals("abc", "abd"));
        QVERIFY(!crypto::constantTimeEquals("abc", "abcd"));
    }

    void usernameRules_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("ok");
        QTest::newRow("ascii") << QStringLiteral("alice_01") << true;
        QTest::newRow("cjk") << QStringLiteral("洛天依") << true;
        QTest::newRow("kana") << QStringLiteral("ミク") << true;
        QTest::newRow("cyrillic") << QStringLiteral("Алиса") << true;
        QTest::newRow("devanagari with marks") << QStringLiteral("हिन्दी") << true;
        QTest::newRow("dots dashes") << QStringLiteral("a.b-c") << true;
        QTest::newRow("too short") << QStringLiteral("a") << false;
        QTest::newRow("too long") << QString(33, QLatin1Char('a')) << false;
        QTest::newRow("space") << QStringLiteral("bad name") << false;
        QTest::newRow("emoji") << QStringLiteral("ab😀") << false;
        QTest::newRow("at sign") << QStringLiteral("a@b") << false;
        QTest::newRow("only punctuation") << QStringLiteral("..") << false;
        QTest::newRow("control") << QStringLiteral("ab\ncd") << false;
        QTest::newRow("zero width") << QStringLiteral("ab\u200Bcd") << false;
        QTest::newRow("leading mark") << QStringLiteral("\u0301ab") << false;
    }

    void usernameRules()
    {
        QFETCH(QString, name);
        QFETCH(bool, ok);
        const UsernamePolicy::Checked c = UsernamePolicy(2, 32).check(name);
        QVERIFY2(c.ok() == ok, qPrintable(c.problem));
        if (!ok)
            QVERIFY(!c.problem.isEmpty());
    }

    void usernameIsNormalizedAndKeyedCaseInsensitively()
    {
        const UsernamePolicy policy(2, 32);
        const UsernamePolicy::Checked decomposed = policy.check(QStringLiteral("Jose\u0301"));
        QVERIFY(decomposed.ok());
        QCOMPARE(decomposed.username, QStringLiteral("Jos\u00e9"));
        QCOMPARE(policy.check(QStringLiteral("ALICE")).key, policy.check(QStringLiteral("alice")).key);
        QCOMPARE(UsernamePolicy::keyFor(QStringLiteral("STRASSE")), UsernamePolicy::keyFor(QStringLiteral("strasse")));
        // Length counts characters, not UTF-16 units: 32 CJK characters fit, 33 do not.
        QVERIFY(policy.check(QString(32, QChar(0x6D1B))).ok());
        QVERIFY(!policy.check(QString(33, QChar(0x6D1B))).ok());
    }

    void hugeUsernameIsRefusedWithItsLength()
    {
        const UsernamePolicy::Checked c = UsernamePolicy(2, 32).check(QString(10000, QLatin1Char('x')));
        QVERIFY(!c.ok());
        QVERIFY2(c.problem.contains(QLatin1String("10000")), qPrintable(c.problem));
    }

    void passwordRules()
    {
        const PasswordPolicy policy(8, 64);
        QVERIFY(policy.problem(QStringLiteral("correct horse"), QStringLiteral("alice")).isEmpty());
        QVERIFY(policy.problem(QStringLiteral("short"), QStringLiteral("alice")).contains(QLatin1String("at least 8")));
        QVERIFY(policy.problem(QString(65, QLatin1Char('x')) + QLatin1Char('y'), QStringLiteral("alice")).contains(QLatin1String("at most 64")));
        QVERIFY(policy.problem(QStringLiteral("Alice_2024"), QStringLiteral("alice_2024")).contains(QLatin1String("username")));
        QVERIFY(policy.problem(QStringLiteral("Password1"), QStringLiteral("alice")).contains(QLatin1String("common")));
        QVERIFY(policy.problem(QStringLiteral("12345678"), QStringLiteral("alice")).contains(QLatin1String("common")));
        QVERIFY(policy.problem(QStringLiteral("zzzzzzzzzz"), QStringLiteral("alice")).contains(QLatin1String("common")));
        // Characters, not bytes: eight CJK characters are long enough.
        QVERIFY(policy.problem(QStringLiteral("我的密码很长很长"), QStringLiteral("alice")).isEmpty());
    }

    void profileChangesAreChecked()
    {
        QVERIFY(ProfilePolicy::parseChanges({{QStringLiteral("nickname"), QStringLiteral("天依")}}).problem.isEmpty());
        const QString unknown = ProfilePolicy::parseChanges({{QStringLiteral("nick"), 1}, {QStringLiteral("colour"), 2}}).problem;
        QVERIFY(unknown.contains(QLatin1String("nick")) && unknown.contains(QLatin1String("colour")));
        QVERIFY(ProfilePolicy::parseChanges({{QStringLiteral("nickname"), 5}}).problem.contains(QLatin1String("nickname must be a string")));
        QVERIFY(!ProfilePolicy::parseChanges({{QStringLiteral("nickname"), QString(65, QLatin1Char('n'))}}).problem.isEmpty());
        QVERIFY(!ProfilePolicy::parseChanges({{QStringLiteral("description"), QString(2001, QLatin1Char('d'))}}).problem.isEmpty());
        QVERIFY(ProfilePolicy::parseChanges({{QStringLiteral("avatar_url"), QString()}}).problem.isEmpty());
        QVERIFY(ProfilePolicy::parseChanges({{QStringLiteral("avatar_url"), QStringLiteral("https://example.com/a.png")}}).problem.isEmpty());
        QVERIFY(!ProfilePolicy::parseChanges({{QStringLiteral("avatar_url"), QStringLiteral("javascript:alert(1)")}}).problem.isEmpty());
        QVERIFY(!ProfilePolicy::parseChanges({{QStringLiteral("avatar_url"), QStringLiteral("ftp://example.com/a")}}).problem.isEmpty());
        QVERIFY(!ProfilePolicy::parseChanges({{QStringLiteral("preferences"), QJsonArray{1}}}).problem.isEmpty());
        QVERIFY(!ProfilePolicy::parseChanges({{QStringLiteral("preferences"), QJsonObject{{QStringLiteral("x"), QString(17000, QLatin1Char('p'))}}}})
                     .problem.isEmpty());
    }

    void formParsingFollowsBrowsers()
    {
        const FlatParameters p = parseFormUrlEncoded("grant_type=password&username=%E6%B4%9B+x&password=a%2Bb+c");
        QVERIFY(p.problem.isEmpty());
        QCOMPARE(p.value(QStringLiteral("username")), QStringLiteral("洛 x"));
        QCOMPARE(p.value(QStringLiteral("password")), QStringLiteral("a+b c"));
        QVERIFY(!parseFormUrlEncoded("a=1&a=2").problem.isEmpty());
    }

    // Pair and address rules: 3 failures in 10 s lock for 5 s; the account budget: 5 in 60 s lock for 30 s.
    static LoginThrottle::Limits throttleLimits(int maxTracked = 1000)
    {
        return LoginThrottle::Limits{{3, 10000, 5000}, {3, 10000, 5000}, {5, 60000, 30000}, maxTracked};
    }

    static void fail(LoginThrottle &t, const QString &name, const QString &ip, qint64 now)
    {
        t.attemptStarted(name, ip, now);
        t.attemptFailed(name, ip, now);
    }

    void throttleLocksThePairAndTheAddressNotTheOwner()
    {
        LoginThrottle t(throttleLimits());
        const QString attacker = QStringLiteral("10.0.0.1");
        qint64 now = 1000;
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), attacker, now), 0);
            fail(t, QStringLiteral("bob"), attacker, now);
        }
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), attacker, now), 5);
        // The owner's own address is another pair: bob is not locked out by someone else's guesses.
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), QStringLiteral("10.0.0.2"), now), 0);
        // The attacker's address is locked for other names too.
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("carol"), attacker, now), 5);
        now += 5000;
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), attacker, now), 0);
    }

    void throttleBoundsGuessesOfOneAccountFromManyAddresses()
    {
        LoginThrottle t(throttleLimits());
        for (int i = 0; i < 5; ++i)
            fail(t, QStringLiteral("bob"), QStringLiteral("10.0.1.%1").arg(i), 0);
        // Five addresses, one failure each: no pair or address is locked, the account budget is spent.
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), QStringLiteral("10.0.9.9"), 0), 30);
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("amy"), QStringLiteral("10.0.1.0"), 0), 0);
    }

    void throttleCountsParallelGuesses()
    {
        LoginThrottle t(throttleLimits());
        for (int i = 0; i < 3; ++i)
            t.attemptStarted(QStringLiteral("bob"), QStringLiteral("10.0.0.9"), 0);
        QVERIFY(t.retryAfterSeconds(QStringLiteral("bob"), QStringLiteral("10.0.0.9"), 0) > 0);
        // Guesses in flight from one address hold back its guesses of other names as well...
        QVERIFY(t.retryAfterSeconds(QStringLiteral("amy"), QStringLiteral("10.0.0.9"), 0) > 0);
        // ...but not another address's login of the same name (3 in flight < the account budget of 5).
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), QStringLiteral("10.0.0.8"), 0), 0);
        for (int i = 0; i < 3; ++i)
            t.attemptSucceeded(QStringLiteral("bob"), QStringLiteral("10.0.0.9"), 0);
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), QStringLiteral("10.0.0.9"), 0), 0);
        QCOMPARE(t.trackedKeys(), 0);
    }

    void throttleWindowForgetsOldFailures()
    {
        LoginThrottle t(throttleLimits());
        for (int i = 0; i < 2; ++i)
            fail(t, QStringLiteral("bob"), QStringLiteral("ip"), 0);
        fail(t, QStringLiteral("bob"), QStringLiteral("ip"), 10001);
        QCOMPARE(t.retryAfterSeconds(QStringLiteral("bob"), QStringLiteral("ip"), 10001), 0);
    }

    void throttleMemoryIsBounded()
    {
        LoginThrottle t(LoginThrottle::Limits{{5, 60000, 60000}, {5, 60000, 60000}, {50, 60000, 60000}, 100});
        for (int i = 0; i < 1000; ++i) {
            fail(t, QStringLiteral("user%1").arg(i), QStringLiteral("ip%1").arg(i), i);
            QVERIFY(t.trackedKeys() <= 103);
        }
        // Expired entries go first: after the window everything can be dropped.
        fail(t, QStringLiteral("late"), QStringLiteral("ip"), 10000000);
        QVERIFY(t.trackedKeys() <= 6);
    }

    void registrationsAreAdmittedPerAddressAndGlobally()
    {
        RegistrationThrottle t(RegistrationThrottle::Limits{{2, 10000}, {3, 1000}, 100});
        QCOMPARE(t.admit(QStringLiteral("a"), 0), 0);
        QCOMPARE(t.admit(QStringLiteral("a"), 0), 0);
        // The address's third within 10 s is refused until the first leaves the window.
        QCOMPARE(t.admit(QStringLiteral("a"), 500), 10);
        QCOMPARE(t.admit(QStringLiteral("b"), 600), 0);
        // Three admitted server-wide within 1 s: everyone waits.
        QCOMPARE(t.admit(QStringLiteral("c"), 700), 1);
        QCOMPARE(t.admit(QStringLiteral("c"), 1000), 0);
        QCOMPARE(t.admit(QStringLiteral("a"), 10000), 0);
    }

    void registrationMemoryIsBounded()
    {
        RegistrationThrottle t(RegistrationThrottle::Limits{{2, 60000}, {1000000, 1000}, 100});
        for (int i = 0; i < 1000; ++i) {
            QCOMPARE(t.admit(QStringLiteral("ip%1").arg(i), i), 0);
            QVERIFY(t.trackedAddresses() <= 100);
        }
    }

    void hasherVerifiesAndDetectsCostChanges()
    {
        const PasswordHasher cheap({1, 8192});
        const QByteArray hash = cheap.hash(QStringLiteral("correct horse"));
        QVERIFY(hash.startsWith("$argon2id$"));
        QVERIFY(cheap.verify(hash, QStringLiteral("correct horse")));
        QVERIFY(!cheap.verify(hash, QStringLiteral("correct horsE")));
        QVERIFY(!cheap.verify(QByteArray("not a hash"), QStringLiteral("x")));
        QVERIFY(!cheap.needsRehash(hash));
        QVERIFY(PasswordHasher({2, 16384}).needsRehash(hash));
        // NFC: a precomposed and a decomposed accent are the same password.
        const QByteArray accented = cheap.hash(QStringLiteral("caf\u00e9-latte"));
        QVERIFY(cheap.verify(accented, QStringLiteral("cafe\u0301-latte")));
        QVERIFY(!cheap.verify(cheap.dummyHash(), QString()));
    }
};

QTEST_GUILESS_MAIN(TestAuthUnits)
#include "tst_authunits.moc"
