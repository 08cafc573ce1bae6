// The streaming OpenAI-compatible client against the fake upstream over real loopback HTTP.
#include "fakeserver.h"
#include "metrics/metrics.h"
#include "upstream/openaillmclient.h"
#include "upstream/requestscheduler.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QtTest>
#include <memory>
#include <optional>

using namespace tianyi;
using namespace tianyi::fake;

Q_DECLARE_METATYPE(tianyi::UpstreamErrorKind)

namespace {

const QString kLongReply = QStringLiteral(
    "Once upon a time a singer with grey hair and green ribbons sang for everyone who would listen, "
    "and every word of her song arrived on its own, one after the other, slowly enough to be heard. "
    "The end of the song came only after a long while, which is exactly what this test needs.");

// Everything a stream emitted, in order, plus whether anything came after the end or after cancel().
struct Collector {
    QStringList deltas;
    QStringList reasoning;
    std::optional<LlmUsage> usage;
    QString finishReason;
    std::optional<UpstreamError> error;
    bool ended = false;
    bool cancelled = false;
    int afterEnd = 0;      // signals after finished/failed/cancel (must stay 0)
    int finishedCount = 0;

    void attach(LlmStream *s)
    {
        QObject::connect(s, &LlmStream::delta, s, [this](const QString &t) { note(); deltas << t; });
        QObject::connect(s, &LlmStream::reasoning, s, [this](const QString &t) { note(); reasoning << t; });
        QObject::connect(s, &LlmStream::usage, s, [this](const LlmUsage &u) { note(); usage = u; });
        QObject::connect(s, &LlmStream::finished, s, [this](const QString &r) {
            note();
            finishReason = r;
            ended = true;
            ++finishedCount;
        });
        QObject::connect(s, &LlmStream::failed, s, [this](const UpstreamError &e) {
            note();
            error = e;
            ended = true;
            ++finishedCount;
        });
    }
    void note()
    {
        if (ended || cancelled)
            ++afterEnd;
    }
    QString text() const { return deltas.join(QString()); }
};

struct Fixture {
    Metrics metrics;
    std::unique_ptr<FakeServer> fake;
    std::unique_ptr<OpenAiLlmClient> client;
    LlmSettings settings;

    explicit Fixture(FakeOptions options = {}, const QString &pathPrefix = {}, const std::function<void(LlmSettings &)> &adjust = {})
    {
        if (options.replyText.isEmpty())
            options.replyText = QStringLiteral("你好！我是天依。Nice to meet you.");
        fake = std::make_unique<FakeServer>(options);
        registerOpenAiRoutes(*fake);
        if (!fake->listen(QHostAddress::LocalHost, 0))
            qFatal("fake upstream cannot listen");
        settings.baseUrl = fake->baseUrl() + pathPrefix + QStringLiteral("/v1");
        settings.apiKey = "test-key";
        settings.model = QStringLiteral("fake-model");
        settings.firstByteTimeoutMs = 10000;
        settings.inactivityTimeoutMs = 10000;
        if (adjust)
            adjust(settings);
        client = std::make_unique<OpenAiLlmClient>(settings, metrics);
        RetryPolicy fast = client->retryPolicy();
        fast.baseDelayMs = 10; // the real schedule is checked in tst_llmprotocol
        client->setRetryPolicy(fast);
    }

    LlmStream *start(Collector &c, const QString &prompt = QStringLiteral("你好"))
    {
        LlmRequest r;
        r.messages = {{QStringLiteral("system"), QStringLiteral("You are Tianyi.")}, {QStringLiteral("user"), prompt}};
        r.temperature = 0.5;
        r.maxTokens = 100;
        r.correlationId = QStringLiteral("u#s#1");
        LlmStream *s = client->stream(r, nullptr);
        c.attach(s);
        return s;
    }
};

} // namespace

