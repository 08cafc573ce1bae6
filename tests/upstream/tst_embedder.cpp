// The OpenAI-compatible embeddings client against the fake upstream over real loopback HTTP.
#include "fakeserver.h"
#include "metrics/metrics.h"
#include "upstream/openaiembedder.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QSignalSpy>
#include <QtTest>
#include <cmath>
#include <memory>
#include <optional>

using namespace tianyi;
using namespace tianyi::fake;

Q_DECLARE_METATYPE(tianyi::UpstreamErrorKind)

namespace {

struct Result {
    std::optional<QVector<Embedding>> vectors;
    std::optional<UpstreamError> error;
    int emitted = 0;
    bool ended() const { return emitted > 0; }
};

struct Fixture {
    Metrics metrics;
    std::unique_ptr<FakeServer> fake;
    std::unique_ptr<OpenAiEmbedder> embedder;

    explicit Fixture(const QString &pathPrefix = {}, const std::function<void(EmbeddingSettings &)> &adjust = {}, int fakeDims = 64)
    {
        FakeOptions o;
        o.embeddingDimensions = fakeDims;
        fake = std::make_unique<FakeServer>(o);
        registerOpenAiRoutes(*fake);
        if (!fake->listen(QHostAddress::LocalHost, 0))
            qFatal("fake upstream cannot listen");
        EmbeddingSettings s;
        s.baseUrl = fake->baseUrl() + pathPrefix + QStringLiteral("/v1/");
        s.apiKey = "embed-key";
        s.model = QStringLiteral("BAAI/bge-m3");
        s.dimensions = 64;
        s.batchSize = 3;
        if (adjust)
            adjust(s);
        embedder = std::make_unique<OpenAiEmbedder>(s, metrics);
        RetryPolicy fast = embedder->retryPolicy();
        fast.baseDelayMs = 10;
        embedder->setRetryPolicy(fast);
    }

    Result run(const QStringList &texts)
    {
        Result r;
        std::unique_ptr<EmbeddingJob> job(embedder->embed(texts, nullptr));
        QObject::connect(job.get(), &EmbeddingJob::finished, job.get(), [&r](const QVector<Embedding> &v) {
            r.vectors = v;
            ++r.emitted;
        });
        QObject::connect(job.get(), &EmbeddingJob::failed, job.get(), [&r](const UpstreamError &e) {
            r.error = e;
            ++r.emitted;
        });
        if (!QTest::qWaitFor([&r] { return r.ended(); }, 20000))
            qWarning("embedding job did not end");
        return r;
    }
};

QStringList sampleTexts(int n)
{
    QStringList out;
    for (int i = 0; i < n; ++i)
        out << QStringLiteral("洛天依 第%1条 text number %1").arg(i);
    return out;
}

} // namespace

