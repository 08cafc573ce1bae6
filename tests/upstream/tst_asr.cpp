// The OpenAI-compatible transcription client against the in-process fake over real loopback HTTP.
#include "fakeserver.h"
#include "upstream/openaiasrclient.h"

#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QtEndian>
#include <QtTest>
#include <cmath>
#include <optional>
#include <tianyi/wav.h>

using namespace tianyi;
using namespace tianyi::fake;

namespace {

std::unique_ptr<FakeServer> startFake(int latencyMs = 20, const QString &text = QStringLiteral("今天天气怎么样？"))
{
    FakeOptions o;
    o.asrLatencyMs = latencyMs;
    o.asrText = text;
    auto s = std::make_unique<FakeServer>(o);
    registerTranscriptionRoutes(*s);
    if (!s->listen(QHostAddress::LocalHost, 0))
        qFatal("fake upstream cannot listen");
    return s;
}

QByteArray speech(int sampleRate, int ms)
{
    const int n = sampleRate * ms / 1000;
    QByteArray pcm(n * 2, Qt::Uninitialized);
    for (int i = 0; i < n; ++i)
        qToLittleEndian(qint16(std::lround(8000 * std::sin(2 * M_PI * 300.0 * i / sampleRate))), pcm.data() + 2 * i);
    return pcm;
}

struct Result {
    std::optional<QString> text;
    std::optional<UpstreamError> error;
    int signalCount = 0;
    void attach(AsrJob *job)
    {
        QObject::connect(job, &AsrJob::finished, job, [this](const QString &t) { text = t; ++signalCount; });
        QObject::connect(job, &AsrJob::failed, job, [this](const UpstreamError &e) { error = e; ++signalCount; });
    }
    bool done() const { return signalCount > 0; }
};

} // namespace

