// Stored turns, history paging, audio replay and retention, over the real server and real SQLite.
// Turns and audio are created through TurnRepository / AudioStore directly (not the chat socket),
// except where a test proves what a real turn sends to the (fake) LLM.
#include "authtest.h"
#include "chatfixture.h"
#include "dialog/chatgateway.h"
#include "history/audiostore.h"
#include "history/conversationeraser.h"
#include "memory/memoryextractor.h"
#include "memory/memoryrepository.h"
#include "memory/memoryservice.h"
#include "metrics/metrics.h"
#include "outbox/outbox.h"
#include "prompt/promptcontextcache.h"
#include "storage/database.h"
#include "storage/summaryrepository.h"
#include "storage/turnrepository.h"
#include "testserver.h"

#include <tianyi/wav.h>

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>
#include <memory>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");
const QString kHistory = QStringLiteral("/api/v1/me/history");
constexpr int kRate = 16000;

struct User {
    qint64 id = 0;
    QByteArray token;
};

User makeUser(HttpClient &http, const QString &name)
{
    const HttpResult reg = registerUser(http, name, kPassword);
    User u;
    u.id = reg.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger();
    u.token = accessTokenOf(loginJson(http, name, kPassword));
    return u;
}

// Runs storage work on the server's database and waits for it; nullopt when it failed.
template <typename R>
std::optional<R> db(TestServer &server, std::function<R(SqlSession &)> work)
{
    bool finished = false;
    std::optional<R> out;
    server.app().database().write<R>(&server.app(), std::move(work), [&](DbResult<R> r) {
        out = r.value;
        finished = true;
    });
    if (!QTest::qWaitFor([&]() { return finished; }, 10000))
        return std::nullopt;
    return out;
}

// A turn of the given conversation (session id); status pending leaves it running.
qint64 addTurnIn(TestServer &server, qint64 userId, const QString &sessionId, int turnNo, const QString &userText,
                 const QString &status = QStringLiteral("completed"), const QString &reply = QStringLiteral("reply"))
{
    return db<qint64>(server, [=](SqlSession &s) {
               const qint64 id = TurnRepository::insertPending(s, userId, sessionId, turnNo, userText, 1700000000000 + turnNo);
               if (status != QLatin1String("pending"))
                   TurnRepository::finish(s, id, userId, reply, status, QStringLiteral("happy"),
                                          QJsonObject{{QStringLiteral("tokens"), turnNo}}, 1700000000500 + turnNo);
               return id;
           }).value_or(0);
}

qint64 addTurn(TestServer &server, qint64 userId, int turnNo, const QString &userText, const QString &status = QStringLiteral("completed"),
               const QString &reply = QStringLiteral("reply"))
{
    return addTurnIn(server, userId, QStringLiteral("sess-1"), turnNo, userText, status, reply);
}

// A recognisable PCM pattern of `samples` samples.
QByteArray pcmOf(int samples, int seed)
{
    QByteArray pcm(samples * 2, Qt::Uninitialized);
    for (int i = 0; i < samples; ++i) {
        const qint16 v = qint16((i * 37 + seed * 1000) % 20000 - 10000);
        pcm[2 * i] = char(v & 0xff);
        pcm[2 * i + 1] = char((v >> 8) & 0xff);
    }
    return pcm;
}

// Stores one sentence and waits for its row; returns the stored() ok flag.
bool storeAudio(TestServer &server, qint64 userId, qint64 turnId, int index, const QByteArray &pcm)
{
    AudioStore &store = server.app().audioStore();
    QSignalSpy spy(&store, &AudioStore::stored);
    store.store(userId, turnId, index, QStringLiteral("sentence %1").arg(index), QStringLiteral("happy"), pcm, kRate);
    if (spy.isEmpty() && !spy.wait(10000))
        return false;
    return spy.first().at(3).toBool();
}

QJsonObject history(HttpClient &http, const User &u, const QString &query = {})
{
    const HttpResult r = http.get(kHistory + query, u.token);
    if (r.status != 200)
        qWarning() << "history:" << describe(r);
    return r.json();
}

QJsonArray sentencesOf(const QJsonObject &page, int turnPos)
{
    return page.value(QStringLiteral("turns")).toArray().at(turnPos).toObject().value(QStringLiteral("sentences")).toArray();
}

QString audioPath(qint64 turnId, int index)
{
    return QStringLiteral("/api/v1/me/audio/%1/%2.wav").arg(turnId).arg(index);
}

const QString kConversations = QStringLiteral("/api/v1/me/history/conversations/");

HttpResult deleteConversation(HttpClient &http, const QByteArray &token, const QString &sessionId)
{
    return http.request("DELETE", kConversations + sessionId, {}, {{"Authorization", "Bearer " + token}});
}

// The user_text of every turn the user's history shows (first page).
QStringList historyTexts(HttpClient &http, const User &u)
{
    QStringList out;
    for (const QJsonValue &t : history(http, u, QStringLiteral("?limit=100")).value(QStringLiteral("turns")).toArray())
        out << t.toObject().value(QStringLiteral("user_text")).toString();
    return out;
}

// A settable clock for the AudioStore (created_at of stored audio, retention by age).
struct FakeClock {
    std::shared_ptr<qint64> now = std::make_shared<qint64>(1700000000000);
    std::function<qint64()> fn() const
    {
        auto n = now;
        return [n]() { return *n; };
    }
};

} // namespace

class TestHistory : public QObject
{
    Q_OBJECT

private slots:
    void repositoryRoundTrip()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const User b = makeUser(http, QStringLiteral("bob"));

        const qint64 t1 = addTurn(server, a.id, 1, QStringLiteral("hello"), QStringLiteral("completed"), QStringLiteral("hi there"));
        const qint64 t2 = addTurn(server, a.id, 2, QStringLiteral("sing"), QStringLiteral("interrupted"), QStringLiteral("la la")); // heard part only
        const qint64 t3 = addTurn(server, a.id, 3, QStringLiteral("oops"), QStringLiteral("failed"), QString());
        const qint64 t4 = addTurn(server, a.id, 4, QStringLiteral("still running"), QStringLiteral("pending"));
        addTurn(server, b.id, 1, QStringLiteral("bob's secret"));
        QVERIFY2(t1 > 0 && t2 > t1 && t3 > t2 && t4 > t3, qPrintable(QStringLiteral("%1 %2 %3 %4").arg(t1).arg(t2).arg(t3).arg(t4)));

