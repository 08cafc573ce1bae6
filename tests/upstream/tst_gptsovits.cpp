// The GPT-SoVITS api_v2 client and backend pool against the in-process fake upstream over real
// loopback HTTP: streaming and whole-file audio, every fault, failover, the circuit breaker, health
// checks, cancellation, the emotion -> reference voice book.
#include "fakeserver.h"
#include "metrics/metrics.h"
#include "upstream/gptsovitspool.h"
#include "upstream/ttsvoicebook.h"

#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>
#include <optional>
#include <tianyi/wav.h>

using namespace tianyi;
using namespace tianyi::fake;

namespace {

std::unique_ptr<FakeServer> startFake(int firstChunkMs = 20, double rtf = 0.1)
{
    FakeOptions o;
    o.ttsFirstChunkMs = firstChunkMs;
    o.ttsRealTimeFactor = rtf;
    auto s = std::make_unique<FakeServer>(o);
    registerGptSovitsRoutes(*s);
    if (!s->listen(QHostAddress::LocalHost, 0))
        qFatal("fake upstream cannot listen");
    return s;
}

TtsSettings settingsFor(const QStringList &urls)
{
    TtsSettings s;
    s.baseUrls = urls;
    s.timeoutMs = 10000;
    s.healthIntervalMs = 3600 * 1000; // no health checks unless a test wants them
    s.breakerRestMs = 3600 * 1000;
    return s;
}

TtsRequest request(const QString &text = QStringLiteral("你好，我是洛天依。今天天气真好！"))
{
    TtsRequest r;
    r.text = text;
    r.textLang = QStringLiteral("zh");
    r.voice.refAudioPath = QStringLiteral("/srv/voices/calm.wav");
    r.voice.promptText = QStringLiteral("今天也要加油哦。");
    r.voice.promptLang = QStringLiteral("zh");
    r.correlationId = QStringLiteral("u1#s1#1");
    return r;
}

int posts(const FakeServer &s)
{
    int n = 0;
    for (const QJsonValue &v : s.recorded())
        n += v.toObject().value(QStringLiteral("method")).toString() == QLatin1String("POST") ? 1 : 0;
    return n;
}

// Everything a job emitted, in order.
struct Collector {
    QStringList events;     // "format", "pcm", "finished", "failed"
    int sampleRate = 0;
    int channels = 0;
    QByteArray pcm;
    QList<qsizetype> chunks;
    std::optional<UpstreamError> error;
    bool finished = false;

    void attach(TtsJob *job)
    {
        QObject::connect(job, &TtsJob::format, job, [this](int rate, int ch) {
            events << QStringLiteral("format");
            sampleRate = rate;
            channels = ch;
        });
        QObject::connect(job, &TtsJob::pcm, job, [this](const QByteArray &s) {
            events << QStringLiteral("pcm");
            pcm += s;
            chunks << s.size();
        });
        QObject::connect(job, &TtsJob::finished, job, [this] {
            events << QStringLiteral("finished");
            finished = true;
        });
        QObject::connect(job, &TtsJob::failed, job, [this](const UpstreamError &e) {
            events << QStringLiteral("failed");
            error = e;
        });
    }
    bool done() const { return finished || error.has_value(); }
    int count(const QString &e) const { return int(events.count(e)); }
};

Labels backendLabel(const QString &url) { return {{QStringLiteral("backend"), url}}; }

} // namespace

