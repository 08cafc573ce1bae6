// The FunASR streaming client against the in-process fake FunASR over real loopback WebSockets
// (ws:// and wss:// with a certificate made by openssl at test time).
#include "core/workerpool.h"
#include "fakefunasr.h"
#include "metrics/metrics.h"
#include "speechaudio.h"
#include "upstream/funasrclient.h"
#include "upstream/funasrtranscript.h"
#include "upstream/providers.h"

#include <QJsonArray>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>
#include <cmath>
#include <optional>

using namespace tianyi;
using namespace tianyi::fake;

namespace {

constexpr int kRate = 16000;

// A steady 300 Hz tone: voiced for the fake's energy measure (RMS about 5700).
QByteArray tone(int ms, int amplitude = 8000, int rate = kRate)
{
    const int n = rate * ms / 1000;
    QByteArray pcm(n * 2, Qt::Uninitialized);
    for (int i = 0; i < n; ++i)
        qToLittleEndian(qint16(std::lround(amplitude * std::sin(2 * M_PI * 300.0 * i / rate))), pcm.data() + 2 * i);
    return pcm;
}

QByteArray silence(int ms, int rate = kRate)
{
    return QByteArray(rate * ms / 1000 * 2, '\0');
}

// Every signal of a stream, in order.
struct Recorder {
    QStringList partials;
    std::optional<QString> finalText;
    std::optional<UpstreamError> error;
    QStringList order; // "partial", "final", "failed"
    void attach(AsrStream *s)
    {
        QObject::connect(s, &AsrStream::partialTranscript, s, [this](const QString &t) { partials << t; order << QStringLiteral("partial"); });
        QObject::connect(s, &AsrStream::finalTranscript, s, [this](const QString &t) { finalText = t; order << QStringLiteral("final"); });
        QObject::connect(s, &AsrStream::failed, s, [this](const UpstreamError &e) { error = e; order << QStringLiteral("failed"); });
    }
    bool ended() const { return finalText || error; }
    int endings() const { return int(order.count(QStringLiteral("final")) + order.count(QStringLiteral("failed"))); }
};

std::unique_ptr<FakeFunAsrServer> startFake(FakeFunAsrOptions o = {}, std::unique_ptr<QSslConfiguration> tls = {})
{
    auto s = std::make_unique<FakeFunAsrServer>(std::move(o), std::move(tls));
    if (!s->listen(QHostAddress::LocalHost, 0))
        qFatal("fake FunASR cannot listen");
    return s;
}

FunAsrEndpoint endpoint(const QString &url, int timeoutMs = 10000)
{
    FunAsrEndpoint e;
    e.url = QUrl(url);
    e.timeoutMs = timeoutMs;
    return e;
}

} // namespace