        const auto recent = db<QVector<StoredTurn>>(server, [&](SqlSession &s) { return TurnRepository::recentForPrompt(s, a.id, 10); });
        QVERIFY(recent);
        QCOMPARE(recent->size(), 2); // failed and pending are not part of the prompt; bob's turn is not alice's
        QCOMPARE(recent->at(0).id, t1); // oldest first
        QCOMPARE(recent->at(0).replyText, QStringLiteral("hi there"));
        QCOMPARE(recent->at(0).status, QStringLiteral("completed"));
        QCOMPARE(recent->at(1).id, t2);
        QCOMPARE(recent->at(1).replyText, QStringLiteral("la la"));
        QCOMPARE(recent->at(1).status, QStringLiteral("interrupted"));
        QCOMPARE(recent->at(1).stats.value(QStringLiteral("tokens")).toInt(), 2);
        QCOMPARE(recent->at(1).emotion, QStringLiteral("happy"));
        QCOMPARE(recent->at(1).sessionId, QStringLiteral("sess-1"));
        QCOMPARE(recent->at(1).turnNo, 2);

        // The limit keeps the most recent ones, still oldest first.
        const auto last = db<QVector<StoredTurn>>(server, [&](SqlSession &s) { return TurnRepository::recentForPrompt(s, a.id, 1); });
        QCOMPARE(last->size(), 1);
        QCOMPARE(last->at(0).id, t2);

        // Pending -> finished.
        QVERIFY(db<bool>(server, [&](SqlSession &s) {
            TurnRepository::finish(s, t4, a.id, QStringLiteral("done now"), QStringLiteral("completed"), QStringLiteral("calm"), {}, 1700000009999);
            return true;
        }));
        const auto after = db<QVector<StoredTurn>>(server, [&](SqlSession &s) { return TurnRepository::recentForPrompt(s, a.id, 10); });
        QCOMPARE(after->size(), 3);
        QCOMPARE(after->last().id, t4);
        QCOMPARE(after->last().replyText, QStringLiteral("done now"));
        QCOMPARE(after->last().completedAtMs, qint64(1700000009999));