class TestAsr : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { qRegisterMetaType<UpstreamError>(); }

    void transcribesAndUploadsAValidWav()
    {
        auto fake = startFake();
        AsrSettings s;
        s.baseUrl = fake->baseUrl() + QStringLiteral("/v1");
        s.apiKey = "sk-test-123";
        s.language = QStringLiteral("zh");
        OpenAiAsrClient client(s);
        const QByteArray pcm = speech(16000, 700);
        QObject owner;
        Result r;
        r.attach(client.transcribe(pcm, 16000, QStringLiteral("u1#s1#2"), &owner));
        QTRY_VERIFY(r.done());
        QVERIFY2(r.text.has_value(), r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(*r.text, QStringLiteral("今天天气怎么样？"));
        QCOMPARE(r.signalCount, 1);

        const QJsonObject rec = fake->recorded().last().toObject();
        QCOMPARE(rec.value(QStringLiteral("method")).toString(), QStringLiteral("POST"));
        QCOMPARE(rec.value(QStringLiteral("path")).toString(), QStringLiteral("/v1/audio/transcriptions"));
        const QJsonObject headers = rec.value(QStringLiteral("headers")).toObject();
        QCOMPARE(headers.value(QStringLiteral("authorization")).toString(), QStringLiteral("Bearer sk-test-123"));
        QVERIFY(headers.value(QStringLiteral("content-type")).toString().startsWith(QStringLiteral("multipart/form-data; boundary=")));
        // The file part the fake parsed is a WAV of exactly the PCM sent.
        const QByteArray file = fake->property("fakeAsrLastFile").toByteArray();
        wav::Format fmt;
        QByteArray back;
        QString error;
        QVERIFY2(wav::parseFile(file, &fmt, &back, &error), qPrintable(error));
        QCOMPARE(fmt.sampleRate, 16000);
        QCOMPARE(fmt.channels, 1);
        QCOMPARE(fmt.bitsPerSample, 16);
        QVERIFY(back == pcm);
        QCOMPARE(fake->property("fakeAsrLastContentType").toByteArray(), QByteArray("audio/wav"));
        const QVariantMap fields = fake->property("fakeAsrLastFields").toMap();
        QCOMPARE(fields.value(QStringLiteral("model")).toString(), QStringLiteral("FunAudioLLM/SenseVoiceSmall"));
        QCOMPARE(fields.value(QStringLiteral("language")).toString(), QStringLiteral("zh"));
        QCOMPARE(fields.value(QStringLiteral("response_format")).toString(), QStringLiteral("json"));
    }

    void noKeyNoLanguage()
    {
        auto fake = startFake();
        AsrSettings s;
        s.baseUrl = fake->baseUrl();
        OpenAiAsrClient client(s);
        QObject owner;
        Result r;
        r.attach(client.transcribe(speech(24000, 300), 24000, {}, &owner));
        QTRY_VERIFY(r.done());
        QVERIFY(r.text.has_value());
        const QJsonObject headers = fake->recorded().last().toObject().value(QStringLiteral("headers")).toObject();
        QVERIFY(!headers.contains(QStringLiteral("authorization")));
        QVERIFY(!fake->property("fakeAsrLastFields").toMap().contains(QStringLiteral("language")));
        wav::Format fmt;
        QVERIFY(wav::parseFile(fake->property("fakeAsrLastFile").toByteArray(), &fmt, nullptr));
        QCOMPARE(fmt.sampleRate, 24000);
    }

    void errorsAreClassified_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("401") << QStringLiteral("401") << int(UpstreamErrorKind::Auth) << 401 << QStringLiteral("Incorrect API key");
        QTest::newRow("429") << QStringLiteral("429") << int(UpstreamErrorKind::RateLimited) << 429 << QStringLiteral("Rate limit");
        QTest::newRow("500") << QStringLiteral("500") << int(UpstreamErrorKind::Server) << 500 << QStringLiteral("Internal Server Error");
    }
    void errorsAreClassified()
    {
        QFETCH(QString, fault);
        QFETCH(int, kind);
        QFETCH(int, status);
        QFETCH(QString, messagePart);
        auto fake = startFake();
        AsrSettings s;
        s.baseUrl = fake->baseUrl() + QStringLiteral("/fault/") + fault + QStringLiteral("/v1");
        s.apiKey = "sk-secret-value";
        OpenAiAsrClient client(s);
        QObject owner;
        Result r;
        r.attach(client.transcribe(speech(16000, 200), 16000, {}, &owner));
        QTRY_VERIFY(r.done());
        QVERIFY(r.error.has_value());
        QCOMPARE(int(r.error->kind), kind);
        QCOMPARE(r.error->httpStatus, status);
        QVERIFY2(r.error->message.contains(messagePart), qPrintable(r.error->message));
        QVERIFY(!r.error->message.contains(QStringLiteral("sk-secret-value")));
        if (fault == QLatin1String("429"))
            QCOMPARE(r.error->retryAfterMs, 1000);
    }

    void closedPortTimeoutAndUnconfigured()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        AsrSettings closed;
        closed.baseUrl = QStringLiteral("http://127.0.0.1:%1/v1").arg(probe.serverPort());
        probe.close();
        auto slow = startFake(10000);
        AsrSettings timing;
        timing.baseUrl = slow->baseUrl();
        timing.timeoutMs = 300;
        OpenAiAsrClient a(closed), b(timing), c(AsrSettings{});
        QObject owner;
        Result ra, rb, rc, rd;
        ra.attach(a.transcribe(speech(16000, 100), 16000, {}, &owner));
        rb.attach(b.transcribe(speech(16000, 100), 16000, {}, &owner));
        rc.attach(c.transcribe(speech(16000, 100), 16000, {}, &owner));
        rd.attach(b.transcribe(QByteArray(), 16000, {}, &owner));
        QTRY_VERIFY(ra.done() && rb.done() && rc.done() && rd.done());
        QCOMPARE(int(ra.error->kind), int(UpstreamErrorKind::Network));
        QCOMPARE(int(rb.error->kind), int(UpstreamErrorKind::Timeout));
        QCOMPARE(int(rc.error->kind), int(UpstreamErrorKind::Unavailable));
        QCOMPARE(int(rd.error->kind), int(UpstreamErrorKind::BadRequest));
        QTRY_COMPARE(slow->disconnectsSeen(), 1); // the timed-out request was abandoned, not left open
    }

    void cancelStopsEverything()
    {
        auto fake = startFake(5000);
        AsrSettings s;
        s.baseUrl = fake->baseUrl();
        OpenAiAsrClient client(s);
        QObject owner;
        Result r;
        AsrJob *job = client.transcribe(speech(16000, 200), 16000, {}, &owner);
        r.attach(job);
        QTRY_COMPARE(fake->recordedCount(QStringLiteral("/audio/transcriptions")), 1);
        job->cancel();
        QTRY_COMPARE(fake->disconnectsSeen(), 1);
        QSignalSpy finished(job, &AsrJob::finished);
        QVERIFY(!finished.wait(300));
        QCOMPARE(r.signalCount, 0);
    }
};

QTEST_GUILESS_MAIN(TestAsr)
#include "tst_asr.moc"
