// Hands-free listening end to end: a real server in-process, a real WebSocket client streaming
// microphone-like PCM (espeak-ng speech, noise, silence from tests/support/speechaudio), the real
// MicrophoneStream, and a fake ASR upstream (the OpenAI-compatible batch path; the fake speaks the
// real /audio/transcriptions format), and the streaming path through the fake FunASR 2pass server
// (partial transcripts). Audio is sent faster than real time, within a raised rate
// cap, except where the behaviour depends on wall time (her playback, barge-in, the listen timeout).
#include "chatfixture.h"
#include "fakefunasr.h"
#include "speechaudio.h"

#include <QElapsedTimer>
#include <QtTest>
#include <cstdlib>
#include <deque>
#include <tianyi/wav.h>

using namespace tianyi;
using namespace tianyi::test;
namespace sa = tianyi::test::speechaudio;

namespace {

const QString kReply = QStringLiteral("[开心]第一句话说完了。第二句话也说完了。第三句话还在路上。第四句话更远一些。第五句话是最后一句。");
const QString kAsrPath = QStringLiteral("/v1/audio/transcriptions");

QByteArray speech(const QString &text)
{
    QString error;
    const QByteArray pcm = sa::speech(text, &error);
    if (pcm.isEmpty())
        qWarning("espeak-ng speech failed: %s", qPrintable(error));
    return pcm;
}

// Speech without espeak's own silent edges, so a pause put between two pieces is that long.
QByteArray trimmedSpeech(const QString &text)
{
    const QByteArray pcm = speech(text);
    const auto *samples = reinterpret_cast<const qint16 *>(pcm.constData());
    const qsizetype n = pcm.size() / 2;
    constexpr int kQuiet = 300; // about -40 dBFS
    qsizetype first = 0;
    while (first < n && std::abs(samples[first]) < kQuiet)
        ++first;
    qsizetype last = n;
    while (last > first && std::abs(samples[last - 1]) < kQuiet)
        --last;
    return pcm.mid(first * 2, (last - first) * 2);
}

ChatFixture::Options listeningOptions(const std::function<void(Config &)> &more = {})
{
    ChatFixture::Options o = ChatFixture::fast(kReply);
    o.asr = true;
    o.fake.asrText = QStringLiteral("今天天气很好");
    o.fake.asrLatencyMs = 20;
    o.adjust = [more](Config &c) {
        c.voice.maxBytesPerSecond = 1 << 20; // tests send faster than real time
        if (more)
            more(c);
    };
    return o;
}

// The recognizer answers an empty text (no words heard) to everything.
ChatFixture::Options recognizerHearsNoWords()
{
    ChatFixture::Options o = listeningOptions();
    o.fake.asrText = QString();
    return o;
}

// She starts her five-sentence reply: true once its first audio has arrived.
bool askForHerLongReply(ChatTestClient &c)
{
    c.chat(QStringLiteral("说五句话"));
    return c.waitFor([&] { return c.indexOf([](const ChatMessage &m) { return m.isAudio(); }) >= 0; });
}

QJsonObject listenStartMessage(int rate = 16000, const QString &format = QStringLiteral("pcm_s16le"))
{
    return {{QStringLiteral("type"), QStringLiteral("listen_start")}, {QStringLiteral("sample_rate"), rate}, {QStringLiteral("format"), format}};
}

bool startListening(ChatTestClient &c)
{
    c.send(listenStartMessage());
    return c.waitForType(QStringLiteral("listening"));
}

// A started server, a client with its hello, and listening on.
bool openListening(ChatFixture &fx, ChatTestClient &c)
{
    return fx.started() && c.openAndHello(fx.port(), fx.user().token) && startListening(c);
}

// As fast as the socket takes it, in 100 ms frames (a browser's worklet sends about that).
void sendPcm(ChatTestClient &c, const QByteArray &pcm, int frameMs = 100)
{
    const int frame = frameMs * sa::kBytesPerMs;
    for (qsizetype at = 0; at < pcm.size(); at += frame)
        c.socket.sendBinaryMessage(pcm.mid(at, frame));
    c.socket.flush();
}

// At the pace a microphone produces it (for behaviour that depends on wall time), while the
// client keeps receiving; stops early when `until` holds.
void streamRealtime(ChatTestClient &c, const QByteArray &pcm, const std::function<bool()> &until = {}, int frameMs = 20)
{
    const int frame = frameMs * sa::kBytesPerMs;
    QElapsedTimer clock;
    clock.start();
    for (qsizetype at = 0; at < pcm.size(); at += frame) {
        const qint64 dueMs = at / sa::kBytesPerMs;
        while (clock.elapsed() < dueMs)
            QTest::qWait(2);
        c.socket.sendBinaryMessage(pcm.mid(at, frame));
        if (until && until())
            return;
    }
}

QList<QJsonObject> allOf(const ChatTestClient &c, const QString &type)
{
    QList<QJsonObject> out;
    for (const ChatMessage &m : c.messages) {
        if (!m.binary && m.type() == type)
            out.append(m.json);
    }
    return out;
}

QList<QJsonObject> finals(const ChatTestClient &c)
{
    QList<QJsonObject> out;
    for (const QJsonObject &t : allOf(c, chat::kTranscript)) {
        if (t.value(QStringLiteral("final")).toBool() && t.contains(QStringLiteral("utterance")))
            out.append(t);
    }
    return out;
}

QString errorCode(const ChatTestClient &c, int nth = 0)
{
    const QList<QJsonObject> errors = allOf(c, chat::kError);
    return nth < errors.size() ? errors.at(nth).value(QStringLiteral("code")).toString() : QString();
}

bool hasError(const ChatTestClient &c, const QString &code)
{
    const QList<QJsonObject> errors = allOf(c, chat::kError);
    return std::any_of(errors.cbegin(), errors.cend(), [&](const QJsonObject &e) { return e.value(QStringLiteral("code")).toString() == code; });
}

// The sentences of a turn with their audio durations (from the audio frames received).
struct SentAudio {
    QString text;
    qint64 ms = 0;
};
QList<SentAudio> sentencesOf(const ChatTestClient &c, int turn)
{
    QList<SentAudio> out;
    for (const ChatMessage &m : c.ofTurn(turn)) {
        if (m.type() == chat::kSentence)
            out.append({m.json.value(QStringLiteral("text")).toString(), 0});
    }
    for (int i = 0; i < out.size(); ++i) {
        const ChatMessage *any = nullptr;
        for (const ChatMessage &m : c.messages) {
            if (m.isAudio() && m.turn() == turn && m.sentence() == i) {
                any = &m;
                break;
            }
        }
        if (any)
            out[i].ms = wav::durationMs(c.sentencePcm(turn, i).size(), any->sampleRate());
    }
    return out;
}

// A fake OpenAI-compatible transcription endpoint answering each request as scripted: "ok:TEXT",
// "401", "429", "500", "malformed" or "stall" (no answer).
class ScriptedAsr
{
public:
    ScriptedAsr()
        : server(fake::FakeOptions{})
    {
        server.route("POST", QStringLiteral("/audio/transcriptions"), [this](fake::FakeExchange *ex) { answer(ex); });
        server.listen(QHostAddress::LocalHost, 0);
    }
    QString baseUrl() const { return server.baseUrl() + QStringLiteral("/v1"); }
    void push(const QString &behaviour) { script.push_back(behaviour); }