        // Scoping: bob can neither finish nor attach audio to alice's turn, nor read it.
        QVERIFY(!db<bool>(server, [&](SqlSession &s) {
            TurnRepository::finish(s, t1, b.id, QStringLiteral("hijack"), QStringLiteral("completed"), {}, {}, 1);
            return true;
        }));
        QVERIFY(!db<bool>(server, [&](SqlSession &s) {
            SentenceAudio audio;
            audio.index = 0;
            audio.text = QStringLiteral("x");
            TurnRepository::addSentenceAudio(s, t1, b.id, audio);
            return true;
        }));
        QVERIFY(!db<bool>(server, [&](SqlSession &s) { return TurnRepository::turn(s, b.id, t1).has_value(); }).value());
        QCOMPARE(db<QString>(server, [&](SqlSession &s) { return TurnRepository::turn(s, a.id, t1)->replyText; }).value(), QStringLiteral("hi there"));
        // A pending status is not a way to finish a turn.
        QVERIFY(!db<bool>(server, [&](SqlSession &s) {
            TurnRepository::finish(s, t1, a.id, {}, QStringLiteral("pending"), {}, {}, 1);
            return true;
        }));
    }

    void historyPaging()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));

        QVector<qint64> ids;
        for (int i = 1; i <= 25; ++i)
            ids << addTurn(server, a.id, i, QStringLiteral("q%1").arg(i), i == 7 ? QStringLiteral("failed") : QStringLiteral("completed"));
        addTurn(server, a.id, 26, QStringLiteral("running"), QStringLiteral("pending")); // not shown while it runs

        // Default page: 20 newest first.
        QJsonObject page = history(http, a);
        QJsonArray turns = page.value(QStringLiteral("turns")).toArray();
        QCOMPARE(turns.size(), 20);
        QCOMPARE(turns.first().toObject().value(QStringLiteral("id")).toInteger(), ids.last());
        QCOMPARE(page.value(QStringLiteral("next_before")).toInteger(), ids.at(5));

        const QJsonObject newest = turns.first().toObject();
        QCOMPARE(newest.value(QStringLiteral("turn")).toInt(), 25);
        QCOMPARE(newest.value(QStringLiteral("session_id")).toString(), QStringLiteral("sess-1"));
        QCOMPARE(newest.value(QStringLiteral("user_text")).toString(), QStringLiteral("q25"));
        QCOMPARE(newest.value(QStringLiteral("reply_text")).toString(), QStringLiteral("reply"));
        QCOMPARE(newest.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QCOMPARE(newest.value(QStringLiteral("emotion")).toString(), QStringLiteral("happy"));
        QCOMPARE(newest.value(QStringLiteral("stats")).toObject().value(QStringLiteral("tokens")).toInt(), 25);
        QCOMPARE(newest.value(QStringLiteral("created_at")).toString(), QStringLiteral("2023-11-14T22:13:20.025Z"));
        QVERIFY(newest.value(QStringLiteral("sentences")).toArray().isEmpty());

        // Walk with limit=10 until next_before is null: every turn exactly once, newest first.
        QVector<qint64> seen;
        QString query = QStringLiteral("?limit=10");
        for (int pages = 0; pages < 10; ++pages) {
            page = history(http, a, query);
            for (const QJsonValue &t : page.value(QStringLiteral("turns")).toArray())
                seen << t.toObject().value(QStringLiteral("id")).toInteger();
            if (page.value(QStringLiteral("next_before")).isNull())
                break;
            query = QStringLiteral("?limit=10&before=%1").arg(page.value(QStringLiteral("next_before")).toInteger());
        }
        QVector<qint64> expected = ids;
        std::reverse(expected.begin(), expected.end());
        QCOMPARE(seen, expected);
        // Failed turns are part of the history.
        page = history(http, a, QStringLiteral("?before=%1&limit=1").arg(ids.at(7)));
        QCOMPARE(page.value(QStringLiteral("turns")).toArray().first().toObject().value(QStringLiteral("status")).toString(), QStringLiteral("failed"));
        QCOMPARE(page.value(QStringLiteral("next_before")).toInteger(), ids.at(6));
        // Exactly the last page: no next_before.
        page = history(http, a, QStringLiteral("?before=%1&limit=5").arg(ids.at(5)));
        QCOMPARE(page.value(QStringLiteral("turns")).toArray().size(), 5);
        QVERIFY(page.value(QStringLiteral("next_before")).isNull());
    }

    void badParameters()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));

        const QList<QPair<QString, QString>> cases = {
            {QStringLiteral("?limit=0"), QStringLiteral("limit")},          {QStringLiteral("?limit=101"), QStringLiteral("limit")},
            {QStringLiteral("?limit=abc"), QStringLiteral("limit")},        {QStringLiteral("?limit="), QStringLiteral("limit")},
            {QStringLiteral("?limit=-5"), QStringLiteral("limit")},         {QStringLiteral("?limit=1&limit=2"), QStringLiteral("limit")},
            {QStringLiteral("?before=0"), QStringLiteral("before")},        {QStringLiteral("?before=-1"), QStringLiteral("before")},
            {QStringLiteral("?before=12x"), QStringLiteral("before")},      {QStringLiteral("?before=99999999999999999999"), QStringLiteral("before")},
            {QStringLiteral("?before=1.5&limit=3"), QStringLiteral("before")},
        };
        for (const auto &c : cases) {
            const HttpResult r = http.get(kHistory + c.first, a.token);
            QVERIFY2(r.status == 400, qPrintable(c.first + QStringLiteral(": ") + describe(r)));
            QCOMPARE(r.errorCode(), QStringLiteral("bad_request"));
            const QString message = r.json().value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString();
            QVERIFY2(message.contains(c.second), qPrintable(message));
        }
        QCOMPARE(http.get(kHistory + QStringLiteral("?limit=100&before=5"), a.token).status, 200);
        QCOMPARE(http.get(kHistory + QStringLiteral("?limit=1"), a.token).status, 200);

        // No or a bad token: 401 before anything else.
        QCOMPARE(http.get(kHistory + QStringLiteral("?limit=0")).status, 401);
        QCOMPARE(http.get(kHistory, "garbage").status, 401);
        QCOMPARE(http.get(audioPath(1, 0)).status, 401);
        // Malformed audio paths are simply not found.
        for (const QString &p : {QStringLiteral("/api/v1/me/audio/x/0.wav"), QStringLiteral("/api/v1/me/audio/1/0.mp3"),
                                 QStringLiteral("/api/v1/me/audio/1/-1.wav"), QStringLiteral("/api/v1/me/audio/1/.wav"),
                                 QStringLiteral("/api/v1/me/audio/1/99999999999.wav")}) {
            const HttpResult r = http.get(p, a.token);
            QVERIFY2(r.status == 404, qPrintable(p + QStringLiteral(": ") + describe(r)));
            QCOMPARE(r.errorCode(), QStringLiteral("not_found"));
        }
    }

    void audioReplayAndIsolation()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const User b = makeUser(http, QStringLiteral("bob"));

        const qint64 turn = addTurn(server, a.id, 1, QStringLiteral("sing for me"));
        const QByteArray pcm0 = pcmOf(8000, 1); // 500 ms
        const QByteArray pcm1 = pcmOf(3200, 2); // 200 ms
        QVERIFY(storeAudio(server, a.id, turn, 0, pcm0));
        QVERIFY(storeAudio(server, a.id, turn, 1, pcm1));

        const HttpResult replay = http.get(audioPath(turn, 1), a.token);
        QCOMPARE(replay.status, 200);
        QCOMPARE(replay.header("Content-Type"), QByteArray("audio/wav"));
        wav::Format format;
        QByteArray pcm;
        QString error;
        QVERIFY2(wav::parseFile(replay.body, &format, &pcm, &error), qPrintable(error));
        QCOMPARE(format.sampleRate, kRate);
        QCOMPARE(format.channels, 1);
        QVERIFY(format.isPcm16());
        QCOMPARE(pcm, pcm1);

        const QJsonObject page = history(http, a);
        const QJsonArray sentences = sentencesOf(page, 0);
        QCOMPARE(sentences.size(), 2);
        const QJsonObject s0 = sentences.at(0).toObject();
        QCOMPARE(s0.value(QStringLiteral("index")).toInt(), 0);
        QCOMPARE(s0.value(QStringLiteral("text")).toString(), QStringLiteral("sentence 0"));
        QCOMPARE(s0.value(QStringLiteral("emotion")).toString(), QStringLiteral("happy"));
        QCOMPARE(s0.value(QStringLiteral("duration_ms")).toInt(), 500);
        QCOMPARE(s0.value(QStringLiteral("audio_url")).toString(), audioPath(turn, 0));
        QCOMPARE(sentences.at(1).toObject().value(QStringLiteral("duration_ms")).toInt(), 200);

        // On disk: owner-only tree.
        const QString root = server.app().audioStore().audioRoot();
        const QString file = root + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(turn);
        QVERIFY(QFileInfo::exists(file));
        const auto ownerDir = QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner;
        for (const QString &dir : {root, root + QStringLiteral("/%1").arg(a.id), root + QStringLiteral("/%1/%2").arg(a.id).arg(turn)}) {
            const auto perms = QFileInfo(dir).permissions();
            QVERIFY2((perms & ~(ownerDir | QFile::ReadUser | QFile::WriteUser | QFile::ExeUser)) == 0, qPrintable(dir));
        }
        QVERIFY((QFileInfo(file).permissions() & (QFile::ReadGroup | QFile::ReadOther)) == 0);
        QVERIFY(server.app().audioStore().bytesKept() >= pcm0.size() + pcm1.size());
        QVERIFY(server.app().metrics().value(QStringLiteral("tianyi_audio_bytes_kept")) >= double(pcm0.size() + pcm1.size()));

        // Bob: the same answer for alice's audio as for audio that does not exist; alice's turns never appear.
        const HttpResult stolen = http.get(audioPath(turn, 0), b.token);
        QCOMPARE(stolen.status, 404);
        QCOMPARE(stolen.errorCode(), QStringLiteral("not_found"));
        const HttpResult missing = http.get(audioPath(turn + 1000, 0), b.token);
        QCOMPARE(missing.status, 404);
        QCOMPARE(missing.json(), stolen.json());
        QVERIFY(!stolen.body.contains("sentence"));
        QCOMPARE(history(http, b).value(QStringLiteral("turns")).toArray().size(), 0);
        QCOMPARE(history(http, b, QStringLiteral("?before=%1").arg(turn + 1)).value(QStringLiteral("turns")).toArray().size(), 0);
        // Alice's own missing sentence: 404 too.
        QCOMPARE(http.get(audioPath(turn, 2), a.token).status, 404);
        // Bob's audio on alice's turn is refused by the store.
        QVERIFY(!storeAudio(server, b.id, turn, 5, pcm0));
        QVERIFY(!QFileInfo::exists(root + QStringLiteral("/%1/%2/5.wav").arg(b.id).arg(turn)));
    }

    void retentionByBytes()
    {
        const QByteArray pcm = pcmOf(4000, 3);
        const qint64 fileBytes = wav::file(pcm, kRate).size();
        FakeClock clock;
        TestServer server([&](Config &c) { c.audio.maxBytes = 2 * fileBytes; c.audio.maxDays = 0; });
        QVERIFY2(server.started(), qPrintable(server.error()));
        AudioStore &store = server.app().audioStore();
        store.setClock(clock.fn());
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const qint64 t1 = addTurn(server, a.id, 1, QStringLiteral("one"));
        const qint64 t2 = addTurn(server, a.id, 2, QStringLiteral("two"));

        QVERIFY(storeAudio(server, a.id, t1, 0, pcm));
        *clock.now += 1000;
        QVERIFY(storeAudio(server, a.id, t1, 1, pcm));
        QCOMPARE(store.bytesKept(), 2 * fileBytes);
        QCOMPARE(store.filesRemoved(), qint64(0));
        *clock.now += 1000;
        QVERIFY(storeAudio(server, a.id, t2, 0, pcm)); // over budget: the oldest file goes

        const QString root = store.audioRoot();
        QTRY_COMPARE_WITH_TIMEOUT(store.filesRemoved(), qint64(1), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(root + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(t1)), 10000);
        QVERIFY(QFileInfo::exists(root + QStringLiteral("/%1/%2/1.wav").arg(a.id).arg(t1)));
        QVERIFY(QFileInfo::exists(root + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(t2)));
        QCOMPARE(store.bytesKept(), 2 * fileBytes);
        QCOMPARE(server.app().metrics().value(QStringLiteral("tianyi_audio_files_removed_total"), {{QStringLiteral("reason"), QStringLiteral("bytes")}}), 1.0);

        const QJsonObject page = history(http, a);
        const QJsonArray older = sentencesOf(page, 1); // t1
        QCOMPARE(older.size(), 2);
        QVERIFY(older.at(0).toObject().value(QStringLiteral("audio_url")).isNull());
        QCOMPARE(older.at(0).toObject().value(QStringLiteral("text")).toString(), QStringLiteral("sentence 0")); // text stays
        QCOMPARE(older.at(1).toObject().value(QStringLiteral("audio_url")).toString(), audioPath(t1, 1));
        QCOMPARE(sentencesOf(page, 0).at(0).toObject().value(QStringLiteral("audio_url")).toString(), audioPath(t2, 0));
        QCOMPARE(http.get(audioPath(t1, 0), a.token).status, 404);
        QCOMPARE(http.get(audioPath(t1, 1), a.token).status, 200);
    }

    void retentionByAge()
    {
        FakeClock clock;
        TestServer server([&](Config &c) { c.audio.maxDays = 2; });
        QVERIFY2(server.started(), qPrintable(server.error()));
        AudioStore &store = server.app().audioStore();
        store.setClock(clock.fn());
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const qint64 t1 = addTurn(server, a.id, 1, QStringLiteral("old"));
        const qint64 t2 = addTurn(server, a.id, 2, QStringLiteral("new"));

        QVERIFY(storeAudio(server, a.id, t1, 0, pcmOf(1600, 4)));
        *clock.now += qint64(36) * 3600 * 1000; // 1.5 days later
        QVERIFY(storeAudio(server, a.id, t2, 0, pcmOf(1600, 5)));

        // Not old enough yet.
        QSignalSpy done(&store, &AudioStore::retentionFinished);
        store.runRetention();
        QVERIFY(done.wait(10000));
        QCOMPARE(done.last().at(0).toInt(), 0);

        *clock.now += qint64(24) * 3600 * 1000; // the first file is now 2.5 days old, the second 1 day
        done.clear();
        store.runRetention();
        QVERIFY(done.wait(10000));
        QCOMPARE(done.last().at(0).toInt(), 1);
        const QString root = store.audioRoot();
        QVERIFY(!QFileInfo::exists(root + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(t1)));
        QVERIFY(!QFileInfo::exists(root + QStringLiteral("/%1/%2").arg(a.id).arg(t1))); // the emptied turn directory too
        QVERIFY(QFileInfo::exists(root + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(t2)));
        QCOMPARE(server.app().metrics().value(QStringLiteral("tianyi_audio_files_removed_total"), {{QStringLiteral("reason"), QStringLiteral("age")}}), 1.0);

        const QJsonObject page = history(http, a);
        QVERIFY(sentencesOf(page, 1).at(0).toObject().value(QStringLiteral("audio_url")).isNull());
        QCOMPARE(sentencesOf(page, 0).at(0).toObject().value(QStringLiteral("audio_url")).toString(), audioPath(t2, 0));
        QCOMPARE(http.get(audioPath(t1, 0), a.token).status, 404);
    }

    void retentionAtStartup()
    {
        QTemporaryDir dir;
        const QByteArray pcm = pcmOf(2000, 11);
        const qint64 fileBytes = wav::file(pcm, kRate).size();
        FakeClock clock;
        qint64 turn = 0;
        User a;
        {
            TestServer first({}, dir.path());
            QVERIFY2(first.started(), qPrintable(first.error()));
            first.app().audioStore().setClock(clock.fn());
            HttpClient http(first.baseUrl());
            a = makeUser(http, QStringLiteral("alice"));
            turn = addTurn(first, a.id, 1, QStringLiteral("hello"));
            for (int i = 0; i < 3; ++i) {
                *clock.now += 1000;
                QVERIFY(storeAudio(first, a.id, turn, i, pcm));
            }
            first.stop();
        }
        // Files no row knows (a crash between the file and its row; a temporary file of a cut write).
        const QString orphanDir = dir.path() + QStringLiteral("/audio/%1/%2").arg(a.id).arg(turn + 50);
        QVERIFY(QDir().mkpath(orphanDir));
        const QStringList orphans{orphanDir + QStringLiteral("/0.wav"), dir.path() + QStringLiteral("/audio/%1/%2/3.wav.Xy12ab").arg(a.id).arg(turn)};
        for (const QString &path : orphans) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(wav::file(pcm, kRate));
        }
        // A smaller budget after the restart: the startup pass removes the two oldest files.
        TestServer second([&](Config &c) { c.audio.maxBytes = fileBytes; c.audio.maxDays = 0; }, dir.path());
        QVERIFY2(second.started(), qPrintable(second.error()));
        AudioStore &store = second.app().audioStore();
        QTRY_COMPARE_WITH_TIMEOUT(store.filesRemoved(), qint64(2), 10000);
        const QString turnDir = store.audioRoot() + QStringLiteral("/%1/%2/").arg(a.id).arg(turn);
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(turnDir + QStringLiteral("1.wav")), 10000);
        QVERIFY(!QFileInfo::exists(turnDir + QStringLiteral("0.wav")));
        QVERIFY(QFileInfo::exists(turnDir + QStringLiteral("2.wav")));
        QCOMPARE(store.bytesKept(), fileBytes);
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(orphans.at(0)) && !QFileInfo::exists(orphans.at(1)), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(second.app().metrics().value(QStringLiteral("tianyi_audio_files_removed_total"),
                                                               {{QStringLiteral("reason"), QStringLiteral("orphan")}}), 2.0, 10000);
        QCOMPARE(second.app().metrics().value(QStringLiteral("tianyi_audio_files_removed_total"), {{QStringLiteral("reason"), QStringLiteral("bytes")}}), 2.0);
        QVERIFY(QFileInfo::exists(turnDir + QStringLiteral("2.wav")));
        HttpClient http(second.baseUrl());
        const QByteArray token = accessTokenOf(loginJson(http, QStringLiteral("alice"), kPassword));
        QCOMPARE(http.get(audioPath(turn, 2), token).status, 200);
        QCOMPARE(http.get(audioPath(turn, 0), token).status, 404);
    }

    void manySentencesAtOnce()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const qint64 turn = addTurn(server, a.id, 1, QStringLiteral("a long answer"));
        AudioStore &store = server.app().audioStore();
        QSignalSpy spy(&store, &AudioStore::stored);
        constexpr int kSentences = 24; // written in parallel on the pool, into one new directory
        for (int i = 0; i < kSentences; ++i)
            store.store(a.id, turn, i, QStringLiteral("s%1").arg(i), QStringLiteral("calm"), pcmOf(800 + i, i), kRate);
        QTRY_COMPARE_WITH_TIMEOUT(spy.size(), kSentences, 20000);
        for (const QList<QVariant> &args : spy)
            QVERIFY(args.at(3).toBool());
        const QJsonArray sentences = sentencesOf(history(http, a), 0);
        QCOMPARE(sentences.size(), kSentences);
        for (int i = 0; i < kSentences; ++i) {
            QCOMPARE(sentences.at(i).toObject().value(QStringLiteral("index")).toInt(), i);
            QCOMPARE(sentences.at(i).toObject().value(QStringLiteral("audio_url")).toString(), audioPath(turn, i));
        }
        const HttpResult r = http.get(audioPath(turn, 17), a.token);
        QCOMPARE(r.status, 200);
        QByteArray pcm;
        wav::Format format;
        QVERIFY(wav::parseFile(r.body, &format, &pcm));
        QCOMPARE(pcm, pcmOf(817, 17));
    }

    void keepFalseStoresNoFile()
    {
        TestServer server([](Config &c) { c.audio.keep = false; });
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const qint64 turn = addTurn(server, a.id, 1, QStringLiteral("hello"));
        QVERIFY(storeAudio(server, a.id, turn, 0, pcmOf(1600, 6)));

        const QString root = server.app().audioStore().audioRoot();
        QVERIFY(QDir(root).entryList(QDir::AllEntries | QDir::NoDotAndDotDot).isEmpty());
        QCOMPARE(server.app().audioStore().bytesKept(), qint64(0));
        const QJsonArray sentences = sentencesOf(history(http, a), 0);
        QCOMPARE(sentences.size(), 1); // the sentence is still listed, without audio
        QVERIFY(sentences.at(0).toObject().value(QStringLiteral("audio_url")).isNull());
        QCOMPARE(sentences.at(0).toObject().value(QStringLiteral("duration_ms")).toInt(), 100);
        QCOMPARE(http.get(audioPath(turn, 0), a.token).status, 404);
    }

    void pendingTurnsFailOnRestart()
    {
        QTemporaryDir dir;
        qint64 pending = 0;
        qint64 done = 0;
        qint64 userId = 0;
        {
            TestServer first({}, dir.path());
            QVERIFY2(first.started(), qPrintable(first.error()));
            HttpClient http(first.baseUrl());
            const User a = makeUser(http, QStringLiteral("alice"));
            userId = a.id;
            done = addTurn(first, a.id, 1, QStringLiteral("answered"));
            pending = addTurn(first, a.id, 2, QStringLiteral("cut off by a crash"), QStringLiteral("pending"));
            QCOMPARE(history(http, a).value(QStringLiteral("turns")).toArray().size(), 1); // running turns are not listed
            first.stop(); // the rows stay as a crash would leave them: the turn is still pending
        }
        TestServer second({}, dir.path());
        QVERIFY2(second.started(), qPrintable(second.error()));
        HttpClient http(second.baseUrl());
        User a;
        a.id = userId;
        a.token = accessTokenOf(loginJson(http, QStringLiteral("alice"), kPassword));
        const QJsonArray turns = history(http, a).value(QStringLiteral("turns")).toArray();
        QCOMPARE(turns.size(), 2);
        QCOMPARE(turns.at(0).toObject().value(QStringLiteral("id")).toInteger(), pending);
        QCOMPARE(turns.at(0).toObject().value(QStringLiteral("status")).toString(), QStringLiteral("failed"));
        QVERIFY(!turns.at(0).toObject().value(QStringLiteral("completed_at")).isNull());
        QCOMPARE(turns.at(1).toObject().value(QStringLiteral("id")).toInteger(), done);
        QCOMPARE(turns.at(1).toObject().value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        const auto recent = db<QVector<StoredTurn>>(second, [&](SqlSession &s) { return TurnRepository::recentForPrompt(s, userId, 10); });
        QCOMPARE(recent->size(), 1);
    }

    void removeUserDeletesAudio()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const User b = makeUser(http, QStringLiteral("bob"));
        const qint64 ta = addTurn(server, a.id, 1, QStringLiteral("a"));
        const qint64 tb = addTurn(server, b.id, 1, QStringLiteral("b"));
        QVERIFY(storeAudio(server, a.id, ta, 0, pcmOf(1600, 7)));
        QVERIFY(storeAudio(server, b.id, tb, 0, pcmOf(1600, 8)));

        AudioStore &store = server.app().audioStore();
        // A write in flight when the removal is asked for is finished first, then removed with the rest.
        store.store(a.id, ta, 1, QStringLiteral("late"), {}, pcmOf(1600, 9), kRate);
        bool finished = false;
        bool ok = false;
        store.removeUser(a.id, [&](bool result) {
            ok = result;
            finished = true;
        });
        QTRY_VERIFY_WITH_TIMEOUT(finished, 10000);
        QVERIFY(ok);
        QVERIFY(!QFileInfo::exists(store.audioRoot() + QStringLiteral("/%1").arg(a.id)));
        QVERIFY(QFileInfo::exists(store.audioRoot() + QStringLiteral("/%1/%2/0.wav").arg(b.id).arg(tb)));
        QCOMPARE(http.get(audioPath(ta, 0), a.token).status, 404);
        QCOMPARE(http.get(audioPath(tb, 0), b.token).status, 200);
        for (const QJsonValue &s : sentencesOf(history(http, a), 0))
            QVERIFY(s.toObject().value(QStringLiteral("audio_url")).isNull());
    }

    void overTheWriteCapOnlyTheAudioFileIsDropped()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const qint64 turn = addTurn(server, a.id, 1, QStringLiteral("a"));
        AudioStore &store = server.app().audioStore();
        store.setMaxPendingWrites(1);
        QSignalSpy spy(&store, &AudioStore::stored);
        store.store(a.id, turn, 0, QStringLiteral("kept"), {}, pcmOf(1600, 1), kRate);
        store.store(a.id, turn, 1, QStringLiteral("text only"), {}, pcmOf(1600, 2), kRate); // the first is still in flight
        QTRY_COMPARE_WITH_TIMEOUT(spy.size(), 2, 10000);
        QCOMPARE(store.pendingWrites(), 0);
        bool okOf[2] = {false, false};
        for (const QList<QVariant> &args : spy)
            okOf[args.at(2).toInt()] = args.at(3).toBool();
        QVERIFY(okOf[0]);  // its audio file is kept
        QVERIFY(!okOf[1]); // over the cap: no audio file...
        QCOMPARE(server.app().metrics().value(QStringLiteral("tianyi_audio_writes_dropped_total"), {{QStringLiteral("reason"), QStringLiteral("queue_full")}}), 1.0);
        // ...but her words are not lost: history has both sentences, the second without audio.
        const QJsonArray sentences = sentencesOf(history(http, a), 0);
        QCOMPARE(sentences.size(), 2);
        QCOMPARE(sentences.at(1).toObject().value(QStringLiteral("text")).toString(), QStringLiteral("text only"));
        QVERIFY(sentences.at(1).toObject().value(QStringLiteral("audio_url")).isNull());
        QVERIFY(!sentences.at(0).toObject().value(QStringLiteral("audio_url")).isNull());
    }

    void deleteSessionInBatches()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const User b = makeUser(http, QStringLiteral("bob"));
        for (int i = 1; i <= 5; ++i)
            QVERIFY(addTurnIn(server, a.id, QStringLiteral("long"), i, QStringLiteral("t%1").arg(i)) > 0);
        const qint64 running = addTurnIn(server, a.id, QStringLiteral("long"), 6, QStringLiteral("running"), QStringLiteral("pending"));
        QVERIFY(running > 0);

        // A pending turn refuses the first pass; without refusal the finished turns go, two at a time.
        auto pass = [&](qint64 user, int max, bool refuse) {
            return db<SessionDeletion>(server, [=](SqlSession &s) { return TurnRepository::deleteSession(s, user, QStringLiteral("long"), max, refuse); });
        };
        const auto refused = pass(a.id, 2, true);
        QVERIFY(refused && refused->running);
        QCOMPARE(refused->turns, 0);
        const auto other = pass(b.id, 2, false); // bob naming alice's session id deletes nothing
        QVERIFY(other && other->turns == 0 && !other->more);
        int deleted = 0;
        int passes = 0;
        for (bool more = true; more; ++passes) {
            const auto p = pass(a.id, 2, false);
            QVERIFY(p && !p->running);
            QVERIFY(p->turns <= 2);
            deleted += p->turns;
            more = p->more;
        }
        QCOMPARE(deleted, 5);
        QCOMPARE(passes, 3);
        // The running turn is left alone.
        const auto left = db<QVector<StoredTurn>>(server, [=](SqlSession &s) { return TurnRepository::history(s, a.id, 0, 10, true); });
        QVERIFY(left);
        QCOMPARE(left->size(), 1);
        QCOMPARE(left->first().id, running);
    }

    void deleteOneConversation()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const User b = makeUser(http, QStringLiteral("bob"));
        const qint64 old1 = addTurnIn(server, a.id, QStringLiteral("sess-old"), 1, QStringLiteral("secret plan"));
        const qint64 old2 = addTurnIn(server, a.id, QStringLiteral("sess-old"), 2, QStringLiteral("secret again"));
        const qint64 kept = addTurnIn(server, a.id, QStringLiteral("sess-new"), 1, QStringLiteral("hello again"));
        const qint64 bobs = addTurnIn(server, b.id, QStringLiteral("sess-old"), 1, QStringLiteral("bob's own"));
        QVERIFY(old1 && old2 && kept && bobs);
        QVERIFY(storeAudio(server, a.id, old1, 0, pcmOf(1600, 1)));
        QVERIFY(storeAudio(server, a.id, old2, 0, pcmOf(1600, 2)));
        QVERIFY(storeAudio(server, a.id, kept, 0, pcmOf(1600, 3)));
        AudioStore &store = server.app().audioStore();
        const QString oldFile = store.audioRoot() + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(old1);
        const QString keptFile = store.audioRoot() + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(kept);
        QVERIFY(QFileInfo::exists(oldFile));
        const qint64 bytesBefore = store.bytesKept();

        // Bob naming alice's conversation: the same 404 as a conversation nobody has; nothing of hers goes.
        const HttpResult stolen = deleteConversation(http, b.token, QStringLiteral("sess-new"));
        QCOMPARE(stolen.status, 404);
        QCOMPARE(stolen.errorCode(), QStringLiteral("not_found"));
        QCOMPARE(deleteConversation(http, b.token, QStringLiteral("nobody-has-it")).json(), stolen.json());
        QCOMPARE(historyTexts(http, a).size(), 3);

        const HttpResult gone = deleteConversation(http, a.token, QStringLiteral("sess-old"));
        QCOMPARE(gone.status, 204);
        QCOMPARE(historyTexts(http, a), QStringList{QStringLiteral("hello again")});
        QVERIFY(!QFileInfo::exists(oldFile));
        QVERIFY(!QFileInfo::exists(QFileInfo(oldFile).absolutePath())); // its empty turn directory too
        QVERIFY(QFileInfo::exists(keptFile));
        QCOMPARE(http.get(audioPath(old1, 0), a.token).status, 404);
        QCOMPARE(http.get(audioPath(old2, 0), a.token).status, 404);
        QCOMPARE(http.get(audioPath(kept, 0), a.token).status, 200);
        QVERIFY(store.bytesKept() < bytesBefore);
        QCOMPARE(server.app().metrics().value(QStringLiteral("tianyi_audio_files_removed_total"), {{QStringLiteral("reason"), QStringLiteral("deleted")}}), 2.0);
        const auto sentenceRows = db<int>(server, [=](SqlSession &s) {
            return s.scalar(QStringLiteral("SELECT COUNT(*) FROM turn_audio WHERE turn_id IN (?, ?)"), {old1, old2})->toInt();
        });
        QCOMPARE(sentenceRows.value_or(-1), 0);
        // Bob's conversation of the same name is his and stays.
        QCOMPARE(historyTexts(http, b), QStringList{QStringLiteral("bob's own")});
        // Deleted once: a second time there is nothing.
        QCOMPARE(deleteConversation(http, a.token, QStringLiteral("sess-old")).status, 404);
    }

    void deleteALongConversationInPasses()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const int turns = ConversationEraser::kMaxTurnsPerPass + 1; // one more pass than the cap allows at once
        const auto last = db<qint64>(server, [=](SqlSession &s) {
            qint64 id = 0;
            for (int i = 1; i <= turns; ++i) {
                id = TurnRepository::insertPending(s, a.id, QStringLiteral("long"), i, QStringLiteral("t"), 1700000000000 + i);
                TurnRepository::finish(s, id, a.id, QStringLiteral("r"), QStringLiteral("completed"), {}, {}, 1700000000500 + i);
            }
            return id;
        });
        QVERIFY(last);
        QVERIFY(storeAudio(server, a.id, *last, 0, pcmOf(1600, 4))); // in the second pass
        const QString file = server.app().audioStore().audioRoot() + QStringLiteral("/%1/%2/0.wav").arg(a.id).arg(*last);
        QVERIFY(QFileInfo::exists(file));
        QCOMPARE(deleteConversation(http, a.token, QStringLiteral("long")).status, 204);
        QCOMPARE(db<int>(server, [=](SqlSession &s) {
                     return s.scalar(QStringLiteral("SELECT COUNT(*) FROM turns WHERE user_id = ?"), {a.id})->toInt();
                 }).value_or(-1),
                 0);
        QVERIFY(!QFileInfo::exists(file));
    }

    // End to end: what the LLM is sent. A session open during the deletion (its context cached) must
    // not send the deleted conversation with its next turn.
    void deletedConversationLeavesTheNextPrompt()
    {
        ChatFixture fx(ChatFixture::fast(QStringLiteral("好的。")));
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        const QString secret = QStringLiteral("我的暗号是蓝色钥匙");
        auto requestBodiesFor = [&](const QString &userText) {
            QStringList out;
            for (const QJsonValue &v : fx.fake.recorded()) {
                const QJsonObject body = v.toObject().value(QStringLiteral("body")).toObject();
                const QJsonArray messages = body.value(QStringLiteral("messages")).toArray();
                if (!messages.isEmpty() && messages.last().toObject().value(QStringLiteral("content")).toString() == userText)
                    out << QString::fromUtf8(QJsonDocument(body).toJson(QJsonDocument::Compact));
            }
            return out;
        };
        QString deletedSession;
        {
            ChatTestClient x;
            QVERIFY(x.openAndHello(fx.port(), u.token));
            deletedSession = x.first(chat::kHello).value(QStringLiteral("session_id")).toString();
            x.chat(secret);
            QVERIFY(x.waitForType(chat::kTurnEnd, 1));
        }
        QVERIFY(!deletedSession.isEmpty());
        ChatTestClient z;
        QVERIFY(z.openAndHello(fx.port(), u.token));
        z.chat(QStringLiteral("第一句"));
        QVERIFY(z.waitForType(chat::kTurnEnd, 1));
        const QStringList before = requestBodiesFor(QStringLiteral("第一句"));
        QCOMPARE(before.size(), 1);
        QVERIFY(before.first().contains(secret)); // the control: the earlier conversation is in the prompt

        // The turns' background jobs finish first (while one runs, the deletion answers 409).
        HttpClient http(fx.server->baseUrl());
        int status = 0;
        QVERIFY(QTest::qWaitFor([&]() { return (status = deleteConversation(http, u.token, deletedSession).status) != 409; }, 20000));
        QCOMPARE(status, 204);

        z.chat(QStringLiteral("第二句"));
        QVERIFY(z.waitForType(chat::kTurnEnd, 2));
        const QStringList after = requestBodiesFor(QStringLiteral("第二句"));
        QCOMPARE(after.size(), 1);
        QVERIFY2(!after.first().contains(secret), qPrintable(after.first()));
        QVERIFY(after.first().contains(QStringLiteral("第一句"))); // the conversation that stays is still there
    }

    void deleteConversationRefusals()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        QVERIFY(addTurnIn(server, a.id, QStringLiteral("sess-1"), 1, QStringLiteral("done turn")));

        // Without a token: 401 before anything else.
        QCOMPARE(http.request("DELETE", kConversations + QStringLiteral("sess-1")).status, 401);
        // Ids of the wrong shape never reach storage.
        for (const QString &bad : {QString(129, QLatin1Char('a')), QStringLiteral("a%20b"), QStringLiteral("a;b"), QStringLiteral("%E4%BD%A0"),
                                   QStringLiteral("a'b")}) {
            const HttpResult r = deleteConversation(http, a.token, bad);
            QVERIFY2(r.status == 400, qPrintable(bad + QStringLiteral(": ") + describe(r)));
            QCOMPARE(r.errorCode(), QStringLiteral("bad_request"));
        }
        QVERIFY(ConversationEraser::isValidSessionId(QString(128, QLatin1Char('a'))));
        QVERIFY(ConversationEraser::isValidSessionId(QStringLiteral("2024-05-01_12-00-00_0f3a.b:c")));
        QVERIFY(!ConversationEraser::isValidSessionId(QString()));
        QVERIFY(!ConversationEraser::isValidSessionId(QStringLiteral("a\nb")));

        // A turn of the conversation still running: 409, nothing deleted.
        const qint64 running = addTurnIn(server, a.id, QStringLiteral("sess-1"), 2, QStringLiteral("still talking"), QStringLiteral("pending"));
        const HttpResult busy = deleteConversation(http, a.token, QStringLiteral("sess-1"));
        QCOMPARE(busy.status, 409);
        QCOMPARE(busy.errorCode(), QStringLiteral("conversation_in_progress"));
        QCOMPARE(historyTexts(http, a), QStringList{QStringLiteral("done turn")});
        QVERIFY(db<bool>(server, [=](SqlSession &s) {
            TurnRepository::finish(s, running, a.id, QStringLiteral("r"), QStringLiteral("completed"), {}, {}, 1700000009000);
            return true;
        }));

        // A background job of the user that has started (it may hold the turns' text): 409 too.
        const auto job = db<qint64>(server, [=](SqlSession &s) {
            const qint64 id = Outbox::enqueue(s, QStringLiteral("test_kind"), a.id, {}, 1700000000000LL * 10);
            s.exec(QStringLiteral("UPDATE outbox SET status = 'running' WHERE id = ?"), {id});
            return id;
        });
        QVERIFY(job);
        QCOMPARE(deleteConversation(http, a.token, QStringLiteral("sess-1")).status, 409);
        QCOMPARE(historyTexts(http, a).size(), 2);
        QVERIFY(db<bool>(server, [=](SqlSession &s) {
            Outbox::markDone(s, *job, 1700000009000);
            return true;
        }));
        QCOMPARE(deleteConversation(http, a.token, QStringLiteral("sess-1")).status, 204);
        QCOMPARE(historyTexts(http, a).size(), 0);
    }

    void deletedTextLeavesThePromptContextAndItsJobsQuietly()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        HttpClient http(server.baseUrl());
        const User a = makeUser(http, QStringLiteral("alice"));
        const qint64 older = addTurnIn(server, a.id, QStringLiteral("sess-a"), 1, QStringLiteral("i like green tea"));
        const qint64 secret = addTurnIn(server, a.id, QStringLiteral("sess-b"), 1, QStringLiteral("my name is Zhang Wei"));
        QVERIFY(older && secret);
        // A summary that folded the deleted turn, and a memory-extraction job for it that has not run yet.
        QVERIFY(db<bool>(server, [=](SqlSession &s) {
            SummaryRepository::store(s, a.id, QStringLiteral("the user is called Zhang Wei"), secret, 1700000001000);
            return true;
        }));
        const qint64 farFuture = QDateTime::currentMSecsSinceEpoch() + 3600 * 1000;
        const auto job = db<qint64>(server, [=](SqlSession &s) {
            return Outbox::enqueue(s, QString::fromLatin1(MemoryExtractor::kKind), a.id, QJsonObject{{QStringLiteral("turn_id"), secret}}, farFuture);
        });
        QVERIFY(job);

        // Alice has a session: her context is held in memory and holds the text.
        PromptContextCache &contexts = server.app().chat().promptContexts();
        contexts.acquire(a.id);
        QTRY_VERIFY_WITH_TIMEOUT(contexts.holds(a.id), 10000);
        auto promptText = [&]() {
            const std::optional<PromptContext> c = contexts.find(a.id);
            QString all = c ? c->summary : QStringLiteral("<none>");
            if (c)
                for (const StoredTurn &t : c->recentTurns)
                    all += QLatin1Char('|') + t.userText + QLatin1Char('|') + t.replyText;
            return all;
        };
        QVERIFY(promptText().contains(QStringLiteral("Zhang Wei")));

        QCOMPARE(deleteConversation(http, a.token, QStringLiteral("sess-b")).status, 204);
        QTRY_VERIFY_WITH_TIMEOUT(contexts.holds(a.id), 10000);
        const QString after = promptText();
        QVERIFY2(!after.contains(QStringLiteral("Zhang Wei")), qPrintable(after));
        QVERIFY2(after.contains(QStringLiteral("green tea")), qPrintable(after));
        // What a turn without a cached context reads from storage has no trace of it either.
        const auto stored = db<PromptContext>(server, [=](SqlSession &s) { return PromptContextCache::load(s, a.id, 20); });
        QVERIFY(stored);
        QVERIFY(stored->summary.isEmpty());
        QCOMPARE(stored->recentTurns.size(), 1);
        QCOMPARE(stored->recentTurns.first().id, older);

        // The job for the deleted turn runs: it finds nothing, finishes done (no retry, no dead letter),
        // and no memory comes back from the deleted text.
        OutboxWorker &outbox = server.app().memory().outbox();
        QSignalSpy finished(&outbox, &OutboxWorker::jobFinished);
        QVERIFY(db<bool>(server, [=](SqlSession &s) {
            s.exec(QStringLiteral("UPDATE outbox SET next_attempt_at = 0 WHERE id = ?"), {*job});
            return true;
        }));
        outbox.wake();
        auto statusOf = [&]() -> QString {
            for (const QList<QVariant> &args : finished)
                if (args.at(0).toLongLong() == *job)
                    return args.at(2).toString();
            return {};
        };
        QTRY_VERIFY_WITH_TIMEOUT(!statusOf().isEmpty(), 10000);
        QCOMPARE(statusOf(), QStringLiteral("done"));
        QCOMPARE(db<int>(server, [=](SqlSession &s) { return MemoryRepository::count(s, a.id); }).value_or(-1), 0);
        contexts.release(a.id);
    }
};

QTEST_MAIN(TestHistory)
#include "tst_history.moc"