class TestGptSovits : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { qRegisterMetaType<UpstreamError>(); }

    void streamingDeliversPcmAsItArrives_data()
    {
        QTest::addColumn<int>("rate");
        QTest::newRow("32000 (v2)") << 32000;
        QTest::newRow("24000 (v3)") << 24000;
        QTest::newRow("48000 (v4)") << 48000;
    }
    void streamingDeliversPcmAsItArrives()
    {
        QFETCH(int, rate);
        auto fake = startFake(20, 0.5);
        GptSovitsPool pool(settingsFor({fake->baseUrl()}), nullptr);
        pool.setExtraHeaders({{"x-fake-sample-rate", QByteArray::number(rate)}});
        QObject owner;
        Collector c;
        c.attach(pool.synthesize(request(), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
        QVERIFY2(c.finished, c.error ? qPrintable(c.error->message) : "");
        QCOMPARE(c.sampleRate, rate); // from the streamed header, not assumed
        QCOMPARE(c.channels, 1);
        QCOMPARE(c.events.first(), QStringLiteral("format"));
        QCOMPARE(c.events.last(), QStringLiteral("finished"));
        QCOMPARE(c.count(QStringLiteral("format")), 1);
        QVERIFY2(c.count(QStringLiteral("pcm")) >= 3, qPrintable(c.events.join(QLatin1Char(','))));
        for (qsizetype size : c.chunks)
            QVERIFY(size % 2 == 0); // the fake writes odd pieces: samples were re-aligned
        // Streamed, not buffered: the first chunk is a small part of the sentence.
        QVERIFY2(c.chunks.first() * 3 < c.pcm.size(), qPrintable(QStringLiteral("%1 of %2").arg(c.chunks.first()).arg(c.pcm.size())));
        // 13 CJK characters at 200 ms each in the fake: 2.6 seconds of audible audio.
        QCOMPARE(wav::durationMs(c.pcm.size(), rate), qint64(2600));
        QVERIFY(!wav::isSilent(c.pcm));
        // What went over the wire is api_v2's request.
        const QJsonObject body = fake->recorded().last().toObject().value(QStringLiteral("body")).toObject();
        QCOMPARE(body.value(QStringLiteral("text_split_method")).toString(), QStringLiteral("cut5"));
        QCOMPARE(body.value(QStringLiteral("streaming_mode")).toBool(), true);
        QCOMPARE(body.value(QStringLiteral("media_type")).toString(), QStringLiteral("wav"));
        QCOMPARE(body.value(QStringLiteral("batch_size")).toInt(), 1);
        QCOMPARE(body.value(QStringLiteral("speed_factor")).toDouble(), 1.0);
        QCOMPARE(body.value(QStringLiteral("ref_audio_path")).toString(), QStringLiteral("/srv/voices/calm.wav"));
        QCOMPARE(body.value(QStringLiteral("prompt_text")).toString(), QStringLiteral("今天也要加油哦。"));
        QCOMPARE(body.value(QStringLiteral("prompt_lang")).toString(), QStringLiteral("zh"));
        QCOMPARE(body.value(QStringLiteral("text_lang")).toString(), QStringLiteral("zh"));
    }

    void wholeFileMode()
    {
        auto fake = startFake();
        TtsSettings s = settingsFor({fake->baseUrl()});
        s.streaming = false;
        GptSovitsPool pool(s, nullptr);
        QObject owner;
        Collector c;
        c.attach(pool.synthesize(request(QStringLiteral("Hello there, I am Tianyi.")), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
        QVERIFY2(c.finished, c.error ? qPrintable(c.error->message) : "");
        QCOMPARE(c.sampleRate, 32000);
        QCOMPARE(c.events.first(), QStringLiteral("format"));
        QVERIFY(c.pcm.size() > 0 && c.pcm.size() % 2 == 0);
        QVERIFY(!wav::isSilent(c.pcm));
        QCOMPARE(fake->recorded().last().toObject().value(QStringLiteral("body")).toObject().value(QStringLiteral("streaming_mode")).toBool(), false);
    }

    void drippedStreamReassemblesExactly_data()
    {
        QTest::addColumn<bool>("streaming");
        QTest::newRow("streaming") << true;
        QTest::newRow("whole file") << false;
    }
    void drippedStreamReassemblesExactly()
    {
        // The same text, once normally and once in tiny odd pieces (header split too): same samples.
        QFETCH(bool, streaming);
        auto fake = startFake(0, 0.0);
        const QString text = QStringLiteral("Hi!");
        TtsSettings s = settingsFor({fake->baseUrl()});
        s.streaming = streaming;
        QObject owner;
        Collector normal, dripped;
        GptSovitsPool plain(s, nullptr);
        normal.attach(plain.synthesize(request(text), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(normal.done(), 20000);
        s.baseUrls = {fake->baseUrl() + QStringLiteral("/fault/drip")};
        GptSovitsPool drip(s, nullptr);
        drip.setExtraHeaders({{"x-fake-drip-bytes", "37"}, {"x-fake-drip-ms", "0"}});
        dripped.attach(drip.synthesize(request(text), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(dripped.done(), 30000);
        QVERIFY(normal.finished);
        QVERIFY2(dripped.finished, dripped.error ? qPrintable(dripped.error->message) : "");
        QCOMPARE(dripped.sampleRate, 32000);
        QCOMPARE(dripped.pcm.size(), normal.pcm.size());
        QVERIFY(dripped.pcm == normal.pcm);
    }

    void faultsAreClassified_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::addColumn<bool>("streaming");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("messagePart");
        for (bool streaming : {true, false}) {
            const char *mode = streaming ? "streaming" : "whole";
            QTest::addRow("400 tts failed, %s", mode) << QStringLiteral("400") << streaming << int(UpstreamErrorKind::BadRequest) << 400
                                                      << QStringLiteral("tts failed: fake: CUDA out of memory");
            QTest::addRow("422, %s", mode) << QStringLiteral("422") << streaming << int(UpstreamErrorKind::BadRequest) << 422
                                           << QStringLiteral("body.text: Field required");
            QTest::addRow("500 plain text, %s", mode) << QStringLiteral("500") << streaming << int(UpstreamErrorKind::Server) << 500
                                                      << QStringLiteral("Internal Server Error");
            QTest::addRow("silent, %s", mode) << QStringLiteral("silent") << streaming << int(UpstreamErrorKind::Malformed) << 200
                                              << QStringLiteral("silent audio (1000 ms at 16000 Hz)");
            QTest::addRow("cut, %s", mode) << QStringLiteral("cut") << streaming << int(UpstreamErrorKind::Network) << 200
                                           << QStringLiteral("cut");
            QTest::addRow("stall, %s", mode) << QStringLiteral("stall") << streaming << int(UpstreamErrorKind::Timeout) << 0
                                             << QStringLiteral("within 700 ms");
        }
    }
    void faultsAreClassified()
    {
        QFETCH(QString, fault);
        QFETCH(bool, streaming);
        QFETCH(int, kind);
        QFETCH(int, status);
        QFETCH(QString, messagePart);
        auto fake = startFake(10, 0.05);
        TtsSettings s = settingsFor({fake->baseUrl() + QStringLiteral("/fault/") + fault});
        s.streaming = streaming;
        s.timeoutMs = 700;
        Metrics metrics;
        GptSovitsPool pool(s, &metrics);
        if (fault == QLatin1String("silent"))
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("returned silent audio .*GPT-SoVITS answers a failed inference")));
        QObject owner;
        Collector c;
        c.attach(pool.synthesize(request(), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
        QVERIFY2(c.error.has_value(), "a fault must not count as success");
        QCOMPARE(int(c.error->kind), kind);
        QCOMPARE(c.error->httpStatus, status);
        QVERIFY2(c.error->message.contains(messagePart), qPrintable(c.error->message));
        QCOMPARE(c.events.last(), QStringLiteral("failed"));
        QCOMPARE(c.count(QStringLiteral("failed")), 1);
        if (fault == QLatin1String("silent"))
            QCOMPARE(c.count(QStringLiteral("pcm")), 0); // nothing silent was handed on
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_requests_total"),
                               {{QStringLiteral("backend"), pool.backendUrl(0)}, {QStringLiteral("outcome"), UpstreamError::kindName(c.error->kind)}}),
                 1.0);
    }

    void refusedParametersAreBadRequests()
    {
        auto fake = startFake();
        GptSovitsPool pool(settingsFor({fake->baseUrl()}), nullptr);
        QObject owner;
        TtsRequest noRef = request();
        noRef.voice.refAudioPath.clear();
        TtsRequest badLang = request();
        badLang.textLang = QStringLiteral("klingon");
        Collector a, b;
        a.attach(pool.synthesize(noRef, &owner));
        b.attach(pool.synthesize(badLang, &owner));
        QTRY_VERIFY(a.done() && b.done());
        QCOMPARE(int(a.error->kind), int(UpstreamErrorKind::BadRequest));
        QVERIFY2(a.error->message.contains(QStringLiteral("ref_audio_path is required")), qPrintable(a.error->message));
        QCOMPARE(int(b.error->kind), int(UpstreamErrorKind::BadRequest));
        QVERIFY2(b.error->message.contains(QStringLiteral("text_lang: klingon is not supported")), qPrintable(b.error->message));
        QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Closed); // our fault, not the backend's
    }

    void closedPortIsNetwork()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 port = probe.serverPort();
        probe.close();
        GptSovitsPool pool(settingsFor({QStringLiteral("http://127.0.0.1:%1").arg(port)}), nullptr);
        QObject owner;
        Collector c;
        c.attach(pool.synthesize(request(), &owner));
        QTRY_VERIFY(c.done());
        QVERIFY(c.error.has_value());
        QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::Network));
        QCOMPARE(c.error->httpStatus, 0);
    }

    void twoBackendsRunTwoJobsWhileTheThirdWaits()
    {
        auto fake1 = startFake(30, 0.3);
        auto fake2 = startFake(30, 0.3);
        Metrics metrics;
        GptSovitsPool pool(settingsFor({fake1->baseUrl(), fake2->baseUrl()}), &metrics);
        QCOMPARE(pool.capacity(), 2);
        QStringList order;
        connect(fake1.get(), &FakeServer::requestRecorded, this, [&order] { order << QStringLiteral("request"); });
        connect(fake2.get(), &FakeServer::requestRecorded, this, [&order] { order << QStringLiteral("request"); });
        QObject owner;
        Collector c[3];
        for (int i = 0; i < 3; ++i) {
            TtsJob *job = pool.synthesize(request(), &owner);
            c[i].attach(job);
            connect(job, &TtsJob::finished, this, [&order] { order << QStringLiteral("done"); });
        }
        QCOMPARE(pool.backendInFlight(0), 1);
        QCOMPARE(pool.backendInFlight(1), 1);
        QCOMPARE(pool.queueDepth(), 1);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_queue_depth")), 1.0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_in_flight"), backendLabel(pool.backendUrl(0))), 1.0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_in_flight"), backendLabel(pool.backendUrl(1))), 1.0);
        QTRY_VERIFY_WITH_TIMEOUT(c[0].done() && c[1].done() && c[2].done(), 30000);
        for (const Collector &x : c)
            QVERIFY(x.finished);
        QVERIFY(posts(*fake1) >= 1 && posts(*fake2) >= 1); // the first two went to different backends
        QCOMPARE(posts(*fake1) + posts(*fake2), 3);
        // The third request reached a backend only after one of the first two finished.
        QCOMPARE(order.mid(0, 3), (QStringList{QStringLiteral("request"), QStringLiteral("request"), QStringLiteral("done")}));
        QCOMPARE(order.count(QStringLiteral("request")), 3);
        QCOMPARE(pool.queueDepth(), 0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_queue_depth")), 0.0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_first_chunk_seconds"), backendLabel(pool.backendUrl(0)))
                     + metrics.value(QStringLiteral("tianyi_tts_first_chunk_seconds"), backendLabel(pool.backendUrl(1))),
                 3.0); // histogram sample counts
    }

    void failoverBeforeAnyAudio()
    {
        auto fake1 = startFake();
        auto fake2 = startFake();
        Metrics metrics;
        GptSovitsPool pool(settingsFor({fake1->baseUrl() + QStringLiteral("/fault/500"), fake2->baseUrl()}), &metrics);
        QObject owner;
        Collector c;
        c.attach(pool.synthesize(request(), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
        QVERIFY2(c.finished, c.error ? qPrintable(c.error->message) : "");
        QVERIFY(!wav::isSilent(c.pcm));
        QCOMPARE(posts(*fake1), 1);
        QCOMPARE(posts(*fake2), 1);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_failovers_total")), 1.0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_requests_total"),
                               {{QStringLiteral("backend"), pool.backendUrl(0)}, {QStringLiteral("outcome"), QStringLiteral("server")}}),
                 1.0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_requests_total"),
                               {{QStringLiteral("backend"), pool.backendUrl(1)}, {QStringLiteral("outcome"), QStringLiteral("ok")}}),
                 1.0);
    }

    void noFailoverForRefusedRequestsOrAfterAudio()
    {
        auto fake1 = startFake(10, 0.05);
        auto fake2 = startFake(10, 0.05);
        QObject owner;
        {   // 422: every backend would refuse it
            GptSovitsPool pool(settingsFor({fake1->baseUrl() + QStringLiteral("/fault/422"), fake2->baseUrl() + QStringLiteral("/fault/422")}), nullptr);
            Collector c;
            c.attach(pool.synthesize(request(), &owner));
            QTRY_VERIFY(c.done());
            QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::BadRequest));
            QCOMPARE(posts(*fake1) + posts(*fake2), 1);
        }
        fake1->clearRecorded();
        fake2->clearRecorded();
        {   // cut after audio was heard: the caller decides, we do not start the sentence again
            GptSovitsPool pool(settingsFor({fake1->baseUrl() + QStringLiteral("/fault/cut"), fake2->baseUrl() + QStringLiteral("/fault/cut")}), nullptr);
            Collector c;
            c.attach(pool.synthesize(request(), &owner));
            QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
            QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::Network));
            QVERIFY(c.count(QStringLiteral("pcm")) > 0);
            QCOMPARE(posts(*fake1) + posts(*fake2), 1);
        }
    }

    void circuitBreakerRestsAFailingBackend()
    {
        auto fake1 = startFake(5, 0.02);
        auto fake2 = startFake(5, 0.02);
        TtsSettings s = settingsFor({fake1->baseUrl() + QStringLiteral("/fault/500"), fake2->baseUrl()});
        s.breakerFailures = 2;
        Metrics metrics;
        GptSovitsPool pool(s, &metrics);
        QSignalSpy stateSpy(&pool, &GptSovitsPool::backendStateChanged);
        QObject owner;
        for (int i = 0; i < 6; ++i) {
            Collector c;
            c.attach(pool.synthesize(request(QStringLiteral("你好。")), &owner));
            QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
            QVERIFY2(c.finished, c.error ? qPrintable(c.error->message) : ""); // failover hides backend 1's failures
        }
        QCOMPARE(posts(*fake1), 2); // opened after 2 failures, then never tried while resting
        QCOMPARE(posts(*fake2), 6);
        QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Open);
        QCOMPARE(pool.backendState(1), GptSovitsPool::BreakerState::Closed);
        QCOMPARE(stateSpy.count(), 1);
        const QString b1 = pool.backendUrl(0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_state"), {{QStringLiteral("backend"), b1}, {QStringLiteral("state"), QStringLiteral("open")}}), 1.0);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_state"), {{QStringLiteral("backend"), b1}, {QStringLiteral("state"), QStringLiteral("closed")}}), 0.0);
        QVERIFY(metrics.render().contains("tianyi_tts_backend_state{backend=\"" + b1.toUtf8() + "\",state=\"open\"} 1"));
    }

    void restedBackendGetsOneTrial()
    {
        auto fake = startFake(5, 0.02);
        TtsSettings s = settingsFor({fake->baseUrl() + QStringLiteral("/fault/500")});
        s.breakerFailures = 2;
        s.breakerRestMs = 300;
        Metrics metrics;
        GptSovitsPool pool(s, &metrics);
        QObject owner;
        for (int i = 0; i < 2; ++i) {
            Collector c;
            c.attach(pool.synthesize(request(), &owner));
            QTRY_VERIFY(c.done());
            QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::Server));
        }
        QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Open);
        {   // resting: refused at once, nothing sent
            Collector c;
            c.attach(pool.synthesize(request(), &owner));
            QTRY_VERIFY(c.done());
            QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::Unavailable));
            QCOMPARE(posts(*fake), 2);
        }
        QTRY_COMPARE(pool.backendState(0), GptSovitsPool::BreakerState::HalfOpen);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_state"),
                               {{QStringLiteral("backend"), pool.backendUrl(0)}, {QStringLiteral("state"), QStringLiteral("half_open")}}),
                 1.0);
        {   // one trial; it fails, so the backend rests again
            Collector c;
            c.attach(pool.synthesize(request(), &owner));
            QCOMPARE(pool.backendInFlight(0), 1);
            QTRY_VERIFY(c.done());
            QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::Server));
            QCOMPARE(posts(*fake), 3);
            QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Open);
        }
    }

    void halfOpenTrialSuccessClosesTheBreaker()
    {
        auto fake = startFake(5, 0.02);
        TtsSettings s = settingsFor({fake->baseUrl()});
        s.breakerFailures = 1;
        s.breakerRestMs = 200;
        GptSovitsPool pool(s, nullptr);
        QObject owner;
        {   // one inference failure ("tts failed" is the backend's) opens it
            pool.setExtraHeaders({{"x-fake-fault", "400"}});
            Collector c;
            c.attach(pool.synthesize(request(), &owner));
            QTRY_VERIFY(c.done());
            QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Open);
        }
        pool.setExtraHeaders({});
        QTRY_COMPARE(pool.backendState(0), GptSovitsPool::BreakerState::HalfOpen);
        Collector trial, waiting;
        trial.attach(pool.synthesize(request(), &owner));
        waiting.attach(pool.synthesize(request(), &owner)); // only one trial at a time
        QCOMPARE(pool.backendInFlight(0), 1);
        QCOMPARE(pool.queueDepth(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(trial.done() && waiting.done(), 20000);
        QVERIFY(trial.finished && waiting.finished);
        QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Closed);
    }

    void cancelAbortsTheRequest()
    {
        auto fake = startFake(10, 1.0); // real-time pace: the sentence takes seconds
        Metrics metrics;
        GptSovitsPool pool(settingsFor({fake->baseUrl()}), &metrics);
        QObject owner;
        Collector c;
        TtsJob *job = pool.synthesize(request(), &owner);
        c.attach(job);
        QTRY_VERIFY(c.count(QStringLiteral("pcm")) >= 1);
        const QStringList before = c.events;
        QSignalSpy gone(fake.get(), &FakeServer::clientClosedEarly);
        job->cancel();
        QCOMPARE(pool.backendInFlight(0), 0);
        QVERIFY(gone.count() == 1 || gone.wait(5000)); // the fake saw the connection close
        QCOMPARE(fake->disconnectsSeen(), 1);
        QSignalSpy finished(job, &TtsJob::finished);
        QVERIFY(!finished.wait(400));
        QCOMPARE(c.events, before); // nothing after cancel
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_requests_total"),
                               {{QStringLiteral("backend"), pool.backendUrl(0)}, {QStringLiteral("outcome"), QStringLiteral("cancelled")}}),
                 1.0);
    }

    void cancelQueuedJobAndDeleteRunningJob()
    {
        auto fake = startFake(10, 1.0);
        GptSovitsPool pool(settingsFor({fake->baseUrl()}), nullptr);
        QObject owner;
        Collector first, second;
        TtsJob *running = pool.synthesize(request(), &owner);
        TtsJob *queued = pool.synthesize(request(), &owner);
        first.attach(running);
        second.attach(queued);
        QCOMPARE(pool.queueDepth(), 1);
        queued->cancel();
        QCOMPARE(pool.queueDepth(), 0);
        QTRY_COMPARE(posts(*fake), 1);
        QSignalSpy gone(fake.get(), &FakeServer::clientClosedEarly);
        delete running; // the owner dropping a job cancels it
        QCOMPARE(pool.backendInFlight(0), 0);
        QVERIFY(gone.count() == 1 || gone.wait(5000));
        QSignalSpy recorded(fake.get(), &FakeServer::requestRecorded);
        QVERIFY(!recorded.wait(300)); // the cancelled queued job is never sent
        QVERIFY(second.events.isEmpty());
        QCOMPARE(posts(*fake), 1);
    }

    void healthChecks()
    {
        auto fake = startFake();
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const QString closed = QStringLiteral("http://127.0.0.1:%1").arg(probe.serverPort());
        probe.close();
        TtsSettings s = settingsFor({fake->baseUrl(), closed});
        s.healthIntervalMs = 100;
        Metrics metrics;
        GptSovitsPool pool(s, &metrics);
        // The dead one is rested without a single user sentence sent to it.
        QTRY_COMPARE(pool.backendState(1), GptSovitsPool::BreakerState::Open);
        QVERIFY(!pool.backendUp(1));
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_up"), backendLabel(closed)), 0.0);
        // The live one answered its probe (GET /tts with no parameters: api_v2's plain-text 500).
        QTRY_VERIFY(fake->recordedCount(QStringLiteral("/tts")) >= 1);
        const QJsonObject probeRecord = fake->recorded().first().toObject();
        QCOMPARE(probeRecord.value(QStringLiteral("method")).toString(), QStringLiteral("GET"));
        QVERIFY(pool.backendUp(0));
        QCOMPARE(pool.backendState(0), GptSovitsPool::BreakerState::Closed);
        QCOMPARE(metrics.value(QStringLiteral("tianyi_tts_backend_up"), backendLabel(pool.backendUrl(0))), 1.0);
        // Work goes to the live backend only.
        QObject owner;
        Collector c;
        c.attach(pool.synthesize(request(), &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
        QVERIFY(c.finished);
    }

    void queueCapRefusesMore()
    {
        auto fake = startFake(10, 1.0);
        GptSovitsPool pool(settingsFor({fake->baseUrl()}), nullptr);
        pool.setMaxQueued(1);
        QObject owner;
        Collector a, b, c;
        a.attach(pool.synthesize(request(), &owner));
        b.attach(pool.synthesize(request(), &owner));
        c.attach(pool.synthesize(request(), &owner));
        QTRY_VERIFY(c.done());
        QCOMPARE(int(c.error->kind), int(UpstreamErrorKind::Unavailable));
        QVERIFY(c.error->message.contains(QStringLiteral("queue is full")));
        QVERIFY(!a.done() && !b.done());
    }

    void voiceBookPicksTheReferenceVoice()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("voices.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"default": {"ref_audio_path": "/v/calm.wav", "prompt_text": "平静。", "prompt_lang": "zh"},
                    "happy": {"ref_audio_path": "/v/happy.wav", "prompt_text": "开心！", "prompt_lang": "zh", "espeak_rate": 190}})");
        f.close();
        QString error;
        auto book = TtsVoiceBook::loadFile(path, &error);
        QVERIFY2(book.has_value(), qPrintable(error));
        QCOMPARE(book->voiceFor(QStringLiteral("happy")).refAudioPath, QStringLiteral("/v/happy.wav"));
        QCOMPARE(book->voiceFor(QStringLiteral("happy")).espeakRate, 190);
        QCOMPARE(book->voiceFor(QStringLiteral("bored")).refAudioPath, QStringLiteral("/v/calm.wav"));

        auto fake = startFake();
        GptSovitsPool pool(settingsFor({fake->baseUrl()}), nullptr);
        pool.setVoiceBook(book);
        QObject owner;
        TtsRequest r = request();
        r.voice = TtsVoice();
        r.emotion = QStringLiteral("happy");
        Collector c;
        c.attach(pool.synthesize(r, &owner));
        QTRY_VERIFY_WITH_TIMEOUT(c.done(), 20000);
        QVERIFY(c.finished);
        const QJsonObject body = fake->recorded().last().toObject().value(QStringLiteral("body")).toObject();
        QCOMPARE(body.value(QStringLiteral("ref_audio_path")).toString(), QStringLiteral("/v/happy.wav"));
        QCOMPARE(body.value(QStringLiteral("prompt_text")).toString(), QStringLiteral("开心！"));
    }

    void voiceBookErrorsNameFileAndEmotion_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << QByteArray("{oops") << QStringLiteral("not valid JSON");
        QTest::newRow("no default") << QByteArray(R"({"happy": {"ref_audio_path": "/a.wav"}})") << QStringLiteral("\"default\"");
        QTest::newRow("missing path") << QByteArray(R"({"default": {"ref_audio_path": "/a.wav"}, "sad": {"prompt_text": "x"}})")
                                      << QStringLiteral("emotion \"sad\": ref_audio_path");
        QTest::newRow("bad lang") << QByteArray(R"({"default": {"ref_audio_path": "/a.wav", "prompt_lang": "xx"}})")
                                  << QStringLiteral("emotion \"default\": prompt_lang");
        QTest::newRow("typo") << QByteArray(R"({"default": {"ref_audio_path": "/a.wav", "promt_text": "x"}})")
                              << QStringLiteral("unknown field \"promt_text\"");
        QTest::newRow("pitch") << QByteArray(R"({"default": {"ref_audio_path": "/a.wav", "espeak_pitch": 200}})")
                               << QStringLiteral("espeak_pitch");
    }
    void voiceBookErrorsNameFileAndEmotion()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("voices.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json);
        f.close();
        QString error;
        QVERIFY(!TtsVoiceBook::loadFile(path, &error).has_value());
        QVERIFY2(error.contains(path), qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
        QVERIFY(!TtsVoiceBook::loadFile(dir.filePath(QStringLiteral("missing.json")), &error).has_value());
        QVERIFY(error.contains(QStringLiteral("missing.json")));
        // With GPT-SoVITS configured, a voices file is required; without, the built-in book serves.
        TtsSettings s;
        s.baseUrls = {QStringLiteral("http://127.0.0.1:9880")};
        QVERIFY(!TtsVoiceBook::fromSettings(s, &error).has_value());
        QVERIFY(error.contains(QStringLiteral("tts.voices_file")));
        s.baseUrls.clear();
        QVERIFY(TtsVoiceBook::fromSettings(s, &error).has_value());
    }
};

QTEST_GUILESS_MAIN(TestGptSovits)
#include "tst_gptsovits.moc"