    fake::FakeServer server;
    std::deque<QString> script;
    int requests = 0;

private:
    void answer(fake::FakeExchange *ex)
    {
        ++requests;
        const QString next = script.empty() ? QStringLiteral("ok:你好") : script.front();
        if (!script.empty())
            script.pop_front();
        auto openAiError = [ex](int status, const QByteArray &body, const QList<QPair<QByteArray, QByteArray>> &headers = {}) {
            ex->reply(status, "application/json", body, headers);
        };
        if (next.startsWith(QLatin1String("ok:")))
            ex->reply(200, "application/json", QJsonDocument(QJsonObject{{QStringLiteral("text"), next.mid(3)}}).toJson(QJsonDocument::Compact));
        else if (next == QLatin1String("401"))
            openAiError(401, R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})");
        else if (next == QLatin1String("429"))
            openAiError(429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})", {{"Retry-After", "1"}});
        else if (next == QLatin1String("500"))
            ex->reply(500, "text/plain", "Internal Server Error");
        else if (next == QLatin1String("malformed"))
            ex->reply(200, "application/json", "{\"text\": ");
        // "stall": never answered
    }
};

// The streaming path: the fake FunASR server recognizes each connection's text in order.
struct FunAsrListening {
    explicit FunAsrListening(const QStringList &texts, const std::function<void(Config &)> &more = {})
        : funasr(fake::FakeFunAsrOptions{texts, QStringLiteral("你好"), 0, {}, false})
    {
        funasr.listen(QHostAddress::LocalHost, 0);
        fx = std::make_unique<ChatFixture>(listeningOptions([this, more](Config &c) {
            c.asr.provider = QStringLiteral("funasr");
            c.asr.baseUrl = funasr.url();
            c.asr.timeoutMs = 2000;
            if (more)
                more(c);
        }));
    }
    fake::FakeFunAsrServer funasr;
    std::unique_ptr<ChatFixture> fx;
};

QList<QJsonObject> partials(const ChatTestClient &c)
{
    QList<QJsonObject> out;
    for (const QJsonObject &t : allOf(c, chat::kTranscript)) {
        if (!t.value(QStringLiteral("final")).toBool(true))
            out.append(t);
    }
    return out;
}

} // namespace