class TestEmbedder : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { qRegisterMetaType<tianyi::UpstreamError>(); }

    void batchesAndReassemblesInOrder()
    {
        const QStringList texts = sampleTexts(10);
        // Reference: one text per request, in order.
        Fixture single({}, [](EmbeddingSettings &s) { s.batchSize = 1; });
        const Result ref = single.run(texts);
        QVERIFY(ref.vectors);
        QCOMPARE(single.fake->recordedCount(QStringLiteral("/embeddings")), 10);

        // Batches of 3, each answered in reverse order: must be put back by `index`.
        Fixture f(QStringLiteral("/fault/reorder"));
        const Result r = f.run(texts);
        QVERIFY2(!r.error, r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(r.emitted, 1);
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/embeddings")), 4); // 3 + 3 + 3 + 1
        QCOMPARE(r.vectors->size(), 10);
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(r.vectors->at(i).size(), 64);
            QCOMPARE(r.vectors->at(i), ref.vectors->at(i));
            double norm = 0;
            for (float x : r.vectors->at(i))
                norm += double(x) * x;
            QVERIFY(std::abs(norm - 1.0) < 1e-3);
        }
        QVERIFY(r.vectors->at(0) != r.vectors->at(1));
        // Every batch was a proper request.
        int inputs = 0;
        for (const QJsonValue &v : f.fake->recorded()) {
            const QJsonObject rec = v.toObject();
            const QJsonObject body = rec.value(QStringLiteral("body")).toObject();
            QCOMPARE(body.value(QStringLiteral("model")).toString(), QStringLiteral("BAAI/bge-m3"));
            QCOMPARE(body.value(QStringLiteral("encoding_format")).toString(), QStringLiteral("float"));
            QVERIFY(body.value(QStringLiteral("input")).toArray().size() <= 3);
            inputs += int(body.value(QStringLiteral("input")).toArray().size());
            QCOMPARE(rec.value(QStringLiteral("path")).toString(), QStringLiteral("/v1/embeddings"));
            QCOMPARE(rec.value(QStringLiteral("headers")).toObject().value(QStringLiteral("authorization")).toString(),
                     QStringLiteral("Bearer embed-key"));
        }
        QCOMPARE(inputs, 10);
        QCOMPARE(f.metrics.value(QStringLiteral("tianyi_embedding_requests_total"), {{QStringLiteral("outcome"), QStringLiteral("ok")}}), 1.0);
    }

    void dimensionMismatchIsMalformed_data()
    {
        QTest::addColumn<QString>("prefix");
        QTest::addColumn<int>("fakeDims");
        QTest::newRow("server sends fewer") << QStringLiteral("/fault/wrong-dims") << 64;
        QTest::newRow("server configured differently") << QString() << 1024;
    }

    void dimensionMismatchIsMalformed()
    {
        QFETCH(QString, prefix);
        QFETCH(int, fakeDims);
        Fixture f(prefix, {}, fakeDims);
        const Result r = f.run(sampleTexts(2));
        QVERIFY(r.error);
        QCOMPARE(r.error->kind, UpstreamErrorKind::Malformed);
        QVERIFY2(r.error->message.contains(QLatin1String("dimensions")), qPrintable(r.error->message));
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/embeddings")), 1); // not retried
    }

    void errorsAreClassified_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::addColumn<UpstreamErrorKind>("kind");
        QTest::addColumn<int>("attempts");
        using K = UpstreamErrorKind;
        QTest::newRow("401") << QStringLiteral("401") << K::Auth << 1;
        QTest::newRow("bare-string") << QStringLiteral("bare-string") << K::Auth << 1;
        QTest::newRow("429") << QStringLiteral("429") << K::RateLimited << 3;
        QTest::newRow("quota") << QStringLiteral("quota") << K::Quota << 1;
        QTest::newRow("siliconflow-error") << QStringLiteral("siliconflow-error") << K::BadRequest << 1;
        QTest::newRow("siliconflow-balance") << QStringLiteral("siliconflow-balance") << K::Quota << 1;
        QTest::newRow("500") << QStringLiteral("500") << K::Server << 3;
        QTest::newRow("503") << QStringLiteral("503") << K::Server << 3;
        QTest::newRow("malformed") << QStringLiteral("malformed") << K::Malformed << 1;
        QTest::newRow("cut") << QStringLiteral("cut") << K::Network << 3;
    }

    void errorsAreClassified()
    {
        QFETCH(QString, fault);
        QFETCH(UpstreamErrorKind, kind);
        QFETCH(int, attempts);
        Fixture f(QStringLiteral("/fault/") + fault, [](EmbeddingSettings &s) { s.batchSize = 32; });
        const Result r = f.run(sampleTexts(2));
        QVERIFY(r.error);
        QCOMPARE(r.emitted, 1);
        QCOMPARE(UpstreamError::kindName(r.error->kind), UpstreamError::kindName(kind));
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/embeddings")), attempts);
    }

    void retriedThenSucceeds()
    {
        Fixture f(QStringLiteral("/fault/flaky"));
        const Result r = f.run(sampleTexts(2));
        QVERIFY(r.vectors);
        QCOMPARE(f.fake->recordedCount(QStringLiteral("/embeddings")), 2);
    }

    void emptyTextIsRefusedBeforeSending()
    {
        Fixture f;
        const Result r = f.run({QStringLiteral("fine"), QStringLiteral("  "), QStringLiteral("also fine")});
        QVERIFY(r.error);
        QCOMPARE(r.error->kind, UpstreamErrorKind::BadRequest);
        QVERIFY(r.error->message.contains(QLatin1String("#1")));
        QVERIFY(r.error->message.contains(QLatin1String("empty")));
        QCOMPARE(f.fake->recordedCount(), 0);
    }

    void noTextsGiveNoVectors()
    {
        Fixture f;
        const Result r = f.run({});
        QVERIFY(r.vectors);
        QVERIFY(r.vectors->isEmpty());
        QCOMPARE(f.fake->recordedCount(), 0);
    }

    void timeoutAndCancel()
    {
        Fixture f(QStringLiteral("/fault/stall"), [](EmbeddingSettings &s) { s.timeoutMs = 200; });
        RetryPolicy none;
        none.maxRetries = 0;
        f.embedder->setRetryPolicy(none);
        const Result r = f.run(sampleTexts(1));
        QVERIFY(r.error);
        QCOMPARE(r.error->kind, UpstreamErrorKind::Timeout);

        f.embedder->setRetryPolicy(RetryPolicy());
        QSignalSpy closed(f.fake.get(), &FakeServer::clientClosedEarly);
        const int before = f.fake->disconnectsSeen();
        std::unique_ptr<EmbeddingJob> job(f.embedder->embed(sampleTexts(1), nullptr));
        QSignalSpy done(job.get(), &EmbeddingJob::finished);
        QSignalSpy failed(job.get(), &EmbeddingJob::failed);
        QTRY_COMPARE_WITH_TIMEOUT(f.fake->recordedCount(), 2, 5000);
        job->cancel();
        QTRY_COMPARE_WITH_TIMEOUT(f.fake->disconnectsSeen(), before + 1, 5000);
        QVERIFY(!failed.wait(300));
        QCOMPARE(done.count(), 0);
    }

    void describesItself()
    {
        Fixture f;
        QCOMPARE(f.embedder->name(), QStringLiteral("BAAI/bge-m3"));
        QCOMPARE(f.embedder->dimensions(), 64);
        QVERIFY(!f.embedder->isBuiltIn());
    }
};

QTEST_GUILESS_MAIN(TestEmbedder)
#include "tst_embedder.moc"
