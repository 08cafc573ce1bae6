// The admin API and the /ws/admin feed end to end: a real server in-process with the fake
// upstream, real chat sockets, an admin account made through AccountService::createAdmin.
#include "adminfixture.h"

#include "admin/adminfeed.h"
#include "admin/adminroutes.h"

#include <QtTest>

using namespace tianyi;
using namespace tianyi::test;

namespace {
QJsonObject sessionOf(const QJsonArray &sessions, const QString &id)
{
    for (const QJsonValue &v : sessions)
        if (v.toObject().value(QStringLiteral("id")).toString() == id)
            return v.toObject();
    return {};
}

QString sessionIdOf(const ChatTestClient &c)
{
    return c.first(chat::kHello).value(QStringLiteral("session_id")).toString();
}
} // namespace

class TestAdmin : public QObject
{
    Q_OBJECT

private slots:
    void everyRouteIsAdminOnly()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser user = fx.user();
        // A token that claims admin for an account whose stored role is user: the stored role decides.
        const QByteArray claimsAdmin = signToken(fx, user.id, QStringLiteral("admin"));
        HttpClient http(fx.server->baseUrl());
        const QStringList routes = adminRouteSamples();
        QCOMPARE(routes.size(), 10);
        for (const QString &route : routes) {
            const QByteArray method = route.section(QLatin1Char(' '), 0, 0).toLatin1();
            const QString path = route.section(QLatin1Char(' '), 1);
            auto call = [&](const QByteArray &token) {
                QList<QPair<QByteArray, QByteArray>> h;
                if (!token.isEmpty())
                    h.append({"Authorization", "Bearer " + token});
                return http.request(method, path, {}, h);
            };
            const HttpResult anonymous = call({});
            QVERIFY2(anonymous.status == 401 && anonymous.errorCode() == QLatin1String("unauthorized"), qPrintable(route));
            const HttpResult bad = call("not.a.token");
            QVERIFY2(bad.status == 401, qPrintable(route));
            const HttpResult asUser = call(user.token);
            QVERIFY2(asUser.status == 403 && asUser.errorCode() == QLatin1String("forbidden"), qPrintable(route));
            const HttpResult forged = call(claimsAdmin);
            QVERIFY2(forged.status == 403 && forged.errorCode() == QLatin1String("forbidden"), qPrintable(route));
            const HttpResult asAdmin = call(admin.token);
            QVERIFY2(asAdmin.status != 401 && asAdmin.status != 403 && asAdmin.status != 0,
                     qPrintable(route + QStringLiteral(" -> %1").arg(asAdmin.status)));
        }