class TestLlmClient : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        qRegisterMetaType<tianyi::UpstreamError>();
        qRegisterMetaType<tianyi::LlmUsage>();
    }

    void streamsEveryDialect_data()
    {
        QTest::addColumn<QString>("faults");
        QTest::newRow("openai") << QStringLiteral("openai");
        QTest::newRow("vllm: finish_reason with text, usage in choices:[]") << QStringLiteral("vllm");
        QTest::newRow("ollama: role repeated") << QStringLiteral("ollama");
        QTest::newRow("llamacpp: content null, usage on last chunk") << QStringLiteral("llamacpp");
        QTest::newRow("CRLF") << QStringLiteral("openai,crlf");
        QTest::newRow("CR") << QStringLiteral("vllm,cr");
        QTest::newRow("data: without space") << QStringLiteral("ollama,nospace");
        QTest::newRow("comment lines") << QStringLiteral("llamacpp,comments");
        QTest::newRow("one byte at a time") << QStringLiteral("openai,drip,crlf");
        QTest::newRow("EOF without [DONE]") << QStringLiteral("vllm,no-done");
    }

    void streamsEveryDialect()
    {
        QFETCH(QString, faults);
        Fixture f({}, QStringLiteral("/fault/") + faults);
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QVERIFY2(!c.error, c.error ? qPrintable(c.error->message) : "");
        QCOMPARE(c.text(), f.fake->options().replyText);
        QVERIFY(c.deltas.size() > 5);              // streamed, not in one piece
        QVERIFY(c.reasoning.isEmpty());
        QCOMPARE(c.finishReason, QStringLiteral("stop"));
        QVERIFY(c.usage.has_value());
        QVERIFY(c.usage->completionTokens > 0);
        QCOMPARE(c.usage->totalTokens, c.usage->promptTokens + c.usage->completionTokens);
        QCOMPARE(c.afterEnd, 0);
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/chat/completions")), 1);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_requests_total"), {{QStringLiteral("outcome"), QStringLiteral("ok")}}), 1.0);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_ttft_seconds")), 1.0);
    }

    void sendsTheWireRequest()
    {
        Fixture f;
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c, QStringLiteral("唱首歌吧")));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        const QJsonObject rec = f.fake->recorded().first().toObject();
        QCOMPARE(rec.value(QStringLiteral("method")).toString(), QStringLiteral("POST"));
        QCOMPARE(rec.value(QStringLiteral("path")).toString(), QStringLiteral("/v1/chat/completions"));
        const QJsonObject headers = rec.value(QStringLiteral("headers")).toObject();
        QCOMPARE(headers.value(QStringLiteral("authorization")).toString(), QStringLiteral("Bearer test-key"));
        QVERIFY(headers.value(QStringLiteral("content-type")).toString().startsWith(QLatin1String("application/json")));
        const QJsonObject body = rec.value(QStringLiteral("body")).toObject();
        QCOMPARE(body.value(QStringLiteral("model")).toString(), QStringLiteral("fake-model"));
        QCOMPARE(body.value(QStringLiteral("stream")).toBool(), true);
        QCOMPARE(body.value(QStringLiteral("stream_options")).toObject().value(QStringLiteral("include_usage")).toBool(), true);
        QCOMPARE(body.value(QStringLiteral("temperature")).toDouble(), 0.5);
        QCOMPARE(body.value(QStringLiteral("max_tokens")).toInt(), 100);
        const QJsonArray messages = body.value(QStringLiteral("messages")).toArray();
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages[1].toObject().value(QStringLiteral("role")).toString(), QStringLiteral("user"));
        QCOMPARE(messages[1].toObject().value(QStringLiteral("content")).toString(), QStringLiteral("唱首歌吧"));
    }

    void noAuthorizationHeaderWithoutKey()
    {
        Fixture f({}, {}, [](LlmSettings &s) { s.apiKey.clear(); });
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QVERIFY(!c.error);
        const QJsonObject headers = f.fake->recorded().first().toObject().value(QStringLiteral("headers")).toObject();
        QVERIFY(!headers.contains(QStringLiteral("authorization")));
    }

    void nameHidesSecrets()
    {
        Fixture f({}, {}, [](LlmSettings &s) { s.baseUrl.replace(QLatin1String("http://"), QLatin1String("http://user:hunter2@")); });
        QVERIFY(!f.client->name().contains(QLatin1String("hunter2")));
        QVERIFY(!f.client->name().contains(QLatin1String("test-key")));
        QVERIFY(f.client->name().contains(QLatin1String("fake-model")));
    }

    void reasoningIsKeptApart_data()
    {
        QTest::addColumn<QString>("faults");
        QTest::newRow("reasoning_content (SiliconFlow, llama.cpp)") << QStringLiteral("openai,reasoning");
        QTest::newRow("reasoning (Ollama)") << QStringLiteral("ollama,reasoning");
        QTest::newRow("reasoning (vLLM)") << QStringLiteral("vllm,reasoning");
        QTest::newRow("reasoning_content (llama.cpp)") << QStringLiteral("llamacpp,reasoning");
    }

    void reasoningIsKeptApart()
    {
        QFETCH(QString, faults);
        Fixture f({}, QStringLiteral("/fault/") + faults);
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QVERIFY(!c.error);
        QCOMPARE(c.text(), f.fake->options().replyText);
        QVERIFY(!c.reasoning.isEmpty());
        QVERIFY(!c.text().contains(c.reasoning.join(QString())));
    }

    void faultsAreClassified_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::addColumn<UpstreamErrorKind>("kind");
        QTest::addColumn<int>("attempts");
        QTest::addColumn<bool>("deltasFirst");
        using K = UpstreamErrorKind;
        QTest::newRow("401") << QStringLiteral("401") << K::Auth << 1 << false;
        QTest::newRow("403") << QStringLiteral("403") << K::Auth << 1 << false;
        QTest::newRow("429 retried, then reported") << QStringLiteral("429") << K::RateLimited << 3 << false;
        QTest::newRow("quota not retried") << QStringLiteral("quota") << K::Quota << 1 << false;
        QTest::newRow("500 retried") << QStringLiteral("500") << K::Server << 3 << false;
        QTest::newRow("503 retried") << QStringLiteral("503") << K::Server << 3 << false;
        QTest::newRow("siliconflow-error") << QStringLiteral("siliconflow-error") << K::BadRequest << 1 << false;
        QTest::newRow("siliconflow-balance") << QStringLiteral("siliconflow-balance") << K::Quota << 1 << false;
        QTest::newRow("bare-string") << QStringLiteral("bare-string") << K::Auth << 1 << false;
        QTest::newRow("cut midway: never retried after a delta") << QStringLiteral("cut") << K::Network << 1 << true;
        QTest::newRow("sse-error midway") << QStringLiteral("sse-error") << K::Server << 1 << true;
        QTest::newRow("error: field midway") << QStringLiteral("sse-error-field") << K::Server << 1 << true;
        QTest::newRow("malformed chunk") << QStringLiteral("malformed") << K::Malformed << 1 << true;
    }

    void faultsAreClassified()
    {
        QFETCH(QString, fault);
        QFETCH(UpstreamErrorKind, kind);
        QFETCH(int, attempts);
        QFETCH(bool, deltasFirst);
        Fixture f({}, QStringLiteral("/fault/") + fault);
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QVERIFY(c.error.has_value());
        QCOMPARE(UpstreamError::kindName(c.error->kind), UpstreamError::kindName(kind));
        QVERIFY(!c.error->message.isEmpty());
        QVERIFY(!c.error->message.contains(QLatin1String("test-key")));
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/chat/completions")), attempts);
        QCOMPARE(!c.deltas.isEmpty(), deltasFirst);
        QCOMPARE(c.finishedCount, 1);
        QCOMPARE(c.afterEnd, 0);
        if (kind == UpstreamErrorKind::RateLimited)
            QCOMPARE(c.error->retryAfterMs, 100); // the fake's retry-after-ms
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_requests_total"), {{QStringLiteral("outcome"), UpstreamError::kindName(kind)}}), 1.0);
    }

    void retriesBeforeTheFirstDeltaThenSucceeds()
    {
        Fixture f({}, QStringLiteral("/fault/flaky"));
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QVERIFY(!c.error);
        QCOMPARE(c.text(), f.fake->options().replyText);
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/chat/completions")), 2);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_retries_total"), {{QStringLiteral("kind"), QStringLiteral("server")}}), 1.0);
    }

    void maxRetriesIsConfigurable()
    {
        Fixture f({}, QStringLiteral("/fault/500"), [](LlmSettings &s) { s.maxRetries = 0; });
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QCOMPARE(c.error->kind, UpstreamErrorKind::Server);
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/chat/completions")), 1);
    }

    void cancelMidStreamClosesTheConnection()
    {
        FakeOptions o;
        o.replyText = kLongReply;
        o.tokensPerSecond = 20;
        Fixture f(o);
        QSignalSpy closed(f.fake.get(), &FakeServer::clientClosedEarly);
        Collector c;
        LlmStream *s = f.start(c);
        QSignalSpy deltas(s, &LlmStream::delta);
        QTRY_VERIFY_WITH_TIMEOUT(!c.deltas.isEmpty(), 20000);
        s->cancel();
        c.cancelled = true;
        s->cancel(); // twice is harmless
        QVERIFY(closed.count() > 0 || closed.wait(5000));
        QCOMPARE(f.fake->disconnectsSeen(), 1);
        const int seen = int(deltas.count());
        QVERIFY(!deltas.wait(300)); // the stream stays silent
        QCOMPARE(int(deltas.count()), seen);
        QCOMPARE(c.afterEnd, 0);
        QCOMPARE(c.finishedCount, 0);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_requests_total"), {{QStringLiteral("outcome"), QStringLiteral("cancelled")}}), 1.0);
        QCOMPARE(f.client->scheduler().inFlight(), 0);
        delete s;
    }

    void deletingTheStreamCancelsIt()
    {
        FakeOptions o;
        o.replyText = kLongReply;
        o.tokensPerSecond = 20;
        Fixture f(o);
        QSignalSpy closed(f.fake.get(), &FakeServer::clientClosedEarly);
        Collector c;
        LlmStream *s = f.start(c);
        QTRY_VERIFY_WITH_TIMEOUT(!c.deltas.isEmpty(), 20000);
        delete s;
        QVERIFY(closed.count() > 0 || closed.wait(5000));
        QCOMPARE(f.client->scheduler().inFlight(), 0);
    }

    void cancelInsideADeltaSlot()
    {
        Fixture f;
        Collector c;
        LlmStream *s = f.start(c);
        QObject::connect(s, &LlmStream::delta, s, [&c, s] {
            c.cancelled = true;
            s->cancel();
        });
        QTRY_VERIFY_WITH_TIMEOUT(!c.deltas.isEmpty(), 20000);
        QVERIFY(!QSignalSpy(s, &LlmStream::delta).wait(200));
        QCOMPARE(c.deltas.size(), 1);
        QCOMPARE(c.afterEnd, 0);
        delete s;
    }

    void firstByteTimeout()
    {
        Fixture f({}, QStringLiteral("/fault/stall"), [](LlmSettings &s) { s.firstByteTimeoutMs = 200; });
        QSignalSpy closed(f.fake.get(), &FakeServer::clientClosedEarly);
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QCOMPARE(c.error->kind, UpstreamErrorKind::Timeout);
        QVERIFY(c.error->message.contains(QLatin1String("first_byte_timeout_ms")));
        // Nothing was delivered, so the timeout was retried like the SDK does.
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/chat/completions")), 3);
        QTRY_COMPARE_WITH_TIMEOUT(f.fake->disconnectsSeen(), 3, 5000);
    }

    void inactivityTimeoutAfterADelta()
    {
        Fixture f({}, QStringLiteral("/fault/stall-after-first"), [](LlmSettings &s) { s.inactivityTimeoutMs = 200; });
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QCOMPARE(c.error->kind, UpstreamErrorKind::Timeout);
        QVERIFY(c.error->message.contains(QLatin1String("inactivity_timeout_ms")));
        QCOMPARE(c.deltas.size(), 1);
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/chat/completions")), 1);
    }

    void connectionRefusedIsNetwork()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 port = probe.serverPort();
        probe.close();
        Metrics metrics;
        LlmSettings settings;
        settings.baseUrl = QStringLiteral("http://127.0.0.1:%1/v1").arg(port);
        OpenAiLlmClient client(settings, metrics);
        RetryPolicy fast;
        fast.baseDelayMs = 10;
        client.setRetryPolicy(fast);
        Collector c;
        LlmRequest r;
        r.messages = {{QStringLiteral("user"), QStringLiteral("hi")}};
        std::unique_ptr<LlmStream> s(client.stream(r, nullptr));
        c.attach(s.get());
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 20000);
        QCOMPARE(c.error->kind, UpstreamErrorKind::Network);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_llm_retries_total"), {{QStringLiteral("kind"), QStringLiteral("network")}}), 2.0);
    }

    void sixtyFourConcurrentStreamsDoNotQueue()
    {
        // Each reply lasts about 80 tokens / 40 per second = 2 s. If Qt's 6-connections-per-host
        // cap were in the way, the 7th stream could only start once one of the first six finished.
        FakeOptions o;
        o.replyText = QString(QStringLiteral("天依")).repeated(40);
        o.tokensPerSecond = 40;
        Fixture f(o, {}, [](LlmSettings &s) { s.maxConcurrent = 64; });
        constexpr int kStreams = 64;
        std::vector<Collector> collectors(kStreams);
        std::vector<std::unique_ptr<LlmStream>> streams;
        int sequence = 0;
        std::vector<int> firstDeltaAt(kStreams, -1);
        std::vector<int> endedAt(kStreams, -1);
        for (int i = 0; i < kStreams; ++i) {
            streams.emplace_back(f.start(collectors[i]));
            LlmStream *s = streams.back().get();
            QObject::connect(s, &LlmStream::delta, s, [&, i] {
                if (firstDeltaAt[i] < 0)
                    firstDeltaAt[i] = sequence++;
            });
            QObject::connect(s, &LlmStream::finished, s, [&, i] { endedAt[i] = sequence++; });
            QObject::connect(s, &LlmStream::failed, s, [&, i] { endedAt[i] = sequence++; });
        }
        QCOMPARE(f.client->scheduler().inFlight(), kStreams);
        QCOMPARE(f.client->scheduler().waiting(), 0);
        QVERIFY(f.client->scheduler().managerCount() >= (kStreams + 5) / 6);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_inflight")), double(kStreams));
        QTRY_VERIFY_WITH_TIMEOUT(std::all_of(collectors.begin(), collectors.end(), [](const Collector &c) { return c.ended; }), 60000);
        const int lastFirstDelta = *std::max_element(firstDeltaAt.begin(), firstDeltaAt.end());
        const int firstEnd = *std::min_element(endedAt.begin(), endedAt.end());
        for (const Collector &c : collectors) {
            QVERIFY(!c.error);
            QCOMPARE(c.text(), o.replyText);
        }
        QVERIFY2(lastFirstDelta < firstEnd, qPrintable(QStringLiteral("a stream finished (event %1) before the last first delta (event %2)")
                                                           .arg(firstEnd)
                                                           .arg(lastFirstDelta)));
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_inflight")), 0.0);
    }

    void beyondMaxConcurrentStreamsWaitInOrder()
    {
        FakeOptions o;
        o.tokensPerSecond = 200;
        Fixture f(o, {}, [](LlmSettings &s) { s.maxConcurrent = 2; });
        std::vector<Collector> collectors(5);
        std::vector<std::unique_ptr<LlmStream>> streams;
        for (auto &c : collectors)
            streams.emplace_back(f.start(c));
        QCOMPARE(f.client->scheduler().inFlight(), 2);
        QCOMPARE(f.client->scheduler().waiting(), 3);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_waiting")), 3.0);
        QTRY_VERIFY_WITH_TIMEOUT(std::all_of(collectors.begin(), collectors.end(), [](const Collector &c) { return c.ended; }), 30000);
        for (const Collector &c : collectors)
            QVERIFY(!c.error);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_llm_waiting")), 0.0);
    }

    void clientDeletedUnderAStream()
    {
        FakeOptions o;
        o.replyText = kLongReply;
        o.tokensPerSecond = 20;
        Fixture f(o);
        Collector c;
        std::unique_ptr<LlmStream> s(f.start(c));
        QTRY_VERIFY_WITH_TIMEOUT(!c.deltas.isEmpty(), 20000);
        f.client.reset();
        QTRY_VERIFY_WITH_TIMEOUT(c.ended, 5000);
        QCOMPARE(c.error->kind, UpstreamErrorKind::Unavailable);
    }
};

QTEST_GUILESS_MAIN(TestLlmClient)
#include "tst_llmclient.moc"