class TestListening : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY2(!speech(QStringLiteral("你好")).isEmpty(), "espeak-ng is needed (packaging/install-deps.sh test)");
    }

    // ---- the protocol around the stream (no voice detection needed) ----------------------------

    void helloAndListenStartAnswers()
    {
        ChatFixture fx(listeningOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        QCOMPARE(c.first(chat::kHello).value(QStringLiteral("listening")).toBool(), true);

        QVERIFY(startListening(c));
        const QJsonObject vad = c.first(QStringLiteral("listening")).value(QStringLiteral("vad")).toObject();
        QCOMPARE(vad.value(QStringLiteral("endpointing_ms")).toInt(), 600);
        QCOMPARE(vad.value(QStringLiteral("interruption_min_ms")).toInt(), 500);

        // listen_start twice: a clear error, the stream goes on.
        c.send(listenStartMessage());
        QVERIFY(c.waitForType(chat::kError));
        QCOMPARE(errorCode(c), QStringLiteral("already_listening"));
        // Push-to-talk while listening: refused; its audio_end is not a malformed message.
        c.send({{QStringLiteral("type"), chat::kAudioStart}, {QStringLiteral("sample_rate"), 16000}, {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
        c.send({{QStringLiteral("type"), chat::kAudioEnd}});
        QVERIFY(c.waitFor([&] { return allOf(c, chat::kError).size() >= 2; }));
        QCOMPARE(errorCode(c, 1), QStringLiteral("speech_input_busy"));

        // listen_stop, then push-to-talk works; listen_start while recording is refused.
        c.send({{QStringLiteral("type"), QStringLiteral("listen_stop")}});
        c.send({{QStringLiteral("type"), chat::kAudioStart}, {QStringLiteral("sample_rate"), 16000}, {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
        c.send(listenStartMessage());
        QVERIFY(c.waitFor([&] { return allOf(c, chat::kError).size() >= 3; }));
        QCOMPARE(errorCode(c, 2), QStringLiteral("speech_input_busy"));
        c.socket.sendBinaryMessage(QByteArray(6400, '\x10'));
        c.send({{QStringLiteral("type"), chat::kAudioEnd}});
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("今天天气很好"));
        QCOMPARE(allOf(c, chat::kError).size(), 3);
        QVERIFY(c.socket.state() == QAbstractSocket::ConnectedState);
    }

    void listenStartRefusals()
    {
        ChatFixture fx(listeningOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        c.send(listenStartMessage(48000));
        c.send(listenStartMessage(16000, QStringLiteral("opus")));
        QVERIFY(c.waitFor([&] { return allOf(c, chat::kError).size() >= 2; }));
        QCOMPARE(errorCode(c, 0), QStringLiteral("unsupported_audio"));
        QCOMPARE(errorCode(c, 1), QStringLiteral("unsupported_audio"));
        // The microphone that already streams is not a run of malformed messages.
        for (int i = 0; i < 20; ++i)
            c.socket.sendBinaryMessage(QByteArray(3200, '\x10'));
        QVERIFY(startListening(c));
        c.chat(QStringLiteral("still here"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(allOf(c, chat::kError).size(), 2);

        // listen_start spam: each start builds a stream; beyond the per-minute cap, rate_limited.
        int refused = 0;
        for (int i = 0; i < 40; ++i) {
            c.send({{QStringLiteral("type"), QStringLiteral("listen_stop")}});
            c.send(listenStartMessage());
        }
        QVERIFY(c.waitFor([&] {
            refused = 0;
            for (const QJsonObject &e : allOf(c, chat::kError))
                refused += e.value(QStringLiteral("code")).toString() == chat::kErrRateLimited ? 1 : 0;
            return allOf(c, QStringLiteral("listening")).size() + refused == 41;
        }));
        QVERIFY(refused > 0);
        QVERIFY(allOf(c, chat::kError).last().value(QStringLiteral("retry_after_ms")).toInteger() > 0);
        QVERIFY(c.socket.state() == QAbstractSocket::ConnectedState);
    }

    void withoutAsr()
    {
        ChatFixture fx(ChatFixture::fast(kReply));
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        QCOMPARE(c.first(chat::kHello).value(QStringLiteral("listening")).toBool(true), false);
        c.send(listenStartMessage());
        QVERIFY(c.waitForType(chat::kError));
        QCOMPARE(errorCode(c), chat::kErrAsrUnavailable);
        // Binary frames are never malformed without an ASR: not after listen_start, not after
        // push-to-talk's audio_end, not with no stream at all (more than chat.max_malformed each).
        for (int i = 0; i < 20; ++i)
            c.socket.sendBinaryMessage(QByteArray(3200, '\x10'));
        c.send({{QStringLiteral("type"), chat::kAudioStart}, {QStringLiteral("sample_rate"), 16000}, {QStringLiteral("format"), QStringLiteral("pcm_s16le")}});
        c.send({{QStringLiteral("type"), chat::kAudioEnd}});
        for (int i = 0; i < 20; ++i)
            c.socket.sendBinaryMessage(QByteArray(3201, '\x10'));
        c.chat(QStringLiteral("typed instead"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(allOf(c, chat::kError).size(), 2); // listen_start's and audio_start's asr_unavailable
        QCOMPARE(errorCode(c, 1), chat::kErrAsrUnavailable);
        QVERIFY(!c.closed);
    }

    void binaryOutsideAnyStream()
    {
        // With an ASR, binary frames before any listen_start / audio_start are a protocol violation
        // (counted; the socket closes after chat.max_malformed); after a stream ended they are the
        // microphone's frames still in flight and are dropped quietly.
        ChatFixture fx(listeningOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        ChatTestClient late;
        QVERIFY(late.openAndHello(fx.port(), fx.user().token));
        QVERIFY(startListening(late));
        late.send({{QStringLiteral("type"), QStringLiteral("listen_stop")}});
        for (int i = 0; i < 20; ++i)
            late.socket.sendBinaryMessage(QByteArray(3201, '\x10'));
        late.chat(QStringLiteral("still here"));
        QVERIFY(late.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(allOf(late, chat::kError).size(), 0);

        ChatTestClient early;
        QVERIFY(early.openAndHello(fx.port(), fx.user().token));
        for (int i = 0; i < 10; ++i)
            early.socket.sendBinaryMessage(QByteArray(3200, '\x10'));
        QVERIFY(early.waitClosed());
        QCOMPARE(early.closeCode, chat::kCloseAbuse);
        QCOMPARE(errorCode(early), chat::kErrBadRequest);
    }

    void hugeFrameWhileListening()
    {
        ChatFixture fx(listeningOptions([](Config &c) { c.limits.wsMaxMessageBytes = 64 * 1024; }));
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        c.socket.sendBinaryMessage(QByteArray(200 * 1024, '\x10'));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, int(QWebSocketProtocol::CloseCodeTooMuchData));
    }

    // ---- utterances (voice detection needed) ----------------------------------------------------

    void pausesInsideOneUtterance()
    {
        ChatFixture fx(listeningOptions());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        // A 300 ms pause inside the sentence is shorter than voice.endpointing_ms (600).
        const QByteArray first = trimmedSpeech(QStringLiteral("你好"));
        const QByteArray second = trimmedSpeech(QStringLiteral("今天天气很好"));
        sendPcm(c, sa::concat({sa::silence(500), first, sa::silence(300), second, sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(allOf(c, QStringLiteral("speech_start")).size(), 1);
        QCOMPARE(allOf(c, QStringLiteral("speech_end")).size(), 1);
        QCOMPARE(finals(c).size(), 1);
        QCOMPARE(fx.fake.recordedCount(kAsrPath), 1);
        const QJsonObject start = allOf(c, QStringLiteral("speech_start")).first();
        const QJsonObject end = allOf(c, QStringLiteral("speech_end")).first();
        QCOMPARE(start.value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(end.value(QStringLiteral("utterance")).toInt(), 1);
        // The utterance spans both parts and the pause (espeak's own edges aside).
        const int spoken = sa::durationMs(first) + 300 + sa::durationMs(second);
        QVERIFY2(end.value(QStringLiteral("duration_ms")).toInt() >= spoken - 400, qPrintable(QString::number(end.value(QStringLiteral("duration_ms")).toInt())));
        // The recognizer got the whole utterance in one request: both parts and the pause.
        const QByteArray wavFile = fx.fake.property("fakeAsrLastFile").toByteArray();
        QVERIFY(wav::durationMs(wavFile.size() - 44, 16000) >= spoken - 400);
        // Order: speech_start, speech_end, final transcript, then the turn it starts.
        QVERIFY(c.indexOfType(QStringLiteral("speech_start")) < c.indexOfType(QStringLiteral("speech_end")));
        QVERIFY(c.indexOfType(QStringLiteral("speech_end")) < c.indexOf([](const ChatMessage &m) {
            return m.type() == chat::kTranscript && m.json.value(QStringLiteral("final")).toBool();
        }));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("今天天气很好"));
        QCOMPARE(finals(c).first().value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());

        const QString metrics = QString::fromUtf8(fx.app().metrics().render());
        QVERIFY(metrics.contains(QStringLiteral("tianyi_listen_utterances_total{outcome=\"turn\"} 1")));
        QVERIFY(metrics.contains(QStringLiteral("tianyi_listen_asr_seconds_count 1")));
        QVERIFY(metrics.contains(QStringLiteral("tianyi_listen_endpointing_seconds_count 1")));
        QVERIFY(metrics.contains(QStringLiteral("tianyi_listen_sessions 1")));
        // Guarantee 6: the server-added time from the final transcript to turn_start (a figure).
        qInfo().noquote() << "final transcript -> turn_start:" << metrics.section(QStringLiteral("tianyi_listen_turn_start_seconds_sum "), 1).section(QLatin1Char('\n'), 0, 0) << "s";
    }

    void twoUtterancesTwoTurns()
    {
        ChatFixture fx(listeningOptions());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        // Back to back: the second utterance is spoken while the first is still being recognized
        // (it waits for the session's one recognizer).
        sendPcm(c, sa::concat({sa::silence(300), speech(QStringLiteral("你好")), sa::silence(1000), speech(QStringLiteral("今天天气很好")),
                               sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(finals(c).size(), 2);
        QCOMPARE(finals(c).at(0).value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(finals(c).at(1).value(QStringLiteral("utterance")).toInt(), 2);
        QCOMPARE(fx.fake.recordedCount(kAsrPath), 2);
        QCOMPARE(c.countType(chat::kTurnStart), 2);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        QCOMPARE(checkTurnOrder(c.messages, 2), QString());
        QCOMPARE(c.first(chat::kTurnEnd, 2).value(QStringLiteral("status")).toString(), chat::kCompleted);
    }

    void noiseSilenceAndCoughStartNothing()
    {
        ChatFixture fx(listeningOptions());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        sendPcm(c, sa::concat({sa::silence(2000), sa::coughBurst(200, -15), sa::silence(1500), sa::whiteNoise(2000, -50), sa::silence(1000),
                               sa::coughBurst(180, -20, 7), sa::silence(1500), sa::whiteNoise(3000, -40), sa::silence(1500)}));
        // A sentinel utterance afterwards: it is utterance 1, so nothing before it was one.
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(allOf(c, QStringLiteral("speech_start")).size(), 1);
        QCOMPARE(allOf(c, QStringLiteral("speech_start")).first().value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(fx.fake.recordedCount(kAsrPath), 1);
        QCOMPARE(c.countType(chat::kTurnStart), 1);
        QCOMPARE(c.countType(chat::kStopped), 0);
    }

    void emptyFinalStartsNoTurn()
    {
        ChatFixture fx(recognizerHearsNoWords());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        sendPcm(c, sa::concat({speech(QStringLiteral("你好")), sa::silence(1500)}));
        QVERIFY(c.waitFor([&] { return finals(c).size() == 1; }));
        QCOMPARE(finals(c).first().value(QStringLiteral("text")).toString(), QString());
        c.chat(QStringLiteral("typed"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("typed"));
        QCOMPARE(c.countType(chat::kTurnStart), 1);
        QVERIFY(QString::fromUtf8(fx.app().metrics().render()).contains(QStringLiteral("tianyi_listen_utterances_total{outcome=\"empty\"} 1")));
    }

    void oneRecognizerPerSession()
    {
        // A slow recognizer: the second utterance waits for the first's final, the third is refused.
        ChatFixture::Options o = listeningOptions();
        o.fake.asrLatencyMs = 3000;
        ChatFixture fx(o);
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        // For each recognition request as it arrives: how many had been answered before it.
        QList<int> answeredBefore;
        QObject::connect(&fx.fake, &fake::FakeServer::requestRecorded, [&] {
            if (fx.fake.recordedCount(kAsrPath) > answeredBefore.size())
                answeredBefore.append(fx.fake.property("fakeAsrAnswered").toInt());
        });
        const QByteArray said = sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1000)});
        sendPcm(c, sa::concat({said, said, said}));
        QVERIFY(c.waitFor([&] { return allOf(c, QStringLiteral("speech_end")).size() == 3; }));
        QVERIFY(c.waitForType(chat::kError));
        QCOMPARE(errorCode(c), QStringLiteral("asr_busy"));
        QCOMPARE(allOf(c, chat::kError).first().value(QStringLiteral("utterance")).toInt(), 3);
        QVERIFY(c.waitFor([&] { return finals(c).size() == 2; }, 30000));
        // The second request left only once the first was answered (the fake answers after 3 s,
        // long after the second utterance ended).
        QCOMPARE(answeredBefore, (QList<int>{0, 1}));
        QCOMPARE(finals(c).at(0).value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(finals(c).at(1).value(QStringLiteral("utterance")).toInt(), 2);
        QCOMPARE(fx.fake.recordedCount(kAsrPath), 2);
        QVERIFY(QString::fromUtf8(fx.app().metrics().render()).contains(QStringLiteral("tianyi_listen_utterances_total{outcome=\"refused\"} 1")));
    }

    void asrFailuresThenListeningGoesOn_data()
    {
        QTest::addColumn<QString>("behaviour");
        QTest::addColumn<QString>("kind");
        QTest::newRow("401") << QStringLiteral("401") << QStringLiteral("auth");
        QTest::newRow("429") << QStringLiteral("429") << QStringLiteral("rate_limited");
        QTest::newRow("500") << QStringLiteral("500") << QStringLiteral("server");
        QTest::newRow("malformed") << QStringLiteral("malformed") << QStringLiteral("malformed");
        QTest::newRow("down") << QStringLiteral("down") << QStringLiteral("network");
        QTest::newRow("stall") << QStringLiteral("stall") << QStringLiteral("timeout");
    }
    void asrFailuresThenListeningGoesOn()
    {
        QFETCH(QString, behaviour);
        QFETCH(QString, kind);
        ScriptedAsr asr;
        asr.push(behaviour);
        asr.push(QStringLiteral("ok:第二次说"));
        ChatFixture fx(listeningOptions([&](Config &c) {
            c.asr.baseUrl = asr.baseUrl();
            c.asr.timeoutMs = 1000;
        }));
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        const quint16 asrPort = asr.server.serverPort();
        if (behaviour == QLatin1String("down"))
            asr.server.close(); // nothing listens: connection refused
        sendPcm(c, sa::concat({speech(QStringLiteral("你好")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kError));
        if (behaviour == QLatin1String("down")) {
            QVERIFY(asr.server.listen(QHostAddress::LocalHost, asrPort));
            asr.script.pop_front();
        }
        const QJsonObject error = allOf(c, chat::kError).first();
        QCOMPARE(error.value(QStringLiteral("code")).toString(), QStringLiteral("asr_failed"));
        QCOMPARE(error.value(QStringLiteral("kind")).toString(), kind);
        QCOMPARE(error.value(QStringLiteral("utterance")).toInt(), 1);
        QVERIFY(!error.value(QStringLiteral("message")).toString().isEmpty());
        QCOMPARE(c.countType(chat::kTurnStart), 0);
        QCOMPARE(finals(c).size(), 0);
        // The next utterance is recognized and becomes a turn.
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("第二次说"));
        QCOMPARE(finals(c).first().value(QStringLiteral("utterance")).toInt(), 2);
        QCOMPARE(asr.requests, behaviour == QLatin1String("down") ? 1 : 2);
    }

    void utteranceTooLongStillCounts()
    {
        ChatFixture fx(listeningOptions([](Config &c) { c.voice.maxUtteranceSeconds = 1; }));
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好，我们一起去公园散步吧，好不好呀")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QVERIFY(hasError(c, QStringLiteral("utterance_too_long")));
        const QJsonObject cap = allOf(c, chat::kError).first();
        QCOMPARE(cap.value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(finals(c).first().value(QStringLiteral("utterance")).toInt(), 1);
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("今天天气很好"));
        QVERIFY(allOf(c, QStringLiteral("speech_end")).first().value(QStringLiteral("duration_ms")).toInt() <= 1100);
    }

    void rateExceededEndsListening()
    {
        ChatFixture fx(listeningOptions([](Config &c) { c.voice.maxBytesPerSecond = 32000; }));
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        // 20 s of audio at once: far beyond the cap's burst of a few seconds.
        sendPcm(c, sa::silence(20000));
        QVERIFY(c.waitForType(chat::kError));
        QCOMPARE(errorCode(c), QStringLiteral("rate_exceeded"));
        QCOMPARE(allOf(c, chat::kError).first().value(QStringLiteral("listening")).toBool(true), false);
        // Listening has ended: more frames are dropped quietly (not malformed), speech starts nothing.
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1500)}));
        c.chat(QStringLiteral("typed"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(allOf(c, QStringLiteral("speech_start")).size(), 0);
        QCOMPARE(allOf(c, chat::kError).size(), 1);
        QVERIFY(!c.closed);
        // listen_start again works.
        c.send(listenStartMessage());
        QVERIFY(c.waitFor([&] { return allOf(c, QStringLiteral("listening")).size() == 2; }));
    }

    void listenTimeoutEndsListening()
    {
        ChatFixture fx(listeningOptions([](Config &c) { c.voice.maxSilentSeconds = 5; }));
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        sendPcm(c, sa::silence(1000));
        QVERIFY(c.waitFor([&] { return hasError(c, QStringLiteral("listen_timeout")); }, 15000));
        QCOMPARE(allOf(c, chat::kError).first().value(QStringLiteral("listening")).toBool(true), false);
        QVERIFY(QString::fromUtf8(fx.app().metrics().render()).contains(QStringLiteral("tianyi_listen_sessions 0")));
    }

    // ---- while she speaks (wall time: her playback is estimated from when her audio was sent) ----

    void herOwnVoiceNeitherDucksNorStops()
    {
        ChatFixture fx(listeningOptions());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        QVERIFY(askForHerLongReply(c));
        // Her voice leaking back from the speaker: speech far below voice.echo_gate_dbfs, streamed
        // at the microphone's pace while she plays (espeak stands in for her own voice).
        const QByteArray leak = sa::scaledDb(sa::concat({speech(QStringLiteral("第一句话说完了，第二句话也说完了")), sa::silence(300),
                                                          speech(QStringLiteral("第三句话还在路上"))}), -30);
        QVERIFY(sa::rmsDbfs(leak) < -40);
        streamRealtime(c, leak);
        QVERIFY(c.waitForType(chat::kTurnEnd, 1, 30000));
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kCompleted);
        QCOMPARE(c.countType(QStringLiteral("duck")), 0);
        QCOMPARE(c.countType(chat::kStopped), 0);
        // The leak made no utterance: the next one is number 1.
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        QCOMPARE(allOf(c, QStringLiteral("speech_start")).first().value(QStringLiteral("utterance")).toInt(), 1);
    }

    void bargeInByVoice()
    {
        ChatFixture fx(listeningOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser user = fx.user();
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), user.token));
        QVERIFY(startListening(c));
        QVERIFY(askForHerLongReply(c));
        QElapsedTimer sinceFirstAudio;
        sinceFirstAudio.start();
        // Let the client play the first sentence whole, then talk over her (room-level speech).
        QVERIFY(c.waitFor([&] { return c.sentenceAudioComplete(1, 0); }));
        const qint64 firstSentenceMs = sentencesOf(c, 1).first().ms;
        QVERIFY(firstSentenceMs > 0);
        QTest::qWait(int(firstSentenceMs - sinceFirstAudio.elapsed() + 400)); // wall time is the behaviour here
        streamRealtime(c, sa::concat({speech(QStringLiteral("等一下，今天天气很好")), sa::silence(1500)}),
                       [&] { return c.indexOfType(chat::kStopped, 1) >= 0; });
        QVERIFY(c.waitForType(chat::kStopped, 1));
        const qint64 heardWindowMs = sinceFirstAudio.elapsed();
        sendPcm(c, sa::silence(1500)); // the rest of the utterance's endpointing
        QVERIFY(c.waitForType(chat::kTurnEnd, 2, 30000));

        const int duck = c.indexOfType(QStringLiteral("duck"), 1);
        const int stopped = c.indexOfType(chat::kStopped, 1);
        QVERIFY(duck >= 0);
        QVERIFY(duck < stopped);
        QCOMPARE(c.messages.at(stopped).json.value(QStringLiteral("reason")).toString(), QStringLiteral("voice"));
        QCOMPARE(c.countType(QStringLiteral("unduck")), 0);
        QCOMPARE(checkTurnOrder(c.messages, 1), QString()); // nothing of turn 1 after stopped but turn_end
        const QJsonObject end1 = c.first(chat::kTurnEnd, 1);
        QCOMPARE(end1.value(QStringLiteral("status")).toString(), chat::kInterrupted);

        // Only what was heard is stored: whole sentences that fit in the time she played, at least
        // the first (played whole before the user spoke), never all five.
        const QList<SentAudio> sent = sentencesOf(c, 1);
        QCOMPARE(sent.size(), 5);
        const QString stored = end1.value(QStringLiteral("text")).toString();
        QVERIFY2(stored.startsWith(sent.first().text), qPrintable(stored));
        qint64 storedMs = 0;
        int storedSentences = 0;
        QString prefix;
        for (const SentAudio &s : sent) {
            if (!stored.startsWith(prefix + s.text))
                break;
            prefix += s.text;
            storedMs += s.ms;
            ++storedSentences;
        }
        QCOMPARE(prefix, stored);
        QVERIFY(storedSentences < sent.size());
        QVERIFY2(storedMs <= heardWindowMs, qPrintable(QStringLiteral("%1 ms stored, %2 ms played").arg(storedMs).arg(heardWindowMs)));
        const QVector<StoredTurn> turns = fx.storedTurns(user.id);
        const auto firstTurn = std::find_if(turns.cbegin(), turns.cend(), [](const StoredTurn &t) { return t.turnNo == 1; });
        QVERIFY(firstTurn != turns.cend());
        QCOMPARE(firstTurn->replyText, stored);
        QCOMPARE(firstTurn->status, chat::kInterrupted);

        // The utterance became the next turn.
        QCOMPARE(c.first(chat::kTurnStart, 2).value(QStringLiteral("user_text")).toString(), QStringLiteral("今天天气很好"));
        QVERIFY(c.indexOfType(chat::kTurnEnd, 1) < c.indexOfType(chat::kTurnStart, 2));
        QVERIFY(QString::fromUtf8(fx.app().metrics().render()).contains(QStringLiteral("tianyi_listen_voice_bargeins_total 1")));
        qInfo().noquote() << "voice stop:" << c.messages.at(stopped).json.value(QStringLiteral("stop_ms")).toInt() << "ms; stored"
                          << storedSentences << "of 5 sentences after" << heardWindowMs << "ms of playback";
    }

    void voiceStopWithoutWordsIsAFalseInterruption()
    {
        // A batch recognizer confirms on duration alone; when its final then has no words, she
        // stays stopped (nothing to resume), no turn starts, and it is counted.
        ChatFixture fx(recognizerHearsNoWords());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        QVERIFY(askForHerLongReply(c));
        streamRealtime(c, sa::concat({sa::silence(200), speech(QStringLiteral("今天天气很好")), sa::silence(1500)}),
                       [&] { return c.indexOfType(chat::kStopped, 1) >= 0; });
        QVERIFY(c.waitForType(chat::kStopped, 1));
        sendPcm(c, sa::silence(1500));
        QVERIFY(c.waitFor([&] { return finals(c).size() == 1; }));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(finals(c).first().value(QStringLiteral("text")).toString(), QString());
        QCOMPARE(c.countType(chat::kTurnStart), 1);
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kInterrupted);
        QVERIFY(QString::fromUtf8(fx.app().metrics().render()).contains(QStringLiteral("tianyi_listen_false_interruptions_total 1")));
    }

    void typedChatDuringHerPlaybackStoresWhatWasPlayed()
    {
        // While listening, her turn stays open until the client has played it; a typed chat then
        // stops it, and what is stored is what was played, not every sentence that was sent.
        ChatFixture fx(listeningOptions());
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        QVERIFY(askForHerLongReply(c));
        QVERIFY(c.waitFor([&] { return c.sentenceAudioComplete(1, 4); })); // all sent, long before it is played
        QVERIFY(c.indexOfType(chat::kTurnEnd, 1) < 0);                    // held for the playback
        c.chat(QStringLiteral("typed"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2));
        const QJsonObject end1 = c.first(chat::kTurnEnd, 1);
        QCOMPARE(end1.value(QStringLiteral("status")).toString(), chat::kInterrupted);
        const QList<SentAudio> sent = sentencesOf(c, 1);
        QCOMPARE(sent.size(), 5);
        QVERIFY2(!end1.value(QStringLiteral("text")).toString().contains(sent.last().text), qPrintable(end1.value(QStringLiteral("text")).toString()));
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
    }

    void shortSoundWhileSheSpeaksUnducks()
    {
        // A backchannel shorter than voice.interruption_min_ms: duck, then unduck, and she goes on.
        ChatFixture fx(listeningOptions([](Config &c) { c.voice.interruptionMinMs = 2500; }));
        ChatTestClient c;
        QVERIFY2(openListening(fx, c), qPrintable(fx.error()));
        QVERIFY(askForHerLongReply(c));
        streamRealtime(c, sa::concat({sa::silence(300), speech(QStringLiteral("嗯，好的")), sa::silence(1200)}));
        QVERIFY(c.waitForType(QStringLiteral("unduck"), 1));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1, 30000));
        QVERIFY(c.indexOfType(QStringLiteral("duck"), 1) < c.indexOfType(QStringLiteral("unduck"), 1));
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kCompleted);
        QCOMPARE(c.countType(chat::kStopped), 0);
        QCOMPARE(c.countType(chat::kTurnStart), 1); // the backchannel is no turn
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        const QJsonObject dropped = finals(c).first();
        QCOMPARE(dropped.value(QStringLiteral("dropped")).toBool(), true);
        QCOMPARE(fx.fake.recordedCount(kAsrPath), 0); // not even recognized
    }

    // ---- the streaming path (FunASR 2pass: partial transcripts) ----------------------------------

    void funAsrPartialsThenFinal()
    {
        FunAsrListening f({QStringLiteral("今天天气很好，我们去公园吧")});
        ChatTestClient c;
        QVERIFY2(openListening(*f.fx, c), qPrintable(f.fx->error()));
        sendPcm(c, sa::concat({sa::silence(300), speech(QStringLiteral("今天天气很好，我们去公园吧")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        const QList<QJsonObject> parts = partials(c);
        QVERIFY(parts.size() >= 2);
        for (int i = 0; i < parts.size(); ++i) {
            QCOMPARE(parts.at(i).value(QStringLiteral("utterance")).toInt(), 1);
            if (i > 0) // identical partials are not relayed
                QVERIFY(parts.at(i).value(QStringLiteral("text")).toString() != parts.at(i - 1).value(QStringLiteral("text")).toString());
        }
        QCOMPARE(finals(c).size(), 1);
        QCOMPARE(finals(c).first().value(QStringLiteral("text")).toString(), QStringLiteral("今天天气很好，我们去公园吧"));
        // Partials come before the final, and the final before its turn.
        const int lastPartial = c.indexOf([](const ChatMessage &m) { return m.type() == chat::kTranscript && !m.json.value(QStringLiteral("final")).toBool(); });
        const int final = c.indexOf([](const ChatMessage &m) { return m.type() == chat::kTranscript && m.json.value(QStringLiteral("final")).toBool(); });
        QVERIFY(lastPartial < final);
        QVERIFY(final < c.indexOfType(chat::kTurnStart, 1));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("今天天气很好，我们去公园吧"));
        // One recognizer connection per utterance, fed the utterance from before its first syllable.
        QCOMPARE(f.funasr.connectionCount(), 1);
        QVERIFY(f.funasr.sessions().first().endReceived);
    }

    void funAsrFailureThenListeningGoesOn_data()
    {
        QTest::addColumn<QString>("quirk");
        QTest::newRow("close") << QStringLiteral("close");
        QTest::newRow("reset") << QStringLiteral("reset");
        QTest::newRow("malformed") << QStringLiteral("malformed");
        QTest::newRow("stall (a dead ASR)") << QStringLiteral("stall");
    }
    void funAsrFailureThenListeningGoesOn()
    {
        QFETCH(QString, quirk);
        FunAsrListening f({QStringLiteral("第一次"), QStringLiteral("第二次说")});
        f.funasr.options().quirks = {quirk};
        ChatTestClient c;
        QVERIFY2(openListening(*f.fx, c), qPrintable(f.fx->error()));
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kError));
        const QJsonObject error = allOf(c, chat::kError).first();
        QCOMPARE(error.value(QStringLiteral("code")).toString(), QStringLiteral("asr_failed"));
        QCOMPARE(error.value(QStringLiteral("utterance")).toInt(), 1);
        QVERIFY(!error.value(QStringLiteral("kind")).toString().isEmpty());
        QCOMPARE(finals(c).size(), 0);
        f.funasr.options().quirks.clear();
        sendPcm(c, sa::concat({speech(QStringLiteral("今天天气很好")), sa::silence(1500)}));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QCOMPARE(c.first(chat::kTurnStart, 1).value(QStringLiteral("user_text")).toString(), QStringLiteral("第二次说"));
        QCOMPARE(allOf(c, chat::kError).size(), 1);
        qInfo().noquote() << quirk << "->" << error.value(QStringLiteral("kind")).toString();
    }

    void funAsrBargeInNeedsWords()
    {
        FunAsrListening f({QStringLiteral("等一下，今天天气很好")});
        ChatTestClient c;
        QVERIFY2(openListening(*f.fx, c), qPrintable(f.fx->error()));
        QVERIFY(askForHerLongReply(c));
        streamRealtime(c, sa::concat({sa::silence(200), speech(QStringLiteral("等一下，今天天气很好")), sa::silence(1500)}),
                       [&] { return c.indexOfType(chat::kStopped, 1) >= 0; });
        QVERIFY(c.waitForType(chat::kStopped, 1));
        sendPcm(c, sa::silence(1500));
        QVERIFY(c.waitForType(chat::kTurnEnd, 2, 30000));
        // With a streaming recognizer the stop waits for a partial with words: duck, partial, stopped.
        const int duck = c.indexOfType(QStringLiteral("duck"), 1);
        const int firstPartial = c.indexOf([](const ChatMessage &m) { return m.type() == chat::kTranscript && !m.json.value(QStringLiteral("final")).toBool(); });
        const int stopped = c.indexOfType(chat::kStopped, 1);
        QVERIFY(duck >= 0 && firstPartial >= 0);
        QVERIFY(duck < firstPartial);
        QVERIFY(firstPartial < stopped);
        QCOMPARE(c.messages.at(stopped).json.value(QStringLiteral("reason")).toString(), QStringLiteral("voice"));
        QCOMPARE(checkTurnOrder(c.messages, 1), QString());
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kInterrupted);
        QCOMPARE(c.first(chat::kTurnStart, 2).value(QStringLiteral("user_text")).toString(), QStringLiteral("等一下，今天天气很好"));
    }
};

QTEST_GUILESS_MAIN(TestListening)
#include "tst_listening.moc"
