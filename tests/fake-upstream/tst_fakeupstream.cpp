// The fake upstream itself: control routes, non-streaming answers, scripts, faults by header.
#include "fakeserver.h"
#include "httpclient.h"

#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace tianyi::fake;
using namespace tianyi::test;

namespace {

QByteArray chatBody(const QString &prompt, bool stream)
{
    return QJsonDocument(QJsonObject{{QStringLiteral("model"), QStringLiteral("m")},
                                     {QStringLiteral("stream"), stream},
                                     {QStringLiteral("messages"), QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                                                                         {QStringLiteral("content"), prompt}}}}})
        .toJson(QJsonDocument::Compact);
}

const QList<QPair<QByteArray, QByteArray>> kJson{{"Content-Type", "application/json"}};

} // namespace

class TestFakeUpstream : public QObject
{
    Q_OBJECT

private slots:
    void recordsAndClearsRequests()
    {
        FakeServer fake({});
        registerOpenAiRoutes(fake);
        QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
        HttpClient http(fake.baseUrl());
        QCOMPARE(http.request("POST", QStringLiteral("/v1/chat/completions"), chatBody(QStringLiteral("hi"), false), kJson).status, 200);
        const HttpResult list = http.get(QStringLiteral("/_fake/requests"));
        QCOMPARE(list.status, 200);
        const QJsonArray recorded = QJsonDocument::fromJson(list.body).array();
        QCOMPARE(recorded.size(), 1);
        QCOMPARE(recorded[0].toObject().value(QStringLiteral("body")).toObject().value(QStringLiteral("model")).toString(), QStringLiteral("m"));
        QCOMPARE(http.request("DELETE", QStringLiteral("/_fake/requests")).status, 204);
        QCOMPARE(fake.recorded().size(), 0);
    }

    void nonStreamingAndScriptedReplies()
    {
        FakeOptions o;
        o.ttftMs = 0;
        o.script = {{QStringLiteral("唱"), QStringLiteral("好呀，我来唱一首。")}, {QStringLiteral("唱歌吧"), QStringLiteral("longest match")}};
        FakeServer fake(o);
        registerOpenAiRoutes(fake);
        QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
        HttpClient http(fake.baseUrl());
        HttpResult r = http.request("POST", QStringLiteral("/chat/completions"), chatBody(QStringLiteral("唱一首"), false), kJson);
        QCOMPARE(r.status, 200);
        const QJsonObject choice = r.json().value(QStringLiteral("choices")).toArray().first().toObject();
        QCOMPARE(choice.value(QStringLiteral("message")).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("好呀，我来唱一首。"));
        QVERIFY(r.json().value(QStringLiteral("usage")).isObject());
        r = http.request("POST", QStringLiteral("/chat/completions"), chatBody(QStringLiteral("唱歌吧！"), false), kJson);
        QCOMPARE(r.json().value(QStringLiteral("choices")).toArray().first().toObject().value(QStringLiteral("message")).toObject().value(QStringLiteral("content")).toString(),
                 QStringLiteral("longest match"));
        QCOMPARE(http.get(QStringLiteral("/v1/models")).status, 200);
        QCOMPARE(http.get(QStringLiteral("/nothing/here")).status, 404);
    }

    void faultByHeaderAndByPath()
    {
        FakeServer fake({});
        registerOpenAiRoutes(fake);
        QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
        HttpClient http(fake.baseUrl());
        QList<QPair<QByteArray, QByteArray>> headers = kJson;
        headers.append(qMakePair(QByteArray("x-fake-fault"), QByteArray("429")));
        headers.append(qMakePair(QByteArray("x-fake-retry-after-ms"), QByteArray("1234")));
        HttpResult r = http.request("POST", QStringLiteral("/v1/chat/completions"), chatBody(QStringLiteral("x"), true), headers);
        QCOMPARE(r.status, 429);
        QCOMPARE(r.header("retry-after-ms"), QByteArray("1234"));
        QCOMPARE(r.header("Retry-After"), QByteArray("2"));
        r = http.request("POST", QStringLiteral("/fault/quota/v1/chat/completions"), chatBody(QStringLiteral("x"), true), kJson);
        QCOMPARE(r.status, 429);
        QCOMPARE(r.json().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString(), QStringLiteral("insufficient_quota"));
        r = http.request("POST", QStringLiteral("/fault/siliconflow-error/v1/embeddings"), "{}", kJson);
        QCOMPARE(r.status, 400);
        QCOMPARE(r.json().value(QStringLiteral("code")).toInt(), 20012);
        QCOMPARE(fake.recorded().last().toObject().value(QStringLiteral("path")).toString(), QStringLiteral("/v1/embeddings"));
        QCOMPARE(fake.recorded().last().toObject().value(QStringLiteral("fault")).toString(), QStringLiteral("siliconflow-error"));
    }

    void streamsServerSentEvents()
    {
        FakeOptions o;
        o.ttftMs = 0;
        o.tokensPerSecond = 0; // as fast as possible
        o.replyText = QStringLiteral("a b c");
        FakeServer fake(o);
        registerOpenAiRoutes(fake);
        QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
        QByteArray body = chatBody(QStringLiteral("x"), true);
        body.chop(1);
        body += R"(,"stream_options":{"include_usage":true}})";
        const HttpResult r = HttpClient(fake.baseUrl()).request("POST", QStringLiteral("/v1/chat/completions"), body, kJson);
        QCOMPARE(r.status, 200);
        QVERIFY(r.header("Content-Type").startsWith("text/event-stream"));
        QVERIFY(r.body.startsWith("data: {"));
        QVERIFY(r.body.endsWith("data: [DONE]\n\n"));
        QVERIFY(r.body.contains(R"("choices":[],)"));
        QVERIFY(r.body.contains(R"("usage":{"completion_tokens":3,)"));
    }
};

QTEST_GUILESS_MAIN(TestFakeUpstream)
#include "tst_fakeupstream.moc"