        // The feed: a user token closes 4003, a bad one 4001, nothing in time 4001; an admin gets hello.
        AdminFeedTestClient asUser;
        asUser.open(fx.port(), user.token);
        QVERIFY(asUser.waitClosed());
        QCOMPARE(asUser.closeCode, AdminFeed::kCloseForbidden);
        QVERIFY2(asUser.closeReason.contains(QLatin1String("admin")), qPrintable(asUser.closeReason));
        QVERIFY(asUser.events.isEmpty());
        AdminFeedTestClient forged;
        forged.open(fx.port(), claimsAdmin);
        QVERIFY(forged.waitClosed());
        QCOMPARE(forged.closeCode, AdminFeed::kCloseForbidden);
        AdminFeedTestClient bad;
        bad.open(fx.port(), "not.a.token");
        QVERIFY(bad.waitClosed());
        QCOMPARE(bad.closeCode, chat::kCloseUnauthorized);
        AdminFeedTestClient noAuth;
        noAuth.open(fx.port());
        QVERIFY(QTest::qWaitFor([&]() { return noAuth.socket.state() == QAbstractSocket::ConnectedState; }, 20000));
        noAuth.socket.sendTextMessage(QStringLiteral("{\"type\":\"chat\",\"text\":\"hi\"}"));
        QVERIFY(noAuth.waitClosed());
        QCOMPARE(noAuth.closeCode, chat::kCloseUnauthorized);
        // First-message authentication works for an admin.
        AdminFeedTestClient byMessage;
        byMessage.open(fx.port());
        QVERIFY(QTest::qWaitFor([&]() { return byMessage.socket.state() == QAbstractSocket::ConnectedState; }, 20000));
        byMessage.socket.sendTextMessage(
            QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("type"), QStringLiteral("auth")}, {QStringLiteral("token"), QString::fromLatin1(admin.token)}})
                                  .toJson(QJsonDocument::Compact)));
        QVERIFY(byMessage.waitForType(QStringLiteral("hello")));
        QCOMPARE(byMessage.events.first().value(QStringLiteral("user_id")).toInteger(), admin.id);
        QVERIFY(byMessage.events.first().value(QStringLiteral("queues")).toObject().contains(QStringLiteral("llm")));
    }

    // Like a chat socket, the feed lives as long as its admin's access token, unless a fresh token of
    // the same admin arrives on it; a token of another account closes it.
    void theFeedEndsWithItsTokenUnlessRenewed()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        AdminFeedTestClient expiring;
        QVERIFY(expiring.openAndHello(fx.port(), signToken(fx, admin.id, QStringLiteral("admin"), 2)));
        const qint64 expiresAt = expiring.events.first().value(QStringLiteral("token_expires_at")).toInteger();
        QVERIFY(expiresAt >= QDateTime::currentSecsSinceEpoch());
        AdminFeedTestClient renewed;
        QVERIFY(renewed.openAndHello(fx.port(), signToken(fx, admin.id, QStringLiteral("admin"), 2)));
        renewed.sendAuth(signToken(fx, admin.id, QStringLiteral("admin"), 600));
        QVERIFY(renewed.waitForType(QStringLiteral("authenticated")));
        QVERIFY(renewed.events.at(renewed.indexOfType(QStringLiteral("authenticated"))).value(QStringLiteral("token_expires_at")).toInteger()
                >= expiresAt + 500);

        QVERIFY(expiring.waitClosed(15000));
        QCOMPARE(expiring.closeCode, chat::kCloseUnauthorized);
        QVERIFY(QDateTime::currentSecsSinceEpoch() >= expiresAt); // not before it expired
        QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentSecsSinceEpoch() > expiresAt + 1, 10000);
        const int from = renewed.events.size();
        renewed.send({{QStringLiteral("type"), QStringLiteral("ping")}});
        QVERIFY(renewed.waitForType(QStringLiteral("pong"), from));
        QVERIFY(!renewed.closed);

        const AdminUser other = makeAdmin(fx, QStringLiteral("other"));
        renewed.sendAuth(other.token);
        QVERIFY(renewed.waitClosed());
        QCOMPARE(renewed.closeCode, chat::kCloseUnauthorized);
    }

    void sessionsShowTwoChattingUsers()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser alice = fx.user(QStringLiteral("alice"));
        const ChatUser bob = fx.user(QStringLiteral("bob"));
        ChatTestClient a;
        QVERIFY(a.openAndHello(fx.port(), alice.token));
        ChatTestClient b;
        QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws?device=pixel-7&token=%2").arg(fx.port()).arg(QString::fromLatin1(bob.token))));
        request.setRawHeader("User-Agent", "tianyi-test/1.0");
        b.socket.open(request);
        QVERIFY(b.waitForType(chat::kHello));
        a.chat(QStringLiteral("你好"));
        b.chat(QStringLiteral("你好"));
        QVERIFY(a.waitForType(chat::kTurnEnd, 1));
        QVERIFY(b.waitForType(chat::kTurnEnd, 1));

        HttpClient http(fx.server->baseUrl());
        const HttpResult r = http.get(QStringLiteral("/api/v1/admin/sessions"), admin.token);
        QCOMPARE(r.status, 200);
        const QJsonArray sessions = r.json().value(QStringLiteral("sessions")).toArray();
        QCOMPARE(sessions.size(), 2);
        const QJsonObject sa = sessionOf(sessions, sessionIdOf(a));
        const QJsonObject sb = sessionOf(sessions, sessionIdOf(b));
        QCOMPARE(sa.value(QStringLiteral("user_id")).toInteger(), alice.id);
        QCOMPARE(sa.value(QStringLiteral("username")).toString(), QStringLiteral("alice"));
        QCOMPARE(sb.value(QStringLiteral("username")).toString(), QStringLiteral("bob"));
        QCOMPARE(sb.value(QStringLiteral("device")).toString(), QStringLiteral("pixel-7"));
        QCOMPARE(sb.value(QStringLiteral("user_agent")).toString(), QStringLiteral("tianyi-test/1.0"));
        for (const QJsonObject &s : {sa, sb}) {
            QCOMPARE(s.value(QStringLiteral("state")).toString(), QStringLiteral("idle"));
            QCOMPARE(s.value(QStringLiteral("turns")).toInt(), 1);
            QVERIFY(s.value(QStringLiteral("last_ttft_ms")).isDouble());
            QVERIFY(s.value(QStringLiteral("last_first_audio_ms")).isDouble());
            QVERIFY(QDateTime::fromString(s.value(QStringLiteral("since")).toString(), Qt::ISODateWithMs).isValid());
        }
        const QJsonObject ttft = a.first(chat::kTurnEnd, 1).value(QStringLiteral("stats")).toObject();
        QCOMPARE(sa.value(QStringLiteral("last_ttft_ms")).toInteger(), ttft.value(QStringLiteral("ttft_ms")).toInteger());

        // Queues: the OpenAI client's scheduler and the GPT-SoVITS pool (one backend). The finished
        // turns queue memory extraction and summary jobs, which use the LLM for a moment too: wait
        // until the server is idle, then every count is 0.
        HttpResult q;
        auto llmIdle = [&]() {
            q = http.get(QStringLiteral("/api/v1/admin/queues"), admin.token);
            const QJsonObject l = q.json().value(QStringLiteral("llm")).toObject();
            return q.status == 200 && l.value(QStringLiteral("in_flight")).toInt(-1) == 0 && l.value(QStringLiteral("waiting")).toInt(-1) == 0;
        };
        QTRY_VERIFY_WITH_TIMEOUT(llmIdle(), 15000);
        const QJsonObject llm = q.json().value(QStringLiteral("llm")).toObject();
        QCOMPARE(llm.value(QStringLiteral("built_in")).toBool(), false);
        QCOMPARE(llm.value(QStringLiteral("in_flight")).toInt(-1), 0);
        QCOMPARE(llm.value(QStringLiteral("waiting")).toInt(-1), 0);
        const QJsonObject tts = q.json().value(QStringLiteral("tts")).toObject();
        QCOMPARE(tts.value(QStringLiteral("queued")).toInt(-1), 0);
        QCOMPARE(tts.value(QStringLiteral("running")).toInt(-1), 0);
        const QJsonArray backends = tts.value(QStringLiteral("backends")).toArray();
        QCOMPARE(backends.size(), 1);
        QCOMPARE(backends.first().toObject().value(QStringLiteral("state")).toString(), QStringLiteral("closed"));
        QCOMPARE(backends.first().toObject().value(QStringLiteral("in_flight")).toInt(-1), 0);
        QCOMPARE(q.json().value(QStringLiteral("sessions")).toInt(), 2);
    }

    void adminInspectsTheAssembledPromptOfASession()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser alice = fx.user(QStringLiteral("alice"));
        ChatTestClient a;
        QVERIFY(a.openAndHello(fx.port(), alice.token));
        HttpClient http(fx.server->baseUrl());
        const QString path = QStringLiteral("/api/v1/admin/sessions/%1/prompt").arg(sessionIdOf(a));
        QVERIFY(http.get(path, admin.token).json().value(QStringLiteral("prompt")).isNull()); // no turn yet

        a.chat(QStringLiteral("今天想听《普通DISCO》"));
        QVERIFY(a.waitForType(chat::kTurnEnd, 1));
        const HttpResult r = http.get(path, admin.token);
        QCOMPARE(r.status, 200);
        const QJsonObject prompt = r.json().value(QStringLiteral("prompt")).toObject();
        QCOMPARE(prompt.value(QStringLiteral("turn")).toInt(), 1);
        const QJsonArray messages = prompt.value(QStringLiteral("messages")).toArray();
        QCOMPARE(messages.first().toObject().value(QStringLiteral("role")).toString(), QStringLiteral("system"));
        QCOMPARE(messages.last().toObject().value(QStringLiteral("content")).toString(), QStringLiteral("今天想听《普通DISCO》"));
        // Every slot reports its use against its budget.
        const QJsonObject slotUsage = prompt.value(QStringLiteral("slots")).toObject();
        for (const char *slot : {"persona", "summary", "memories", "knowledge", "recent_turns", "user_text"}) {
            const QJsonObject u = slotUsage.value(QLatin1String(slot)).toObject();
            QVERIFY2(u.contains(QStringLiteral("budget")) && u.value(QStringLiteral("tokens")).toInt() <= u.value(QStringLiteral("budget")).toInt(), slot);
        }
        QVERIFY(prompt.value(QStringLiteral("estimated_tokens")).toInt() > 0);
        // The user cannot see it (the route walker also proves 401/403 for every admin route).
        QCOMPARE(http.get(path, alice.token).status, 403);
    }

    void builtInProvidersReportZeros()
    {
        ChatFixture::Options o = fastOptions();
        o.fakeLlm = false;
        o.fakeTts = false;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        HttpClient http(fx.server->baseUrl());
        const HttpResult q = http.get(QStringLiteral("/api/v1/admin/queues"), admin.token);
        QCOMPARE(q.status, 200);
        const QJsonObject llm = q.json().value(QStringLiteral("llm")).toObject();
        QCOMPARE(llm.value(QStringLiteral("built_in")).toBool(), true);
        QCOMPARE(llm.value(QStringLiteral("in_flight")).toInt(-1), 0);
        QCOMPARE(llm.value(QStringLiteral("waiting")).toInt(-1), 0);
        QCOMPARE(q.json().value(QStringLiteral("tts")).toObject().value(QStringLiteral("backends")).toArray().size(), 0);
        const QJsonObject outbox = q.json().value(QStringLiteral("outbox")).toObject();
        for (const char *key : {"pending", "running", "dead", "in_flight"})
            QVERIFY2(outbox.value(QLatin1String(key)).isDouble(), key);
    }

    void stopTurnAndDisconnect()
    {
        ChatFixture fx(slowOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        const QString sid = sessionIdOf(c);
        HttpClient http(fx.server->baseUrl());

        c.chat(QStringLiteral("讲个长故事"));
        QVERIFY(c.waitForType(chat::kTextDelta, 1));
        const QJsonObject running = sessionOf(http.get(QStringLiteral("/api/v1/admin/sessions"), admin.token).json().value(QStringLiteral("sessions")).toArray(), sid);
        QVERIFY2(running.value(QStringLiteral("state")).toString() != QLatin1String("idle"), qPrintable(running.value(QStringLiteral("state")).toString()));
        QCOMPARE(running.value(QStringLiteral("current_turn")).toInt(), 1);

        const HttpResult stop = adminPost(http, QStringLiteral("/api/v1/admin/sessions/%1/stop").arg(sid), admin.token);
        QCOMPARE(stop.status, 200);
        QCOMPARE(stop.json().value(QStringLiteral("stopped_turn")).toInt(), 1);
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        const int stopped = c.indexOfType(chat::kStopped, 1);
        QVERIFY(stopped >= 0);
        QVERIFY(stopped < c.indexOfType(chat::kTurnEnd, 1));
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kInterrupted);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        // Nothing running: stop answers 200 with no turn; the socket stays usable.
        const HttpResult idle = adminPost(http, QStringLiteral("/api/v1/admin/sessions/%1/stop").arg(sid), admin.token);
        QCOMPARE(idle.status, 200);
        QVERIFY(idle.json().value(QStringLiteral("stopped_turn")).isNull());
        QCOMPARE(adminPost(http, QStringLiteral("/api/v1/admin/sessions/nosuch/stop"), admin.token).status, 404);

        c.chat(QStringLiteral("再来"));
        QVERIFY(c.waitForType(chat::kTurnStart, 2));
        const HttpResult kick = adminPost(http, QStringLiteral("/api/v1/admin/sessions/%1/disconnect").arg(sid), admin.token);
        QCOMPARE(kick.status, 200);
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseKicked);
        QTRY_VERIFY_WITH_TIMEOUT(http.get(QStringLiteral("/api/v1/admin/sessions"), admin.token).json().value(QStringLiteral("sessions")).toArray().isEmpty(), 10000);
        QCOMPARE(adminPost(http, QStringLiteral("/api/v1/admin/sessions/%1/disconnect").arg(sid), admin.token).status, 404);
    }

    void disableAndEnableUser()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser carol = fx.user(QStringLiteral("carol"));
        HttpClient http(fx.server->baseUrl());
        const HttpResult login = passwordLogin(http, QStringLiteral("carol"), kUserPassword);
        QCOMPARE(login.status, 200);
        const QString refresh = login.json().value(QStringLiteral("refresh_token")).toString();

        AdminFeedTestClient feed;
        QVERIFY(feed.openAndHello(fx.port(), admin.token));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), carol.token));

        const HttpResult disabled = adminPost(http, QStringLiteral("/api/v1/admin/users/%1/disable").arg(carol.id), admin.token);
        QCOMPARE(disabled.status, 200);
        QCOMPARE(disabled.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("disabled")).toBool(), true);
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseKicked);
        const HttpResult refused = passwordLogin(http, QStringLiteral("carol"), kUserPassword);
        QCOMPARE(refused.status, 403);
        QCOMPARE(refused.errorCode(), QStringLiteral("account_disabled"));
        // Refresh tokens were revoked; existing access tokens no longer open a chat socket.
        QUrlQuery grant;
        grant.addQueryItem(QStringLiteral("grant_type"), QStringLiteral("refresh_token"));
        grant.addQueryItem(QStringLiteral("refresh_token"), refresh);
        QVERIFY(http.request("POST", QStringLiteral("/api/v1/auth/token"), grant.toString(QUrl::FullyEncoded).toUtf8(),
                             {{"Content-Type", "application/x-www-form-urlencoded"}}).status >= 400);
        ChatTestClient again;
        again.open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(carol.token)}});
        QVERIFY(again.waitClosed());
        QCOMPARE(again.closeCode, chat::kCloseUnauthorized);

        // The feed learns of it; the users list shows it.
        QVERIFY(feed.waitForType(QStringLiteral("users_changed")));
        const QJsonObject change = feed.events.at(feed.indexOfType(QStringLiteral("users_changed")));
        QCOMPARE(change.value(QStringLiteral("change")).toString(), QStringLiteral("disabled"));
        QCOMPARE(change.value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger(), carol.id);

        const HttpResult enabled = adminPost(http, QStringLiteral("/api/v1/admin/users/%1/enable").arg(carol.id), admin.token);
        QCOMPARE(enabled.status, 200);
        QCOMPARE(enabled.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("disabled")).toBool(), false);
        const HttpResult relogin = passwordLogin(http, QStringLiteral("carol"), kUserPassword);
        QCOMPARE(relogin.status, 200);
        // Enabling does not revive the tokens from before the disabling: a new login is needed.
        ChatTestClient stale;
        stale.open(fx.port(), {{QStringLiteral("token"), QString::fromLatin1(carol.token)}});
        QVERIFY(stale.waitClosed());
        QCOMPARE(stale.closeCode, chat::kCloseUnauthorized);
        ChatTestClient back;
        QVERIFY(back.openAndHello(fx.port(), relogin.json().value(QStringLiteral("access_token")).toString().toLatin1()));

        // No such user; an admin cannot lock themselves out.
        QCOMPARE(adminPost(http, QStringLiteral("/api/v1/admin/users/999999/disable"), admin.token).status, 404);
        const HttpResult self = adminPost(http, QStringLiteral("/api/v1/admin/users/%1/disable").arg(admin.id), admin.token);
        QCOMPARE(self.status, 400);
        QCOMPARE(self.errorCode(), QStringLiteral("bad_request"));
        // A disabled admin loses the API at once, whatever the token says.
        const AdminUser second = makeAdmin(fx, QStringLiteral("second"));
        AdminFeedTestClient secondFeed;
        QVERIFY(secondFeed.openAndHello(fx.port(), second.token));
        QCOMPARE(adminPost(http, QStringLiteral("/api/v1/admin/users/%1/disable").arg(second.id), admin.token).status, 200);
        QVERIFY(secondFeed.waitClosed());
        QCOMPARE(secondFeed.closeCode, AdminFeed::kCloseForbidden);
        QVERIFY(!feed.closed);
        const HttpResult locked = http.get(QStringLiteral("/api/v1/admin/sessions"), second.token);
        QCOMPARE(locked.status, 403);
        QCOMPARE(locked.errorCode(), QStringLiteral("account_disabled"));
    }

    void usersArePaged()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        fx.user(QStringLiteral("dave"));
        fx.user(QStringLiteral("erin"));
        HttpClient http(fx.server->baseUrl());
        QStringList names;
        qint64 after = 0;
        int pages = 0;
        for (;;) {
            const HttpResult page = http.get(QStringLiteral("/api/v1/admin/users?limit=2&after_id=%1").arg(after), admin.token);
            QCOMPARE(page.status, 200);
            QCOMPARE(page.json().value(QStringLiteral("total")).toInt(), 3);
            ++pages;
            for (const QJsonValue &v : page.json().value(QStringLiteral("users")).toArray()) {
                const QJsonObject u = v.toObject();
                names << u.value(QStringLiteral("username")).toString();
                QVERIFY(u.value(QStringLiteral("role")).isString());
                QVERIFY(u.value(QStringLiteral("disabled")).isBool());
                QVERIFY(QDateTime::fromString(u.value(QStringLiteral("created_at")).toString(), Qt::ISODateWithMs).isValid());
            }
            const QJsonValue next = page.json().value(QStringLiteral("next_after_id"));
            if (next.isNull())
                break;
            after = next.toInteger();
        }
        QCOMPARE(pages, 2);
        QCOMPARE(names, (QStringList{QStringLiteral("root"), QStringLiteral("dave"), QStringLiteral("erin")}));
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/users?limit=0"), admin.token).status, 400);
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/users?after_id=x"), admin.token).status, 400);
    }

    void turnTranscriptAndAudioOfAnyUser()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser alice = fx.user(QStringLiteral("alice"));
        const ChatUser bob = fx.user(QStringLiteral("bob"));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), alice.token));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        int sentences = 0;
        for (const ChatMessage &m : c.ofTurn(1))
            sentences += m.type() == chat::kSentence ? 1 : 0;
        QVERIFY(sentences > 0);
        QVector<StoredTurn> turns;
        QTRY_VERIFY_WITH_TIMEOUT((turns = fx.storedTurns(alice.id)).size() == 1 && turns.first().sentences.size() == sentences, 10000);
        const qint64 turnId = turns.first().id;

        HttpClient http(fx.server->baseUrl());
        const HttpResult r = http.get(QStringLiteral("/api/v1/admin/turns/%1").arg(turnId), admin.token);
        QCOMPARE(r.status, 200);
        const QJsonObject turn = r.json().value(QStringLiteral("turn")).toObject();
        QCOMPARE(turn.value(QStringLiteral("user_id")).toInteger(), alice.id);
        QCOMPARE(turn.value(QStringLiteral("username")).toString(), QStringLiteral("alice"));
        QCOMPARE(turn.value(QStringLiteral("user_text")).toString(), QStringLiteral("你好"));
        QCOMPARE(turn.value(QStringLiteral("status")).toString(), chat::kCompleted);
        QCOMPARE(turn.value(QStringLiteral("reply_text")).toString(), c.first(chat::kTurnEnd, 1).value(QStringLiteral("text")).toString());
        QCOMPARE(turn.value(QStringLiteral("emotion")).toString(), QStringLiteral("sad"));
        const QJsonArray list = turn.value(QStringLiteral("sentences")).toArray();
        QCOMPARE(list.size(), sentences);
        QCOMPARE(list.first().toObject().value(QStringLiteral("emotion")).toString(), QStringLiteral("happy"));
        const QString url = list.first().toObject().value(QStringLiteral("audio_url")).toString();
        QCOMPARE(url, QStringLiteral("/api/v1/admin/turns/%1/audio/0.wav").arg(turnId));

        const HttpResult wav = http.get(url, admin.token);
        QCOMPARE(wav.status, 200);
        QCOMPARE(wav.header("Content-Type"), QByteArray("audio/wav"));
        QVERIFY(wav.body.startsWith("RIFF"));
        QCOMPARE(wav.body.size() - 44, c.sentencePcm(1, 0).size());

        // Other users: 403; unknown turns and sentences: 404.
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/turns/%1").arg(turnId), bob.token).status, 403);
        QCOMPARE(http.get(url, bob.token).status, 403);
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/turns/%1").arg(turnId + 100), admin.token).status, 404);
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/turns/%1/audio/99.wav").arg(turnId), admin.token).status, 404);
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/turns/%1/audio/0.mp3").arg(turnId), admin.token).status, 404);
    }

    void feedFollowsAScriptedChat()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser alice = fx.user(QStringLiteral("alice"));
        AdminFeedTestClient feed;
        QVERIFY(feed.openAndHello(fx.port(), admin.token));
        QCOMPARE(feed.events.first().value(QStringLiteral("sessions")).toArray().size(), 0);

        auto c = std::make_unique<ChatTestClient>();
        QVERIFY(c->openAndHello(fx.port(), alice.token));
        const QString sid = sessionIdOf(*c);
        c->chat(QStringLiteral("你好"));
        QVERIFY(c->waitForType(chat::kTurnEnd, 1));
        QVERIFY(feed.waitForType(QStringLiteral("turn_ended")));
        // At least one queues tick after the turn, before the session closes.
        QVERIFY(feed.waitForType(QStringLiteral("queues"), feed.indexOfType(QStringLiteral("turn_ended"))));
        c->socket.close();
        QVERIFY(feed.waitForType(QStringLiteral("session_closed")));

        const int opened = feed.indexOfType(QStringLiteral("session_opened"));
        const int started = feed.indexOfType(QStringLiteral("turn_started"));
        const int speaking = feed.indexOfType(QStringLiteral("turn_speaking"));
        const int ended = feed.indexOfType(QStringLiteral("turn_ended"));
        const int tick = feed.indexOfType(QStringLiteral("queues"), ended);
        const int closed = feed.indexOfType(QStringLiteral("session_closed"));
        QVERIFY2(opened > 0 && opened < started && started < speaking && speaking < ended && ended < tick && tick < closed,
                 qPrintable(feed.types().join(QLatin1Char(','))));
        QCOMPARE(feed.types().count(QStringLiteral("turn_speaking")), 1); // once per turn, not per delta
        QCOMPARE(feed.events.at(speaking).value(QStringLiteral("session_id")).toString(), sid);
        QCOMPARE(feed.events.at(speaking).value(QStringLiteral("turn")).toInt(), 1);
        QCOMPARE(feed.events.at(opened).value(QStringLiteral("session")).toObject().value(QStringLiteral("id")).toString(), sid);
        QCOMPARE(feed.events.at(opened).value(QStringLiteral("session")).toObject().value(QStringLiteral("username")).toString(), QStringLiteral("alice"));
        QCOMPARE(feed.events.at(started).value(QStringLiteral("session_id")).toString(), sid);
        QCOMPARE(feed.events.at(started).value(QStringLiteral("turn")).toInt(), 1);
        QCOMPARE(feed.events.at(started).value(QStringLiteral("user_text")).toString(), QStringLiteral("你好"));
        const QJsonObject end = feed.events.at(ended);
        QCOMPARE(end.value(QStringLiteral("status")).toString(), chat::kCompleted);
        QCOMPARE(end.value(QStringLiteral("stats")).toObject(), c->first(chat::kTurnEnd, 1).value(QStringLiteral("stats")).toObject());
        // The stored turn's id, so that the operator can open it.
        const QVector<StoredTurn> stored = fx.storedTurns(alice.id);
        QCOMPARE(stored.size(), 1);
        QCOMPARE(end.value(QStringLiteral("turn_id")).toInteger(), stored.first().id);
        const QJsonObject queues = feed.events.at(tick).value(QStringLiteral("queues")).toObject();
        QVERIFY(queues.value(QStringLiteral("llm")).toObject().contains(QStringLiteral("in_flight")));
        QVERIFY(queues.value(QStringLiteral("tts")).toObject().contains(QStringLiteral("backends")));
        QCOMPARE(feed.events.at(closed).value(QStringLiteral("session_id")).toString(), sid);
        QCOMPARE(feed.events.at(closed).value(QStringLiteral("user_id")).toInteger(), alice.id);
        // Same shape as GET queues.
        HttpClient http(fx.server->baseUrl());
        const QJsonObject viaHttp = http.get(QStringLiteral("/api/v1/admin/queues"), admin.token).json();
        QCOMPARE(QStringList(queues.keys()), QStringList(viaHttp.keys()));
        // Pings are answered.
        feed.socket.sendTextMessage(QStringLiteral("{\"type\":\"ping\"}"));
        QVERIFY(feed.waitForType(QStringLiteral("pong")));
    }

    void slowAdminIsDropped()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) { c.limits.wsMaxSendQueueBytes = 64; }; // less than the hello
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        AdminFeedTestClient feed;
        feed.open(fx.port(), admin.token);
        QVERIFY(feed.waitClosed());
        QCOMPARE(feed.closeCode, chat::kCloseSlowConsumer);
    }
};

QTEST_GUILESS_MAIN(TestAdmin)
#include "tst_admin.moc"
