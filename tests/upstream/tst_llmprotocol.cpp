// The pure parts of the upstream clients: error classification, Retry-After, the SDK retry policy,
// the chat chunk decoder, the request scheduler.
#include "metrics/metrics.h"
#include "tianyi/sseparser.h"
#include "upstream/errorclassifier.h"
#include "upstream/openaichunk.h"
#include "upstream/requestscheduler.h"
#include "upstream/retrypolicy.h"

#include <QNetworkAccessManager>
#include <QSet>
#include <QtTest>

using namespace tianyi;

Q_DECLARE_METATYPE(tianyi::UpstreamErrorKind)

namespace {

SseEvent dataEvent(const QByteArray &json)
{
    SseEvent e;
    e.data = QString::fromUtf8(json);
    return e;
}

const QDateTime kNow = QDateTime(QDate(2025, 3, 1), QTime(12, 0, 0), Qt::UTC);

} // namespace

class TestLlmProtocol : public QObject
{
    Q_OBJECT

private slots:
    void classifiesHttpErrors_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<UpstreamErrorKind>("kind");
        QTest::addColumn<QString>("messagePart");

        using K = UpstreamErrorKind;
        QTest::newRow("401 openai") << 401 << QByteArray(R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})")
                                    << K::Auth << QStringLiteral("Incorrect API key");
        QTest::newRow("403 openai") << 403 << QByteArray(R"({"error":{"message":"Forbidden","type":"permission_error","param":null,"code":null}})")
                                    << K::Auth << QStringLiteral("Forbidden");
        QTest::newRow("401 bare string") << 401 << QByteArray(R"("Invalid token")") << K::Auth << QStringLiteral("Invalid token");
        QTest::newRow("429 rate limit") << 429 << QByteArray(R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})")
                                        << K::RateLimited << QStringLiteral("Rate limit reached");
        QTest::newRow("429 insufficient_quota code") << 429 << QByteArray(R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})")
                                                     << K::Quota << QStringLiteral("quota");
        QTest::newRow("429 insufficient_quota type only") << 429 << QByteArray(R"({"error":{"message":"no money","type":"insufficient_quota","code":null}})")
                                                          << K::Quota << QStringLiteral("no money");
        QTest::newRow("400 integer code") << 400 << QByteArray(R"({"error":{"message":"max_tokens too large","type":"BadRequestError","param":null,"code":400}})")
                                          << K::BadRequest << QStringLiteral("max_tokens too large");
        QTest::newRow("400 siliconflow") << 400 << QByteArray(R"({"code":20012,"message":"Model does not exist. Please check it carefully.","data":null})")
                                         << K::BadRequest << QStringLiteral("Model does not exist");
        QTest::newRow("403 siliconflow balance") << 403 << QByteArray(R"({"code":30001,"message":"Sorry, your account balance is insufficient","data":null})")
                                                 << K::Quota << QStringLiteral("balance");
        QTest::newRow("402") << 402 << QByteArray() << K::Quota << QStringLiteral("402");
        QTest::newRow("404 ollama shape") << 404 << QByteArray(R"({"error":"model 'x' not found, try pulling it first"})")
                                          << K::BadRequest << QStringLiteral("not found");
        QTest::newRow("422 fastapi detail") << 422 << QByteArray(R"({"detail":[{"loc":["body","messages"],"msg":"field required"}]})")
                                            << K::BadRequest << QStringLiteral("field required");
        QTest::newRow("408") << 408 << QByteArray() << K::Timeout << QStringLiteral("408");
        QTest::newRow("409") << 409 << QByteArray() << K::BadRequest << QStringLiteral("409");
        QTest::newRow("500 integer code") << 500 << QByteArray(R"({"error":{"message":"boom","type":"server_error","param":null,"code":500}})")
                                          << K::Server << QStringLiteral("boom");
        QTest::newRow("502 plain text") << 502 << QByteArray("upstream connect error") << K::Server << QStringLiteral("upstream connect error");
        QTest::newRow("503 html page") << 503 << QByteArray("<html><body>503</body></html>") << K::Server << QStringLiteral("503");
        QTest::newRow("500 empty body") << 500 << QByteArray() << K::Server << QStringLiteral("500");
    }

    void classifiesHttpErrors()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        QFETCH(UpstreamErrorKind, kind);
        QFETCH(QString, messagePart);
        const UpstreamError e = classifyHttpError(status, body);
        QCOMPARE(UpstreamError::kindName(e.kind), UpstreamError::kindName(kind));
        QCOMPARE(e.httpStatus, status);
        QVERIFY2(e.message.contains(messagePart), qPrintable(e.message));
        QVERIFY(!e.message.contains(QLatin1String("<html")));
    }

    void retryAfter_data()
    {
        QTest::addColumn<QByteArray>("ms");
        QTest::addColumn<QByteArray>("header");
        QTest::addColumn<int>("expected");
        QTest::newRow("none") << QByteArray() << QByteArray() << -1;
        QTest::newRow("retry-after-ms") << QByteArray("1500") << QByteArray() << 1500;
        QTest::newRow("retry-after-ms fractional") << QByteArray("10.2") << QByteArray() << 11;
        QTest::newRow("retry-after-ms wins") << QByteArray("200") << QByteArray("30") << 200;
        QTest::newRow("seconds") << QByteArray() << QByteArray("3") << 3000;
        QTest::newRow("seconds capped at 120 s") << QByteArray() << QByteArray("500") << 120000;
        QTest::newRow("ms capped at 120 s") << QByteArray("999999") << QByteArray() << 120000;
        QTest::newRow("HTTP date") << QByteArray() << QByteArray("Sat, 01 Mar 2025 12:00:10 GMT") << 10000;
        QTest::newRow("HTTP date in the past") << QByteArray() << QByteArray("Sat, 01 Mar 2025 11:00:00 GMT") << 0;
        QTest::newRow("HTTP date far away is capped") << QByteArray() << QByteArray("Sun, 02 Mar 2025 12:00:00 GMT") << 120000;
        QTest::newRow("RFC 850 date") << QByteArray() << QByteArray("Saturday, 01-Mar-25 12:00:05 GMT") << 5000;
        QTest::newRow("asctime date") << QByteArray() << QByteArray("Sat Mar  1 12:00:07 2025") << 7000;
        QTest::newRow("garbage") << QByteArray("soon") << QByteArray("later") << -1;
        QTest::newRow("negative") << QByteArray("-5") << QByteArray() << -1;
    }

    void retryAfter()
    {
        QFETCH(QByteArray, ms);
        QFETCH(QByteArray, header);
        QFETCH(int, expected);
        QCOMPARE(parseRetryAfterMs(ms, header, kNow), expected);
        const UpstreamError e = classifyHttpError(429, "{}", ms, header, kNow);
        QCOMPARE(e.retryAfterMs, expected);
    }

    void secretsAreMasked()
    {
        const UpstreamError e = classifyHttpError(
            401, R"({"error":{"message":"Incorrect API key provided: sk-abcdefghijklmnop1234. Bearer abcdefghijkl","code":"invalid_api_key"}})");
        QVERIFY2(!e.message.contains(QLatin1String("abcdefghijklmnop1234")), qPrintable(e.message));
        QVERIFY2(!e.message.contains(QLatin1String("abcdefghijkl")), qPrintable(e.message));
        const UpstreamError n = classifyNetworkError(QNetworkReply::ConnectionRefusedError,
                                                     QStringLiteral("Connection refused for http://user:secret@host/v1?key=k"));
        QCOMPARE(n.kind, UpstreamErrorKind::Network);
        QVERIFY(!n.message.contains(QLatin1String("secret")));
    }

    void streamErrors()
    {
        QCOMPARE(classifyStreamError(R"({"error":{"message":"CUDA out of memory","type":"server_error","code":500}})").kind, UpstreamErrorKind::Server);
        QCOMPARE(classifyStreamError(R"({"content":"slot unavailable"})").kind, UpstreamErrorKind::Server);
        QCOMPARE(classifyStreamError(R"({"error":{"message":"quota","code":"insufficient_quota"}})").kind, UpstreamErrorKind::Quota);
        QCOMPARE(classifyStreamError(R"({"error":{"message":"slow down","code":429}})").kind, UpstreamErrorKind::RateLimited);
        QCOMPARE(classifyStreamError(R"({"error":{"message":"prompt too long","code":400}})").kind, UpstreamErrorKind::BadRequest);
        QVERIFY(classifyStreamError(R"({"error":{"message":"CUDA out of memory"}})").message.contains(QLatin1String("CUDA")));
    }

    void retryPolicyDecisions_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<bool>("retry");
        QTest::newRow("408") << 408 << QByteArray() << true;
        QTest::newRow("409") << 409 << QByteArray() << true;
        QTest::newRow("429") << 429 << QByteArray() << true;
        QTest::newRow("429 quota") << 429 << QByteArray(R"({"error":{"message":"x","code":"insufficient_quota"}})") << false;
        QTest::newRow("500") << 500 << QByteArray() << true;
        QTest::newRow("502") << 502 << QByteArray() << true;
        QTest::newRow("503") << 503 << QByteArray() << true;
        QTest::newRow("400") << 400 << QByteArray() << false;
        QTest::newRow("401") << 401 << QByteArray() << false;
        QTest::newRow("403") << 403 << QByteArray() << false;
        QTest::newRow("404") << 404 << QByteArray() << false;
        QTest::newRow("422") << 422 << QByteArray() << false;
        QTest::newRow("siliconflow balance") << 403 << QByteArray(R"({"code":30001,"message":"m","data":null})") << false;
    }

    void retryPolicyDecisions()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        QFETCH(bool, retry);
        RetryPolicy p;
        const UpstreamError e = classifyHttpError(status, body);
        QCOMPARE(RetryPolicy::isRetryable(e), retry);
        QCOMPARE(p.shouldRetry(e, 0), retry);
        QCOMPARE(p.shouldRetry(e, 1), retry);
        QVERIFY(!p.shouldRetry(e, 2)); // max_retries 2: attempts 0, 1, 2
    }

    void retryPolicyOtherKinds()
    {
        UpstreamError e;
        e.kind = UpstreamErrorKind::Network;
        QVERIFY(RetryPolicy::isRetryable(e));
        e.kind = UpstreamErrorKind::Timeout;
        QVERIFY(RetryPolicy::isRetryable(e));
        e.kind = UpstreamErrorKind::Malformed;
        QVERIFY(!RetryPolicy::isRetryable(e));
        e.kind = UpstreamErrorKind::Unavailable;
        QVERIFY(!RetryPolicy::isRetryable(e));
        RetryPolicy none;
        none.maxRetries = 0;
        e.kind = UpstreamErrorKind::Network;
        QVERIFY(!none.shouldRetry(e, 0));
    }

    void retryBackoff()
    {
        RetryPolicy p;
        UpstreamError e;
        e.kind = UpstreamErrorKind::Server;
        QCOMPARE(p.delayMs(0, e, 0.0), 500);
        QCOMPARE(p.delayMs(1, e, 0.0), 1000);
        QCOMPARE(p.delayMs(2, e, 0.0), 2000);
        QCOMPARE(p.delayMs(4, e, 0.0), 8000);
        QCOMPARE(p.delayMs(9, e, 0.0), 8000);   // capped
        QCOMPARE(p.delayMs(0, e, 1.0), 375);    // minus 25 % jitter at most
        QCOMPARE(p.delayMs(4, e, 1.0), 6000);
        for (int i = 0; i < 200; ++i) {
            const int d = p.delayMs(1, e);
            QVERIFY(d >= 750 && d <= 1000);
        }
        e.retryAfterMs = 2500; // the server's word wins
        QCOMPARE(p.delayMs(0, e, 0.5), 2500);
        e.retryAfterMs = 500000;
        QCOMPARE(p.delayMs(0, e, 0.5), 120000);
    }

    void decodesChunks_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("content");
        QTest::addColumn<QString>("reasoning");
        QTest::addColumn<QString>("finish");
        QTest::addColumn<int>("totalTokens"); // -1 = no usage

        QTest::newRow("content") << QByteArray(R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"你好"},"finish_reason":null}]})")
                                 << QStringLiteral("你好") << QString() << QString() << -1;
        QTest::newRow("role and empty content") << QByteArray(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null})")
                                                << QString() << QString() << QString() << -1;
        QTest::newRow("content null (llama.cpp first chunk)") << QByteArray(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]})")
                                                              << QString() << QString() << QString() << -1;
        QTest::newRow("delta {}") << QByteArray(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})")
                                  << QString() << QString() << QStringLiteral("stop") << -1;
        QTest::newRow("delta missing") << QByteArray(R"({"choices":[{"index":0,"finish_reason":"length"}]})")
                                       << QString() << QString() << QStringLiteral("length") << -1;
        QTest::newRow("usage chunk choices []") << QByteArray(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})")
                                                << QString() << QString() << QString() << 12;
        QTest::newRow("usage without total") << QByteArray(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}})")
                                             << QString() << QString() << QString() << 12;
        QTest::newRow("usage without total, counts at INT_MAX") << QByteArray(R"({"choices":[],"usage":{"prompt_tokens":2147483647,"completion_tokens":2147483647}})")
                                                                << QString() << QString() << QString() << 2147483647;
        QTest::newRow("choices missing") << QByteArray(R"({"id":"x"})") << QString() << QString() << QString() << -1;
        QTest::newRow("role repeated (ollama)") << QByteArray(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]})")
                                                << QStringLiteral("hi") << QString() << QString() << -1;
        QTest::newRow("finish_reason with text (vllm)") << QByteArray(R"({"choices":[{"index":0,"delta":{"content":"end."},"finish_reason":"stop"}]})")
                                                        << QStringLiteral("end.") << QString() << QStringLiteral("stop") << -1;
        QTest::newRow("usage on the last choice chunk (llama.cpp)")
            << QByteArray(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},"timings":{}})")
            << QString() << QString() << QStringLiteral("stop") << 3;
        QTest::newRow("reasoning_content") << QByteArray(R"({"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"think"}}]})")
                                           << QString() << QStringLiteral("think") << QString() << -1;
        QTest::newRow("reasoning (ollama/vllm)") << QByteArray(R"({"choices":[{"index":0,"delta":{"content":"","reasoning":"think"}}]})")
                                                 << QString() << QStringLiteral("think") << QString() << -1;
        QTest::newRow("second choice ignored") << QByteArray(R"({"choices":[{"index":1,"delta":{"content":"no"}},{"index":0,"delta":{"content":"yes"}}]})")
                                               << QStringLiteral("yes") << QString() << QString() << -1;
    }

    void decodesChunks()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, content);
        QFETCH(QString, reasoning);
        QFETCH(QString, finish);
        QFETCH(int, totalTokens);
        const ChatChunk c = decodeChatChunk(dataEvent(json));
        QCOMPARE(int(c.kind), int(ChatChunk::Kind::Data));
        QCOMPARE(c.content, content);
        QCOMPARE(c.reasoning, reasoning);
        QCOMPARE(c.finishReason, finish);
        QCOMPARE(c.usage.has_value(), totalTokens >= 0);
        if (c.usage)
            QCOMPARE(c.usage->totalTokens, totalTokens);
    }

    void decodesSpecialEvents()
    {
        QCOMPARE(int(decodeChatChunk(dataEvent("[DONE]")).kind), int(ChatChunk::Kind::Done));
        QCOMPARE(int(decodeChatChunk(dataEvent(" [DONE] ")).kind), int(ChatChunk::Kind::Done));
        const ChatChunk err = decodeChatChunk(dataEvent(R"({"error":{"message":"CUDA out of memory","type":"server_error","code":500}})"));
        QCOMPARE(int(err.kind), int(ChatChunk::Kind::Error));
        QCOMPARE(err.error.kind, UpstreamErrorKind::Server);
        SseEvent field;
        field.error = QStringLiteral(R"({"content":"slot unavailable"})");
        QCOMPARE(int(decodeChatChunk(field).kind), int(ChatChunk::Kind::Error));
        SseEvent typed = dataEvent(R"({"message":"overloaded"})");
        typed.event = QStringLiteral("error");
        QCOMPARE(int(decodeChatChunk(typed).kind), int(ChatChunk::Kind::Error));
        const ChatChunk bad = decodeChatChunk(dataEvent(R"({"choices":[{"delta":{"content":"oops")"));
        QCOMPARE(int(bad.kind), int(ChatChunk::Kind::Malformed));
        QCOMPARE(bad.error.kind, UpstreamErrorKind::Malformed);
        QCOMPARE(int(decodeChatChunk(dataEvent("[1,2]")).kind), int(ChatChunk::Kind::Malformed));
        QCOMPARE(int(decodeChatChunk(dataEvent(R"({"choices":{"a":1}})")).kind), int(ChatChunk::Kind::Malformed));
        QCOMPARE(int(decodeChatChunk(dataEvent(R"({"choices":[{"index":0,"delta":{"content":5}}]})")).kind), int(ChatChunk::Kind::Malformed));
        QCOMPARE(int(decodeChatChunk(dataEvent(R"({"error":null,"choices":[]})")).kind), int(ChatChunk::Kind::Data));
    }

    void schedulerSpreadsOverManagersAndQueuesFifo()
    {
        Metrics metrics;
        RequestScheduler::Options o;
        o.maxConcurrent = 13;
        o.maxWaiting = 2;
        o.metricPrefix = QStringLiteral("test_sched");
        RequestScheduler s(o, metrics);
        QCOMPARE(s.managerCount(), 3); // ceil(13 / 6)
        QList<quint64> tickets;
        QHash<QNetworkAccessManager *, int> perManager;
        QList<int> started;
        for (int i = 0; i < 13; ++i) {
            tickets << s.submit([&, i](QNetworkAccessManager *nam) {
                ++perManager[nam];
                started << i;
            });
        }
        QCOMPARE(started.size(), 13); // all at once, synchronously
        QCOMPARE(perManager.size(), 3);
        for (int n : std::as_const(perManager))
            QVERIFY(n <= 6);
        QCOMPARE(s.inFlight(), 13);
        const quint64 w1 = s.submit([&](QNetworkAccessManager *) { started << 100; });
        const quint64 w2 = s.submit([&](QNetworkAccessManager *) { started << 101; });
        QVERIFY(w1 && w2);
        QCOMPARE(s.submit([&](QNetworkAccessManager *) { started << 102; }), quint64(0)); // queue full
        QCOMPARE(s.waiting(), 2);
        QCOMPARE(metrics.value(QStringLiteral("test_sched_waiting")), 2.0);
        QCOMPARE(metrics.value(QStringLiteral("test_sched_inflight")), 13.0);
        s.release(tickets[0]);
        s.release(tickets[0]); // idempotent
        QCOMPARE(s.inFlight(), 13);
        QCOMPARE(s.waiting(), 1);
        // Started from the event loop, in order.
        QTRY_COMPARE(started.size(), 14);
        QCOMPARE(started.last(), 100);
        s.release(w2); // given up while waiting
        QCOMPARE(s.waiting(), 0);
        s.release(tickets[1]);
        QCOMPARE(s.inFlight(), 12);
        QCoreApplication::processEvents();
        QVERIFY(!started.contains(101));
        QVERIFY(!started.contains(102));
        QCOMPARE(metrics.value(QStringLiteral("test_sched_waiting")), 0.0);
        QCOMPARE(metrics.value(QStringLiteral("test_sched_inflight")), 12.0);
    }
};

QTEST_GUILESS_MAIN(TestLlmProtocol)
#include "tst_llmprotocol.moc"
