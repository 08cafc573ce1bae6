#pragma once
// A real server in-process, pointed at an in-process fake upstream (LLM + GPT-SoVITS + ASR), and
// users with access tokens.

#include "auth/accountservice.h"
#include "auth/jwt.h"
#include "chattestclient.h"
#include "fakeserver.h"
#include "httpclient.h"
#include "metrics/metrics.h"
#include "storage/database.h"
#include "storage/turnrepository.h"
#include "testserver.h"

#include <QDateTime>
#include <QFile>
#include <QTemporaryDir>
#include <QUuid>
#include <memory>

namespace tianyi::test {

struct ChatUser {
    qint64 id = 0;
    QString username;
    QByteArray token;
};

class ChatFixture
{
public:
    struct Options {
        fake::FakeOptions fake;
        QString llmFault;        // path-prefix fault of the LLM base URL, e.g. "401"
        QString ttsFault;        // path-prefix fault of the TTS base URL
        bool asr = false;
        bool fakeLlm = true;     // false: built-in demo responder
        bool fakeTts = true;     // false: built-in espeak-ng
        std::function<void(Config &)> adjust;
    };

    // A fake upstream fast enough that tests wait on behaviour, not on latency.
    static Options fast(const QString &reply)
    {
        Options o;
        o.fake.replyText = reply;
        o.fake.ttftMs = 5;
        o.fake.tokensPerSecond = 400;
        o.fake.ttsFirstChunkMs = 5;
        o.fake.ttsRealTimeFactor = 0.05;
        return o;
    }

    explicit ChatFixture(Options options)
        : fake(options.fake)
    {
        fake::registerOpenAiRoutes(fake);
        fake::registerGptSovitsRoutes(fake);
        fake::registerTranscriptionRoutes(fake);
        fake.listen(QHostAddress::LocalHost, 0);
        const QString voices = tmp.filePath(QStringLiteral("voices.json"));
        QFile f(voices);
        if (f.open(QIODevice::WriteOnly))
            f.write(R"({"default":{"ref_audio_path":"/srv/voices/calm.wav","prompt_text":"你好","prompt_lang":"zh"},
                        "happy":{"ref_audio_path":"/srv/voices/happy.wav","prompt_lang":"zh"}})");
        f.close();
        auto prefix = [](const QString &fault) { return fault.isEmpty() ? QString() : QStringLiteral("/fault/") + fault; };
        server = std::make_unique<TestServer>([&](Config &c) {
            if (options.fakeLlm) {
                c.llm.baseUrl = fake.baseUrl() + prefix(options.llmFault) + QStringLiteral("/v1");
                c.llm.maxRetries = 0;
                c.llm.firstByteTimeoutMs = 2000;
                c.llm.inactivityTimeoutMs = 1000;
            }
            if (options.fakeTts) {
                c.tts.baseUrls = {fake.baseUrl() + prefix(options.ttsFault)};
                c.tts.voicesFile = voices;
                c.tts.perBackendConcurrency = 4;
                c.tts.timeoutMs = 5000;
            }
            if (options.asr)
                c.asr.baseUrl = fake.baseUrl() + QStringLiteral("/v1");
            c.chat.pingIntervalMs = 1000;
            if (options.adjust)
                options.adjust(c);
        });
    }

    bool started() const { return server->started(); }
    QString error() const { return server->error(); }
    quint16 port() const { return server->port(); }
    Application &app() { return server->app(); }

    ChatUser user(const QString &name = {}, const QString &nickname = {})
    {
        ChatUser u;
        u.username = name.isEmpty() ? QStringLiteral("u%1").arg(QUuid::createUuid().toString(QUuid::Id128).left(10)) : name;
        HttpClient http(server->baseUrl());
        QJsonObject body{{QStringLiteral("username"), u.username}, {QStringLiteral("password"), QStringLiteral("correct horse battery")}};
        if (!nickname.isEmpty())
            body.insert(QStringLiteral("nickname"), nickname);
        const HttpResult reg = http.postJson(QStringLiteral("/api/v1/auth/register"), body);
        u.id = reg.json().value(QStringLiteral("user")).toObject().value(QStringLiteral("id")).toInteger();
        u.token = tokenFor(u.id);
        return u;
    }
    QByteArray tokenFor(qint64 userId, qint64 ttlS = 600)
    {
        AccessClaims claims;
        claims.userId = userId;
        claims.role = QStringLiteral("user");
        claims.issuedAt = QDateTime::currentSecsSinceEpoch();
        claims.expiresAt = claims.issuedAt + ttlS;
        claims.jti = QUuid::createUuid().toString(QUuid::Id128);
        return app().accounts().jwt().sign(claims);
    }

    // The user's turns as stored (newest first).
    QVector<StoredTurn> storedTurns(qint64 userId)
    {
        QVector<StoredTurn> out;
        bool done = false;
        app().database().read<QVector<StoredTurn>>(&app(), [userId](SqlSession &s) { return TurnRepository::history(s, userId, 0, 50); },
                                                   [&](DbResult<QVector<StoredTurn>> r) {
                                                       if (r.ok())
                                                           out = *r.value;
                                                       done = true;
                                                   });
        if (!QTest::qWaitFor([&]() { return done; }, 10000))
            qWarning("storedTurns: no answer from the storage thread");
        return out;
    }
    bool execSql(const QString &sql, const QVariantList &values)
    {
        bool finished = false;
        bool ok = false;
        app().database().write<bool>(&app(), [sql, values](SqlSession &s) {
            s.exec(sql, values);
            return true;
        }, [&](DbResult<bool> r) {
            ok = r.ok();
            finished = true;
        });
        return QTest::qWaitFor([&]() { return finished; }, 10000) && ok;
    }
    // The messages of the last /chat/completions request the fake received.
    QJsonArray lastLlmMessages() const
    {
        const QJsonArray rec = fake.recorded();
        for (qsizetype i = rec.size() - 1; i >= 0; --i) {
            const QJsonObject r = rec.at(i).toObject();
            if (r.value(QStringLiteral("path")).toString().endsWith(QLatin1String("/chat/completions")))
                return r.value(QStringLiteral("body")).toObject().value(QStringLiteral("messages")).toArray();
        }
        return {};
    }

    QTemporaryDir tmp;
    fake::FakeServer fake;
    std::unique_ptr<TestServer> server;
};

} // namespace tianyi::test