class TestFunAsr : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { qRegisterMetaType<UpstreamError>(); }

    void partialsThenFinalAndTheWireIsFunAsrs()
    {
        FakeFunAsrOptions o;
        o.texts = {QStringLiteral("今天天气怎么样？")};
        auto fake = startFake(o);
        QObject owner;
        auto *stream = new FunAsrStream(endpoint(fake->url()), kRate, QStringLiteral("u1#s1#1"), &owner);
        Recorder r;
        r.attach(stream);
        // Audio fed before the connection is up is kept, then sent in order.
        const QByteArray early = tone(900);
        stream->feed(early.left(1001)); // odd sizes: the stream re-chunks
        stream->feed(early.mid(1001));
        QTRY_COMPARE(fake->connectionCount(), 1);
        QTRY_VERIFY(!fake->sessions().first().config.isEmpty());
        const QByteArray late = tone(1500);
        for (int i = 0; i < late.size(); i += 3200)
            stream->feed(late.mid(i, 3200));
        QTRY_VERIFY(!r.partials.isEmpty()); // partials while the user still speaks
        stream->finish();
        QTRY_VERIFY(r.ended());

        QVERIFY2(r.finalText.has_value(), r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(*r.finalText, QStringLiteral("今天天气怎么样？"));
        // Pieces append: each partial is the whole text so far and grows; the offline result
        // (with punctuation) replaced them.
        QCOMPARE(r.partials.first(), QStringLiteral("今天"));
        for (int i = 1; i < r.partials.size(); ++i)
            QVERIFY2(r.partials[i].startsWith(r.partials[i - 1]), qPrintable(r.partials.join(QLatin1Char('|'))));
        QCOMPARE(r.partials.last(), QStringLiteral("今天天气怎么样"));
        QCOMPARE(r.order.last(), QStringLiteral("final"));
        QCOMPARE(r.endings(), 1);

        QTRY_VERIFY(fake->sessions().first().closed); // one connection per utterance, closed by us
        const FakeFunAsrSession s = fake->sessions().first();
        QVERIFY2(s.protocolError.isEmpty(), qPrintable(s.protocolError));
        QVERIFY(s.closedByClient);
        QCOMPARE(s.config.value(QStringLiteral("mode")).toString(), QStringLiteral("2pass"));
        QCOMPARE(s.config.value(QStringLiteral("chunk_size")).toArray(), (QJsonArray{5, 10, 5}));
        QCOMPARE(s.config.value(QStringLiteral("chunk_interval")).toInt(), 10);
        QCOMPARE(s.config.value(QStringLiteral("audio_fs")).toInt(), kRate);
        QCOMPARE(s.config.value(QStringLiteral("wav_format")).toString(), QStringLiteral("pcm"));
        QCOMPARE(s.config.value(QStringLiteral("is_speaking")).toBool(), true);
        QCOMPARE(s.config.value(QStringLiteral("itn")).toBool(), true);
        QVERIFY(s.endReceived);
        QVERIFY(s.pcm == early + late); // intact and in order
        // 60 ms messages (1920 bytes at 16 kHz), the last one the remainder.
        QCOMPARE(s.binaryMessages, int((early.size() + late.size() + 1919) / 1920));
    }

    // FunASR's own VAD cut the stream: several offline segments, the final text is their join. Live,
    // the first segment arrives while the user speaks; for push-to-talk everything arrives after the end.
    void offlineSegmentsJoin_data()
    {
        QTest::addColumn<bool>("live");
        QTest::newRow("live") << true;
        QTest::newRow("all at once") << false;
    }
    void offlineSegmentsJoin()
    {
        QFETCH(bool, live);
        FakeFunAsrOptions o;
        o.texts = {QStringLiteral("今天天气怎么样？我想出去玩。")};
        auto fake = startFake(o);
        QObject owner;
        auto *stream = new FunAsrStream(endpoint(fake->url() + QStringLiteral("/fault/segments")), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        const QByteArray audio = tone(3600);
        if (live) {
            stream->feed(audio.left(audio.size() / 2));
            QTRY_VERIFY(r.partials.contains(QStringLiteral("今天天气怎么样？")));
            stream->feed(audio.mid(audio.size() / 2));
        } else {
            stream->feed(audio);
        }
        stream->finish();
        QTRY_VERIFY(r.ended());
        QVERIFY2(r.finalText.has_value(), r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(*r.finalText, QStringLiteral("今天天气怎么样？我想出去玩。"));
        // The mid-stream offline segment replaced its pieces, and the next segment's pieces follow it.
        QVERIFY2(r.partials.contains(QStringLiteral("今天天气怎么样？")), qPrintable(r.partials.join(QLatin1Char('|'))));
        QVERIFY2(r.partials.contains(QStringLiteral("今天天气怎么样？我想")), qPrintable(r.partials.join(QLatin1Char('|'))));
    }

    void coughAndNoiseGiveAnEmptyFinal_data()
    {
        QTest::addColumn<QByteArray>("audio");
        QTest::addColumn<QString>("quirk");
        QTest::newRow("cough") << (tone(200) + silence(1000)) << QString();
        QTest::newRow("quiet noise") << tone(2000, 200) << QString();
        QTest::newRow("cough, python server") << (tone(200) + silence(1000)) << QStringLiteral("python");
        QTest::newRow("cough, no is_final") << (tone(200) + silence(1000)) << QStringLiteral("no-final-flag");
    }
    void coughAndNoiseGiveAnEmptyFinal()
    {
        QFETCH(QByteArray, audio);
        QFETCH(QString, quirk);
        auto fake = startFake();
        QObject owner;
        const QString url = fake->url() + (quirk.isEmpty() ? QString() : QStringLiteral("/fault/") + quirk);
        auto *stream = new FunAsrStream(endpoint(url), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        stream->feed(audio);
        stream->finish();
        QTRY_VERIFY(r.ended());
        QVERIFY2(r.finalText.has_value(), r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(*r.finalText, QString());
        QVERIFY(r.partials.isEmpty());
    }

    // Real microphone-like audio (espeak-ng speech, a cough, quiet noise) through the client and the
    // fake's own voice measure: speech gives words, a cough and quiet noise give an empty final.
    void realSpeechCoughAndNoise_data()
    {
        namespace sa = tianyi::test::speechaudio;
        QTest::addColumn<QByteArray>("audio");
        QTest::addColumn<QString>("expected");
        QString error;
        const QByteArray speech = sa::speech(QStringLiteral("你好天依，今天我们聊什么？"), &error);
        // espeak-ng is a test dependency (packaging/install-deps.sh test): its absence is a failure.
        QVERIFY2(!speech.isEmpty(), qPrintable(QStringLiteral("no espeak-ng speech: %1").arg(error)));
        QTest::newRow("speech") << sa::concat({sa::silence(300), speech, sa::silence(600)}) << QStringLiteral("你好天依，今天我们聊什么？");
        QTest::newRow("cough") << sa::concat({sa::silence(300), sa::coughBurst(200, -15.0), sa::silence(600)}) << QString();
        QTest::newRow("quiet noise") << sa::whiteNoise(2000, -50.0) << QString();
    }
    void realSpeechCoughAndNoise()
    {
        QFETCH(QByteArray, audio);
        QFETCH(QString, expected);
        FakeFunAsrOptions o;
        o.texts = {QStringLiteral("你好天依，今天我们聊什么？")};
        auto fake = startFake(o);
        QObject owner;
        auto *stream = new FunAsrStream(endpoint(fake->url()), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        for (int i = 0; i < audio.size(); i += 640) // 20 ms frames, as a microphone delivers them
            stream->feed(audio.mid(i, 640));
        stream->finish();
        QTRY_VERIFY(r.ended());
        QVERIFY2(r.finalText.has_value(), r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(*r.finalText, expected);
        QCOMPARE(r.partials.isEmpty(), expected.isEmpty());
        QTRY_VERIFY(fake->sessions().first().closed);
        QVERIFY(fake->sessions().first().pcm == audio);
    }

    // is_final is not reliable: the C++ runtime sets it on the last answer only, the Python demo
    // mirrors is_speaking (true on every piece, false on the last answer), forks never set it.
    void isFinalQuirksAndExtraFields_data()
    {
        QTest::addColumn<QString>("quirk");
        QTest::newRow("c++ runtime") << QString();
        QTest::newRow("python demo") << QStringLiteral("python");
        QTest::newRow("never final") << QStringLiteral("no-final-flag");
        QTest::newRow("timestamps") << QStringLiteral("extras");
        QTest::newRow("python + segments") << QStringLiteral("python,segments");
    }
    void isFinalQuirksAndExtraFields()
    {
        QFETCH(QString, quirk);
        FakeFunAsrOptions o;
        o.texts = {QStringLiteral("我想听普通DISCO。")};
        o.finalLatencyMs = 50;
        auto fake = startFake(o);
        QObject owner;
        const QString url = fake->url() + (quirk.isEmpty() ? QString() : QStringLiteral("/fault/") + quirk);
        auto *stream = new FunAsrStream(endpoint(url), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        stream->feed(tone(3000));
        QTRY_VERIFY(r.partials.size() >= 2); // pieces seen (with python: each with is_final true) ...
        QVERIFY(!r.ended());                 // ... do not end the utterance before its end was sent
        stream->finish();
        QTRY_VERIFY(r.ended());
        QVERIFY2(r.finalText.has_value(), r.error ? qPrintable(r.error->message) : "");
        QCOMPARE(*r.finalText, QStringLiteral("我想听普通DISCO。"));
        QCOMPARE(r.endings(), 1);
    }

    void faultsAreClassifiedAndNothingFollows_data()
    {
        QTest::addColumn<QString>("fault");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("close") << QStringLiteral("close") << int(UpstreamErrorKind::Server) << QStringLiteral("closed the connection");
        QTest::newRow("reset") << QStringLiteral("reset") << int(UpstreamErrorKind::Network) << QStringLiteral("connection lost");
        QTest::newRow("malformed") << QStringLiteral("malformed") << int(UpstreamErrorKind::Malformed) << QStringLiteral("not a result object");
        QTest::newRow("huge") << QStringLiteral("huge") << int(UpstreamErrorKind::Malformed) << QStringLiteral("larger than");
        QTest::newRow("flood") << QStringLiteral("flood") << int(UpstreamErrorKind::Malformed) << QStringLiteral("longer than");
        QTest::newRow("stall") << QStringLiteral("stall") << int(UpstreamErrorKind::Timeout) << QStringLiteral("no final transcript");
    }
    void faultsAreClassifiedAndNothingFollows()
    {
        QFETCH(QString, fault);
        QFETCH(int, kind);
        QFETCH(QString, messagePart);
        auto fake = startFake();
        QObject owner;
        auto *stream = new FunAsrStream(endpoint(fake->url() + QStringLiteral("/fault/") + fault, 400), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        stream->feed(tone(1500));
        if (fault == QLatin1String("stall"))
            stream->finish();
        QTRY_VERIFY(r.error.has_value());
        QCOMPARE(int(r.error->kind), kind);
        QVERIFY2(r.error->message.contains(messagePart), qPrintable(r.error->message));
        QVERIFY2(r.error->message.contains(fake->url()), qPrintable(r.error->message));
        QTRY_VERIFY(fake->sessions().first().closed);
        QCOMPARE(r.order.last(), QStringLiteral("failed"));
        QCOMPARE(r.endings(), 1);
        const int signalsSoFar = int(r.order.size());
        stream->feed(tone(600)); // calls after the end do nothing
        stream->finish();
        QCOMPARE(r.order.size(), signalsSoFar);
    }

    void connectFailures()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const QString closedUrl = QStringLiteral("ws://127.0.0.1:%1").arg(probe.serverPort());
        probe.close();
        QTcpServer silent; // accepts TCP, never answers the handshake
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        FakeFunAsrOptions refusing;
        refusing.refuseHandshakes = true;
        auto refuser = startFake(refusing);

        QObject owner;
        Recorder closed, hung, refused, unconfigured;
        auto *a = new FunAsrStream(endpoint(closedUrl), kRate, {}, &owner);
        auto *b = new FunAsrStream(endpoint(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort()), 300), kRate, {}, &owner);
        auto *c = new FunAsrStream(endpoint(refuser->url()), kRate, {}, &owner);
        auto *d = new FunAsrStream(endpoint(QString()), kRate, {}, &owner);
        closed.attach(a);
        hung.attach(b);
        refused.attach(c);
        unconfigured.attach(d);
        for (AsrStream *s : {static_cast<AsrStream *>(a), static_cast<AsrStream *>(b), static_cast<AsrStream *>(c)}) {
            s->feed(tone(300));
            s->finish();
        }
        QTRY_VERIFY(closed.ended() && hung.ended() && refused.ended() && unconfigured.ended());
        QCOMPARE(int(closed.error->kind), int(UpstreamErrorKind::Network));
        QCOMPARE(int(hung.error->kind), int(UpstreamErrorKind::Timeout));
        QVERIFY2(hung.error->message.contains(QStringLiteral("not connected")), qPrintable(hung.error->message));
        QCOMPARE(int(refused.error->kind), int(UpstreamErrorKind::Network));
        QCOMPARE(int(unconfigured.error->kind), int(UpstreamErrorKind::Unavailable));
        for (const Recorder *r : {&closed, &hung, &refused, &unconfigured})
            QCOMPARE(r->order.size(), 1);
    }

    void cancelEmitsNothingAndClosesTheConnection()
    {
        auto fake = startFake();
        QObject owner;
        auto *stream = new FunAsrStream(endpoint(fake->url()), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        stream->feed(tone(1300));
        QTRY_VERIFY(!fake->sessions().isEmpty() && fake->sessions().first().pcmBytes > 0);
        stream->cancel();
        QTRY_VERIFY(fake->sessions().first().closed);
        QVERIFY(fake->sessions().first().closedByClient);
        QVERIFY(!fake->sessions().first().endReceived);
        stream->finish();
        // The fake would have answered a piece for every 600 ms: none arrives after the cancel.
        auto *witness = new FunAsrStream(endpoint(fake->url()), kRate, {}, &owner);
        Recorder w;
        w.attach(witness);
        witness->feed(tone(700));
        witness->finish();
        QTRY_VERIFY(w.ended()); // a later utterance on the same fake went all the way
        QCOMPARE(r.order.size(), int(r.partials.size()));
        QVERIFY(!r.ended());

        // Cancelled while still connecting: nothing either, and no connection stays open.
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        auto *early = new FunAsrStream(endpoint(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort()), 200), kRate, {}, &owner);
        Recorder e;
        e.attach(early);
        early->feed(tone(200));
        early->cancel();
        QSignalSpy failed(early, &AsrStream::failed);
        QVERIFY(!failed.wait(400)); // past its 200 ms connect timeout
        QVERIFY(e.order.isEmpty());
    }

    void buffersAreCapped()
    {
        QTcpServer silent; // never completes the handshake: the audio piles up
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        QObject owner;
        auto *stream = new FunAsrStream(endpoint(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort())), kRate, {}, &owner);
        Recorder r;
        r.attach(stream);
        const QByteArray second = tone(1000);
        for (int i = 0; i < FunAsrStream::kMaxUnsentSeconds && !r.ended(); ++i)
            stream->feed(second);
        QVERIFY(!r.ended()); // exactly the cap is held
        stream->feed(tone(20));
        QVERIFY(r.error.has_value());
        QCOMPARE(int(r.error->kind), int(UpstreamErrorKind::BadRequest));
        QCOMPARE(r.order.size(), 1);
    }

    void transcriptJoinsWordsAndCapsLength()
    {
        QCOMPARE(FunAsrTranscript::join(QStringLiteral("hello"), QStringLiteral("world")), QStringLiteral("hello world"));
        QCOMPARE(FunAsrTranscript::join(QStringLiteral("你好"), QStringLiteral("天依")), QStringLiteral("你好天依"));
        QCOMPARE(FunAsrTranscript::join(QStringLiteral("听"), QStringLiteral("DISCO")), QStringLiteral("听DISCO"));
        FunAsrTranscript t;
        QCOMPARE(t.apply(QStringLiteral("2pass-online"), QStringLiteral("hello"), false, false), FunAsrTranscript::Outcome::Changed);
        QCOMPARE(t.apply(QStringLiteral("2pass-online"), QStringLiteral("word"), false, false), FunAsrTranscript::Outcome::Changed);
        QCOMPARE(t.text(), QStringLiteral("hello word"));
        QCOMPARE(t.apply(QStringLiteral("2pass-offline"), QStringLiteral("Hello world."), false, false), FunAsrTranscript::Outcome::Changed);
        QCOMPARE(t.text(), QStringLiteral("Hello world."));
        QCOMPARE(t.apply(QString(), QString(), true, true), FunAsrTranscript::Outcome::Complete);
        QCOMPARE(t.text(), QStringLiteral("Hello world."));
        QCOMPARE(t.apply(QStringLiteral("2pass-online"), QStringLiteral("late"), false, true), FunAsrTranscript::Outcome::Unchanged);
        FunAsrTranscript big;
        QCOMPARE(big.apply(QStringLiteral("2pass-online"), QString(FunAsrTranscript::kMaxChars, QLatin1Char('a')), false, false),
                 FunAsrTranscript::Outcome::TooLong);
    }

    void pushToTalkGoesThroughAStream()
    {
        FakeFunAsrOptions o;
        o.texts = {QStringLiteral("你好，天依。")};
        auto fake = startFake(o);
        AsrSettings s;
        s.provider = QStringLiteral("funasr");
        s.baseUrl = fake->url();
        FunAsrClient client(s);
        QString error;
        QVERIFY(client.initialize(&error));
        QVERIFY(client.streamsPartials());
        QObject owner;
        AsrJob *job = client.transcribe(tone(1500, 8000, 24000), 24000, {}, &owner);
        QSignalSpy finished(job, &AsrJob::finished);
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().toString(), QStringLiteral("你好，天依。"));
        QCOMPARE(fake->sessions().first().config.value(QStringLiteral("audio_fs")).toInt(), 24000);
        // 60 ms messages at 24 kHz.
        QCOMPARE(fake->sessions().first().binaryMessages, int((1500 * 48 + 2879) / 2880));

        // A recording longer than a live stream may buffer (chat.max_audio_input_seconds can allow it).
        fake->options().texts.clear();
        AsrJob *longJob = client.transcribe(tone((FunAsrStream::kMaxUnsentSeconds + 5) * 1000), kRate, {}, &owner);
        QSignalSpy longFinished(longJob, &AsrJob::finished);
        QSignalSpy longFailed(longJob, &AsrJob::failed);
        QTRY_VERIFY_WITH_TIMEOUT(longFinished.count() + longFailed.count() == 1, 30000);
        QCOMPARE(longFinished.count(), 1);
        QCOMPARE(longFinished.first().first().toString(), QStringLiteral("你好"));
        QCOMPARE(fake->sessions().at(1).pcmBytes, qint64(FunAsrStream::kMaxUnsentSeconds + 5) * 1000 * 32);

        // A cancelled push-to-talk job says nothing and closes its connection.
        fake->options().finalLatencyMs = 60000; // the final cannot win the race with cancel()
        AsrJob *cancelled = client.transcribe(tone(1500), kRate, {}, &owner);
        QSignalSpy cancelledFinished(cancelled, &AsrJob::finished);
        QSignalSpy cancelledFailed(cancelled, &AsrJob::failed);
        QTRY_VERIFY(fake->connectionCount() == 3 && fake->sessions().at(2).pcmBytes > 0);
        cancelled->cancel();
        QTRY_VERIFY(fake->sessions().at(2).closed);
        QVERIFY(fake->sessions().at(2).closedByClient);
        fake->options().finalLatencyMs = 0;
        AsrJob *after = client.transcribe(tone(800), kRate, {}, &owner); // a later job on the same fake completes
        QSignalSpy afterFinished(after, &AsrJob::finished);
        QVERIFY(afterFinished.wait(10000));
        QCOMPARE(cancelledFinished.count() + cancelledFailed.count(), 0);
    }

    void providerFollowsAsrProvider()
    {
        WorkerPool workers(1, 8);
        Metrics metrics;
        Config config;
        config.asr.provider = QStringLiteral("funasr");
        config.asr.baseUrl = QStringLiteral("wss://asr.example:10095");
        QString error;
        auto funasr = Providers::create(config, workers, metrics, &error);
        QVERIFY2(funasr, qPrintable(error));
        QVERIFY(funasr->asr()->streamsPartials());
        const QString described = funasr->describe().value(QStringLiteral("asr")).toObject().value(QStringLiteral("provider")).toString();
        QVERIFY2(described.contains(QStringLiteral("FunASR")) && described.contains(QStringLiteral("wss://asr.example:10095")), qPrintable(described));

        config.asr.provider = QStringLiteral("openai");
        config.asr.baseUrl = QStringLiteral("https://api.siliconflow.cn/v1");
        auto openai = Providers::create(config, workers, metrics, &error);
        QVERIFY2(openai, qPrintable(error));
        QVERIFY(!openai->asr()->streamsPartials());
        QVERIFY(openai->describe().value(QStringLiteral("asr")).toObject().value(QStringLiteral("provider")).toString().contains(QStringLiteral("openai-compatible")));

        config.asr.provider = QStringLiteral("funasr");
        config.asr.baseUrl = QStringLiteral("wss://asr.example:10095");
        config.asr.caFile = QStringLiteral("/nonexistent/funasr.crt");
        QVERIFY(!Providers::create(config, workers, metrics, &error));
        QVERIFY2(error.contains(QStringLiteral("asr.ca_file")), qPrintable(error));
    }

    // A self-signed certificate (FunASR's runtime serves wss:// by default) is refused unless
    // asr.ca_file lists it. FunASR's own sample certificate (CN=alibaba) gets its own advice.
    void selfSignedTlsNeedsTheCaFile_data()
    {
        QTest::addColumn<QString>("subject");
        QTest::addColumn<QString>("advice");
        QTest::newRow("own certificate") << QStringLiteral("/CN=funasr-test") << QStringLiteral("put it (PEM) in asr.ca_file");
        QTest::newRow("like FunASR's sample") << QStringLiteral("/O=alibaba/CN=alibaba") << QStringLiteral("your own --certfile/--keyfile");
    }
    void selfSignedTlsNeedsTheCaFile()
    {
        QFETCH(QString, subject);
        QFETCH(QString, advice);
        QTemporaryDir dir;
        const QString cert = dir.filePath(QStringLiteral("server.crt")), key = dir.filePath(QStringLiteral("server.key"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"), {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                                                  QStringLiteral("-nodes"), QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert,
                                                  QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"), subject});
        // openssl is a test dependency (packaging/install-deps.sh test): its absence is a failure.
        QVERIFY2(openssl.waitForFinished(60000) && openssl.exitCode() == 0, "openssl could not make a certificate");
        QString tlsError;
        auto tls = FakeFunAsrServer::tlsFromFiles(cert, key, &tlsError);
        QVERIFY2(tls, qPrintable(tlsError));
        FakeFunAsrOptions o;
        o.texts = {QStringLiteral("安全连接。")};
        auto fake = startFake(o, std::move(tls));
        QVERIFY(fake->url().startsWith(QStringLiteral("wss://")));

        AsrSettings s;
        s.provider = QStringLiteral("funasr");
        s.baseUrl = fake->url();
        QObject owner;
        QString error;
        FunAsrClient untrusting(s);
        QVERIFY(untrusting.initialize(&error));
        Recorder refused;
        AsrStream *a = untrusting.openStream(kRate, {}, &owner);
        refused.attach(a);
        a->feed(tone(800));
        a->finish();
        QTRY_VERIFY(refused.ended());
        QVERIFY(refused.error.has_value());
        QCOMPARE(int(refused.error->kind), int(UpstreamErrorKind::Network));
        QVERIFY2(refused.error->message.contains(QStringLiteral("asr.ca_file")), qPrintable(refused.error->message));
        QVERIFY2(refused.error->message.contains(advice), qPrintable(refused.error->message));

        s.caFile = cert;
        FunAsrClient trusting(s);
        QVERIFY2(trusting.initialize(&error), qPrintable(error));
        Recorder ok;
        AsrStream *b = trusting.openStream(kRate, {}, &owner);
        ok.attach(b);
        b->feed(tone(800));
        b->finish();
        QTRY_VERIFY(ok.ended());
        QVERIFY2(ok.finalText.has_value(), ok.error ? qPrintable(ok.error->message) : "");
        QCOMPARE(*ok.finalText, QStringLiteral("安全连接。"));
    }
};

QTEST_GUILESS_MAIN(TestFunAsr)
#include "tst_funasr.moc"
