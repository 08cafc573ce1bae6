// The Open-LLM-VTuber endpoint end to end: a real server in-process with the fake upstream, and a
// scripted OLV frontend (olvclient.h) over a real WebSocket on loopback.
#include "../admin/adminfixture.h"
#include "chatfixture.h"
#include "compat/floatpcm.h"
#include "compat/olvwire.h"
#include "compat/sentenceassembler.h"
#include "olvclient.h"

#include <QLoggingCategory>
#include <QMutex>
#include <QSemaphore>
#include <QtTest>
#include <cmath>
#include <tianyi/wav.h>

using namespace tianyi;
using namespace tianyi::test;

namespace {
const QString kReply = QStringLiteral("[开心]你好呀！今天想聊点什么呢？[悲伤]可是我有点累了。");
const QString kReplyText = QStringLiteral("你好呀！今天想聊点什么呢？可是我有点累了。");
const QString kLong = QStringLiteral("[开心]第一句话说完了。第二句话也说完了。第三句话还在路上。第四句话更远一些。第五句话是最后一句。");

ChatFixture::Options olvOptions(const QString &reply = kReply, std::function<void(Config &)> more = {})
{
    ChatFixture::Options o = ChatFixture::fast(reply);
    o.adjust = [more](Config &c) {
        c.compat.olvEnabled = true;
        if (more)
            more(c);
    };
    return o;
}

bool openOlv(OlvClient &c, ChatFixture &fx, const QByteArray &token)
{
    c.open(fx.port(), token);
    return c.waitForType(QStringLiteral("set-model-and-conf"));
}

// A background job (pending or running) of the user is still in the outbox.
bool userHasJobs(ChatFixture &fx, qint64 userId)
{
    std::optional<bool> answer;
    fx.app().database().read<bool>(&fx.app(), [userId](SqlSession &s) {
        return s.scalar(QStringLiteral("SELECT 1 FROM outbox WHERE user_id = ? AND status IN ('pending','running') LIMIT 1"), {userId}).has_value();
    }, [&](DbResult<bool> r) { answer = r.ok() ? *r.value : true; });
    if (!QTest::qWaitFor([&]() { return answer.has_value(); }, 10000))
        qWarning("userHasJobs: no answer from the storage thread");
    return answer.value_or(true);
}

QVector<float> sine(int samples)
{
    QVector<float> out(samples);
    for (int i = 0; i < samples; ++i)
        out[i] = float(0.5 * std::sin(2.0 * M_PI * 440.0 * i / 16000.0));
    return out;
}

QList<QJsonObject> ofType(const OlvClient &c, const QString &type)
{
    QList<QJsonObject> out;
    for (const QJsonObject &m : c.messages)
        if (OlvClient::typeOf(m) == type)
            out << m;
    return out;
}

// Every log line of the process while a LogCapture lives (the server runs in-process).
class LogCapture
{
public:
    LogCapture()
    {
        s_lines = &m_lines;
        s_previous = qInstallMessageHandler(&LogCapture::handler);
        QLoggingCategory::setFilterRules(QStringLiteral("*.debug=true"));
    }
    ~LogCapture()
    {
        QLoggingCategory::setFilterRules(QString());
        qInstallMessageHandler(s_previous);
        s_lines = nullptr;
    }
    QStringList lines() const
    {
        QMutexLocker lock(&s_mutex);
        return m_lines;
    }

private:
    static void handler(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        {
            QMutexLocker lock(&s_mutex);
            if (s_lines)
                s_lines->append(message);
        }
        if (type != QtDebugMsg && s_previous)
            s_previous(type, context, message);
    }
    QStringList m_lines;
    static inline QStringList *s_lines = nullptr;
    static inline QtMessageHandler s_previous = nullptr;
    static inline QMutex s_mutex;
};
} // namespace

class TestOlv : public QObject
{
    Q_OBJECT

private slots:
    // ---- the parts ------------------------------------------------------------------------

    void floatSamplesAreClampedAndNonNumbersAreSilence()
    {
        const QJsonArray in{1e308, -1e308, QJsonValue(), QStringLiteral("NaN"), 0.5, -1.0, 2.0};
        const std::optional<QByteArray> pcm = olv::floatSamplesToPcm(in);
        QVERIFY(pcm);
        QCOMPARE(pcm->size(), 14);
        const auto *s = reinterpret_cast<const qint16 *>(pcm->constData());
        QCOMPARE(int(s[0]), 32767);
        QCOMPARE(int(s[1]), -32767);
        QCOMPARE(int(s[2]), 0);
        QCOMPARE(int(s[3]), 0);
        QCOMPARE(int(s[4]), 16384);
        QCOMPARE(int(s[5]), -32767);
        QCOMPARE(int(s[6]), 32767);
        QJsonArray huge;
        for (int i = 0; i <= olv::kMaxSamplesPerChunk; ++i)
            huge.append(0.0);
        QVERIFY(!olv::floatSamplesToPcm(huge));
    }

    void sentencesCoveredByTheHeardText()
    {
        const QStringList sentences{QStringLiteral("你好呀！"), QStringLiteral("今天想聊点什么呢？"), QStringLiteral("Hello there.")};
        QCOMPARE(olv::sentencesCovered(QString(), sentences), 0);
        QCOMPARE(olv::sentencesCovered(QStringLiteral("你好"), sentences), 0);           // mid-sentence: not heard whole
        QCOMPARE(olv::sentencesCovered(QStringLiteral("你好呀！"), sentences), 1);
        QCOMPARE(olv::sentencesCovered(QStringLiteral("你好呀！今天想聊点什么呢？Hello"), sentences), 2);
        QCOMPARE(olv::sentencesCovered(QStringLiteral("你好呀！ 今天想聊点什么呢？ Hello there."), sentences), 3);
        QCOMPARE(olv::sentencesCovered(QStringLiteral("别的话"), sentences), 0);
    }

    void assemblerMakesOneWavWithTwentyMsVolumes()
    {
        olv::SentenceAssembler a(64000);
        const int rate = 32000;
        const QByteArray part(rate / 10 * 2, '\x10'); // 100 ms
        QVERIFY(!a.add(0, rate, part, false));
        const auto whole = a.add(0, rate, part.left(rate / 100 * 2 + 2), true); // + 10 ms and one sample
        QVERIFY(whole);
        QCOMPARE(whole->index, 0);
        wav::Format format;
        QByteArray pcm;
        QVERIFY(wav::parseFile(whole->wav, &format, &pcm));
        QCOMPARE(format.sampleRate, rate);
        QCOMPARE(format.channels, 1);
        QCOMPARE(pcm.size(), part.size() + rate / 100 * 2 + 2);
        const int samples = int(pcm.size() / 2);
        QCOMPARE(whole->volumes.size(), int(std::ceil(samples / (rate * 0.020))));
        QCOMPARE(whole->durationMs, 110);
        // Over the cap: the duration stays, the audio goes (shown as text only).
        QVERIFY(!a.add(1, rate, QByteArray(60000, '\x10'), false));
        const auto big = a.add(1, rate, QByteArray(8000, '\x10'), true);
        QVERIFY(big);
        QVERIFY(big->wav.isEmpty());
        QCOMPARE(big->durationMs, 68000 * 1000 / (rate * 2));
    }

    // ---- the endpoint ---------------------------------------------------------------------

    void endpointIsOffByDefault()
    {
        ChatFixture fx(ChatFixture::fast(kReply));
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const RawExchange r = rawExchange(fx.port(), "GET /client-ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 5000);
        QCOMPARE(r.status(), 404); // an ordinary HTTP answer: no upgrade
        QVERIFY(!r.received.contains("101 Switching Protocols"));
    }

    void missingOrBadTokenCloses4001_andNoTokenIsLogged()
    {
        LogCapture log;
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient none;
        none.open(fx.port(), QByteArray());
        QVERIFY(none.waitClosed());
        QCOMPARE(none.closeCode, chat::kCloseUnauthorized);
        const QByteArray badToken = "eyJhbGciOiJIUzI1NiJ9.bm90LWEtcmVhbC10b2tlbg.c2VjcmV0LXNpZ25hdHVyZS14eXo";
        OlvClient bad;
        bad.open(fx.port(), badToken);
        QVERIFY(bad.waitClosed());
        QCOMPARE(bad.closeCode, chat::kCloseUnauthorized);
        QVERIFY(bad.messages.isEmpty());
        // A good token: a whole turn, and the token is in no log line either.
        const ChatUser u = fx.user();
        OlvClient good;
        QVERIFY(openOlv(good, fx, u.token));
        good.textInput(QStringLiteral("你好"));
        QVERIFY(good.waitForType(QStringLiteral("backend-synth-complete")));
        good.socket.close();
        QVERIFY(good.waitClosed());
        const QStringList lines = log.lines();
        QVERIFY(lines.size() > 5); // the capture saw the server's lines
        for (const QString &line : lines) {
            QVERIFY2(!line.contains(QString::fromLatin1(badToken)), qPrintable(line));
            QVERIFY2(!line.contains(QString::fromLatin1(u.token)), qPrintable(line));
            QVERIFY2(!line.contains(QString::fromLatin1(u.token.split('.').last())), qPrintable(line));
        }
    }

    void textTurnInOlvOrder()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        OlvClient c;
        // OLV's frontend sends its first requests the moment the socket opens, before any answer:
        // the storage thread is held so that they arrive while the account is still being checked.
        auto gate = std::make_shared<QSemaphore>();
        fx.app().database().write<bool>(&fx.app(), [gate](SqlSession &) { return gate->tryAcquire(1, 20000); }, [](DbResult<bool>) {});
        c.open(fx.port(), u.token);
        QVERIFY(c.waitConnected());
        c.sendOpeningMessages();
        c.sendType(QStringLiteral("heartbeat"));
        QVERIFY(c.waitFor([&]() { return c.socket.bytesToWrite() == 0; }));
        QVERIFY(c.messages.isEmpty());
        gate->release();
        QVERIFY(c.waitForType(QStringLiteral("new-history-created")));
        QVERIFY(c.waitForType(QStringLiteral("heartbeat-ack")));
        QCOMPARE(OlvClient::typeOf(c.messages.first()), QStringLiteral("full-text"));
        QCOMPARE(OlvClient::typeOf(c.messages.at(1)), QStringLiteral("set-model-and-conf"));
        const QJsonObject conf = c.first(QStringLiteral("set-model-and-conf"));
        QCOMPARE(conf.value(QStringLiteral("conf_uid")).toString(), QStringLiteral("luotianyi"));
        QCOMPARE(conf.value(QStringLiteral("conf_name")).toString(), QStringLiteral("洛天依"));
        QVERIFY(!conf.value(QStringLiteral("client_uid")).toString().isEmpty());
        QVERIFY(conf.value(QStringLiteral("model_info")).isNull()); // no Live2D model configured
        QCOMPARE(c.count(QStringLiteral("control:start-mic")), 0);  // no speech input configured

        QCOMPARE(c.first(QStringLiteral("background-files")).value(QStringLiteral("files")).toArray().size(), 0);
        const QJsonArray configs = c.first(QStringLiteral("config-files")).value(QStringLiteral("configs")).toArray();
        QCOMPARE(configs.size(), 1);
        QVERIFY(c.waitForType(QStringLiteral("history-list")));

        const int from = c.messages.size();
        c.textInput(QStringLiteral("你好"));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete"), from));
        // Nothing ends the chain, and the turn is not stored, before the client says its playback is complete.
        QCOMPARE(c.indexOf(QStringLiteral("force-new-message"), from), -1);
        QVERIFY(fx.storedTurns(u.id).isEmpty()); // only a pending row, which the history leaves out
        c.sendType(QStringLiteral("frontend-playback-complete"));
        QVERIFY(c.waitForType(QStringLiteral("control:conversation-chain-end"), from));
        const QVector<StoredTurn> stored = fx.storedTurns(u.id);
        QCOMPARE(stored.size(), 1);
        QCOMPARE(stored.first().status, chat::kCompleted);
        QCOMPARE(stored.first().replyText, kReplyText);

        QStringList expected{QStringLiteral("control:conversation-chain-start"), QStringLiteral("full-text")};
        const QList<QJsonObject> audios = ofType(c, QStringLiteral("audio"));
        QVERIFY(audios.size() >= 2);
        for (int i = 0; i < audios.size(); ++i)
            expected << QStringLiteral("audio");
        expected << QStringLiteral("backend-synth-complete") << QStringLiteral("force-new-message") << QStringLiteral("control:conversation-chain-end");
        QCOMPARE(c.types(from), expected);
        QCOMPARE(c.messages.at(from + 1).value(QStringLiteral("text")).toString(), QStringLiteral("Thinking..."));

        QString shown;
        for (const QJsonObject &a : audios) {
            QByteArray pcm;
            wav::Format format;
            QVERIFY(wav::parseFile(QByteArray::fromBase64(a.value(QStringLiteral("audio")).toString().toLatin1()), &format, &pcm));
            QCOMPARE(format.channels, 1);
            QCOMPARE(format.bitsPerSample, 16);
            QVERIFY(!pcm.isEmpty());
            const double sliceSamples = format.sampleRate * 0.020;
            QCOMPARE(a.value(QStringLiteral("volumes")).toArray().size(), int(std::ceil((pcm.size() / 2) / sliceSamples)));
            QCOMPARE(a.value(QStringLiteral("slice_length")).toInt(), 20);
            QCOMPARE(a.value(QStringLiteral("display_text")).toObject().value(QStringLiteral("name")).toString(), QStringLiteral("洛天依"));
            QCOMPARE(a.value(QStringLiteral("forwarded")).toBool(true), false);
            shown += a.value(QStringLiteral("display_text")).toObject().value(QStringLiteral("text")).toString();
        }
        QCOMPARE(shown, kReplyText);
        auto expressionOf = [](const QJsonObject &a) {
            return a.value(QStringLiteral("actions")).toObject().value(QStringLiteral("expressions")).toArray().first().toString();
        };
        QCOMPARE(expressionOf(audios.first()), QStringLiteral("happy")); // [开心] -> happy's live2d_expression
        QCOMPARE(expressionOf(audios.last()), QStringLiteral("sad"));    // [悲伤]
    }

    void failedSpeechIsShownAsTextOnly()
    {
        ChatFixture::Options o = olvOptions();
        o.ttsFault = QStringLiteral("500");
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        c.textInput(QStringLiteral("你好"));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete")));
        QCOMPARE(c.count(QStringLiteral("error")), 1); // speech synthesis is unavailable, once
        QString shown;
        for (const QJsonObject &a : ofType(c, QStringLiteral("audio"))) {
            QVERIFY(a.value(QStringLiteral("audio")).isNull());
            QCOMPARE(a.value(QStringLiteral("volumes")).toArray().size(), 0);
            shown += a.value(QStringLiteral("display_text")).toObject().value(QStringLiteral("text")).toString();
        }
        QCOMPARE(shown, kReplyText);
        c.sendType(QStringLiteral("frontend-playback-complete"));
        QVERIFY(c.waitForType(QStringLiteral("control:conversation-chain-end")));
        // A text over chat.max_text_chars: an error, and the socket stays.
        c.textInput(QString(fx.app().config().chat.maxTextChars + 1, QLatin1Char('a')));
        QVERIFY(c.waitFor([&]() { return c.count(QStringLiteral("error")) == 2; }));
        QVERIFY(ofType(c, QStringLiteral("error")).last().value(QStringLiteral("message")).toString().contains(QStringLiteral("longer than")));
        QVERIFY(!c.closed);
    }

    void modelInfoNamesTheLive2dModelAndAgreesWithTheExpressions()
    {
        const QString dir = QStringLiteral(TIANYI_SOURCE_DIR "/resources");
        ChatFixture fx(olvOptions(kReply, [dir](Config &c) {
            c.web.live2dDir = dir;
            c.web.live2dModel = QStringLiteral("personas/luotianyi.json"); // any existing file: only its URL matters here
        }));
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        const QJsonObject info = c.first(QStringLiteral("set-model-and-conf")).value(QStringLiteral("model_info")).toObject();
        QCOMPARE(info.value(QStringLiteral("url")).toString(), QStringLiteral("/live2d/personas/luotianyi.json"));
        const QJsonObject map = info.value(QStringLiteral("emotionMap")).toObject();
        QCOMPARE(map.value(QStringLiteral("happy")).toString(), QStringLiteral("happy"));
        QCOMPARE(map.value(QStringLiteral("calm")).toString(), QStringLiteral("neutral"));
        QCOMPARE(map.value(QStringLiteral("开心")).toString(), QStringLiteral("happy"));
    }

    void playbackHandshakeTimesOut()
    {
        ChatFixture fx(olvOptions(kReply, [](Config &c) { c.compat.olvPlaybackTimeoutMs = 1000; }));
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        OlvClient c;
        QVERIFY(openOlv(c, fx, u.token));
        c.textInput(QStringLiteral("你好"));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete")));
        QCOMPARE(c.indexOf(QStringLiteral("force-new-message")), -1);
        // Never answering frontend-playback-complete: the chain still ends.
        QVERIFY(c.waitForType(QStringLiteral("control:conversation-chain-end")));
        QVERIFY(c.indexOf(QStringLiteral("force-new-message")) > c.indexOf(QStringLiteral("backend-synth-complete")));
        QCOMPARE(fx.storedTurns(u.id).first().status, chat::kCompleted);
        // And the next turn runs normally.
        const int from = c.messages.size();
        c.textInput(QStringLiteral("再说一次"));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete"), from));
        QVERIFY(c.indexOf(QStringLiteral("control:conversation-chain-start"), from) >= 0);
    }

    void interruptMidTurnStoresOnlyTheHeardSentences()
    {
        ChatFixture::Options o = olvOptions(kLong);
        o.fake.ttsRealTimeFactor = 1.0; // a sentence takes as long to synthesize as to play
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        OlvClient c;
        QVERIFY(openOlv(c, fx, u.token));
        c.textInput(QStringLiteral("讲个故事"));
        QVERIFY(c.waitFor([&]() { return c.count(QStringLiteral("audio")) >= 2; }));
        // use-interrupt.ts: the display texts of the sentences played so far.
        QString heard;
        for (const QJsonObject &a : ofType(c, QStringLiteral("audio")).mid(0, 2))
            heard += a.value(QStringLiteral("display_text")).toObject().value(QStringLiteral("text")).toString();
        QCOMPARE(heard, QStringLiteral("第一句话说完了。第二句话也说完了。"));
        c.send({{QStringLiteral("type"), QStringLiteral("interrupt-signal")}, {QStringLiteral("text"), heard}});
        QVERIFY(c.waitForType(QStringLiteral("control:conversation-chain-end")));
        const int audiosAtEnd = c.count(QStringLiteral("audio"));
        QVERIFY(audiosAtEnd < 5);
        QCOMPARE(c.count(QStringLiteral("backend-synth-complete")), 0);

        HttpClient http(fx.server->baseUrl());
        QVERIFY(c.waitFor([&]() {
            const QJsonArray turns = http.get(QStringLiteral("/api/v1/me/history"), u.token).json().value(QStringLiteral("turns")).toArray();
            return !turns.isEmpty() && turns.first().toObject().value(QStringLiteral("status")).toString() == chat::kInterrupted;
        }));
        const QJsonObject turn = http.get(QStringLiteral("/api/v1/me/history"), u.token).json().value(QStringLiteral("turns")).toArray().first().toObject();
        QCOMPARE(turn.value(QStringLiteral("reply_text")).toString(), heard);
        // Nothing of the turn after its end.
        const int end = c.indexOf(QStringLiteral("control:conversation-chain-end"));
        QCOMPARE(c.count(QStringLiteral("audio"), end), 0);
        QCOMPARE(c.count(QStringLiteral("audio")), audiosAtEnd);
    }

    void interruptDuringPlaybackStoresOnlyTheHeardSentences()
    {
        // OLV's clients play long after the audio was sent: an interrupt after backend-synth-complete
        // still stores only what was heard.
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        OlvClient c;
        QVERIFY(openOlv(c, fx, u.token));
        c.textInput(QStringLiteral("你好"));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete")));
        const QString first = ofType(c, QStringLiteral("audio")).first().value(QStringLiteral("display_text")).toObject().value(QStringLiteral("text")).toString();
        QVERIFY(!first.isEmpty());
        QVERIFY(first != kReplyText);
        c.send({{QStringLiteral("type"), QStringLiteral("interrupt-signal")}, {QStringLiteral("text"), first}});
        QVERIFY(c.waitForType(QStringLiteral("control:conversation-chain-end")));
        const QVector<StoredTurn> stored = fx.storedTurns(u.id);
        QCOMPARE(stored.size(), 1);
        QCOMPARE(stored.first().status, chat::kInterrupted);
        QCOMPARE(stored.first().replyText, first);
    }

    void microphoneInputIsTranscribedAndStartsTheTurn()
    {
        ChatFixture::Options o = olvOptions();
        o.asr = true;
        o.fake.asrText = QStringLiteral("你好");
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        QVERIFY(c.waitForType(QStringLiteral("control:start-mic")));
        const int from = c.messages.size();
        c.speak(sine(3 * OlvClient::kMicChunkSamples + 100));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete"), from));
        QCOMPARE(fx.fake.recordedCount(QStringLiteral("/v1/audio/transcriptions")), 1);
        const QStringList types = c.types(from);
        QCOMPARE(types.mid(0, 4), (QStringList{QStringLiteral("control:conversation-chain-start"), QStringLiteral("full-text"),
                                                QStringLiteral("user-input-transcription"), QStringLiteral("audio")}));
        QCOMPARE(c.first(QStringLiteral("user-input-transcription"), from).value(QStringLiteral("text")).toString(), QStringLiteral("你好"));
    }

    void microphoneWithoutSpeechInputIsAnErrorNotAClose()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        c.speak(sine(2 * OlvClient::kMicChunkSamples));
        QVERIFY(c.waitForType(QStringLiteral("error")));
        QVERIFY(c.first(QStringLiteral("error")).value(QStringLiteral("message")).toString().contains(QStringLiteral("not configured")));
        QCOMPARE(c.count(QStringLiteral("error")), 1); // the later chunks and the end are not errors
        c.sendType(QStringLiteral("heartbeat"));
        QVERIFY(c.waitForType(QStringLiteral("heartbeat-ack")));
        QVERIFY(!c.closed);
    }

    void hugeAndNonNumericSamples()
    {
        ChatFixture::Options o = olvOptions();
        o.asr = true;
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        QJsonArray huge;
        for (int i = 0; i < olv::kMaxSamplesPerChunk + 1; ++i)
            huge.append(0.25);
        c.send({{QStringLiteral("type"), QStringLiteral("mic-audio-data")}, {QStringLiteral("audio"), huge}});
        QVERIFY(c.waitForType(QStringLiteral("error")));
        QVERIFY(c.first(QStringLiteral("error")).value(QStringLiteral("message")).toString().contains(QStringLiteral("at most")));
        // NaN cannot be written in JSON; what a hostile client can send instead is silence, not a crash.
        c.send({{QStringLiteral("type"), QStringLiteral("mic-audio-data")},
                {QStringLiteral("audio"), QJsonArray{QStringLiteral("NaN"), QJsonValue(), 1e308, -1e308, QJsonObject(), 0.1}}});
        c.sendType(QStringLiteral("mic-audio-end"));
        QVERIFY(c.waitForType(QStringLiteral("user-input-transcription")));
        QCOMPARE(c.count(QStringLiteral("error")), 1);
        // Over SpeechInput's cap (chat.max_audio_input_seconds): too large, nothing transcribed.
        const int seconds = fx.app().config().chat.maxAudioInputSeconds;
        const int asrRequests = fx.fake.recordedCount(QStringLiteral("/v1/audio/transcriptions"));
        const int errors = c.count(QStringLiteral("error"));
        c.speak(QVector<float>((seconds + 1) * olv::kMicSampleRate, 0.1f));
        QVERIFY(c.waitFor([&]() { return c.count(QStringLiteral("error")) > errors; }));
        c.sendType(QStringLiteral("heartbeat"));
        QVERIFY(c.waitForType(QStringLiteral("heartbeat-ack")));
        QCOMPARE(fx.fake.recordedCount(QStringLiteral("/v1/audio/transcriptions")), asrRequests);
        QVERIFY(!c.closed);
    }

    void malformedMessagesCloseAfterTheLimit()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        const int limit = fx.app().config().chat.maxMalformed;
        c.sendType(QStringLiteral("raw-audio-data")); // server-side voice detection: not supported
        QVERIFY(c.waitForType(QStringLiteral("error")));
        for (int i = 1; i < limit && !c.closed; ++i)
            c.sendType(QStringLiteral("no-such-message"));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseAbuse);
        QCOMPARE(c.count(QStringLiteral("error")), limit);
    }

    void historyRequestsOneAtATime()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        OlvClient c;
        QVERIFY(openOlv(c, fx, fx.user().token));
        const int burst = 50;
        for (int i = 0; i < burst; ++i)
            c.sendType(QStringLiteral("fetch-history-list"));
        c.sendType(QStringLiteral("heartbeat"));
        QVERIFY(c.waitForType(QStringLiteral("heartbeat-ack")));
        QVERIFY(c.waitFor([&]() { return c.count(QStringLiteral("history-list")) + c.count(QStringLiteral("error")) == burst; }));
        // Storage reads one at a time: most of the burst is refused, not queued.
        QVERIFY(c.count(QStringLiteral("history-list")) >= 1);
        QVERIFY(c.count(QStringLiteral("history-list")) < burst);
        QVERIFY(!c.closed);
    }

    void historiesAreTheUsersOwn()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser alice = fx.user();
        const ChatUser bob = fx.user();
        OlvClient a;
        QVERIFY(openOlv(a, fx, alice.token));
        a.sendOpeningMessages();
        QVERIFY(a.waitForType(QStringLiteral("new-history-created")));
        const QString uid = a.first(QStringLiteral("new-history-created")).value(QStringLiteral("history_uid")).toString();
        QVERIFY(!uid.isEmpty());
        a.textInput(QStringLiteral("你好"));
        QVERIFY(a.waitForType(QStringLiteral("backend-synth-complete")));
        a.sendType(QStringLiteral("frontend-playback-complete"));
        QVERIFY(a.waitForType(QStringLiteral("control:conversation-chain-end")));
        QVERIFY(a.waitFor([&]() { return fx.storedTurns(alice.id).size() == 1 && fx.storedTurns(alice.id).first().status == chat::kCompleted; }));

        int from = a.messages.size();
        a.sendType(QStringLiteral("fetch-history-list"));
        QVERIFY(a.waitForType(QStringLiteral("history-list"), from));
        const QJsonArray list = a.first(QStringLiteral("history-list"), from).value(QStringLiteral("histories")).toArray();
        QCOMPARE(list.size(), 1);
        QCOMPARE(list.first().toObject().value(QStringLiteral("uid")).toString(), uid);
        QCOMPARE(list.first().toObject().value(QStringLiteral("latest_message")).toObject().value(QStringLiteral("content")).toString(), kReplyText);
        from = a.messages.size();
        a.send({{QStringLiteral("type"), QStringLiteral("fetch-and-set-history")}, {QStringLiteral("history_uid"), uid}});
        QVERIFY(a.waitForType(QStringLiteral("history-data"), from));
        const QJsonArray messages = a.first(QStringLiteral("history-data"), from).value(QStringLiteral("messages")).toArray();
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages.at(0).toObject().value(QStringLiteral("role")).toString(), QStringLiteral("human"));
        QCOMPARE(messages.at(0).toObject().value(QStringLiteral("content")).toString(), QStringLiteral("你好"));
        QCOMPARE(messages.at(1).toObject().value(QStringLiteral("role")).toString(), QStringLiteral("ai"));
        QCOMPARE(messages.at(1).toObject().value(QStringLiteral("content")).toString(), kReplyText);
        QVERIFY(messages.at(0).toObject().value(QStringLiteral("id")).toString() != messages.at(1).toObject().value(QStringLiteral("id")).toString());

        // Bob sees none of it, by list or by uid, and cannot delete it.
        OlvClient b;
        QVERIFY(openOlv(b, fx, bob.token));
        b.sendType(QStringLiteral("fetch-history-list"));
        QVERIFY(b.waitForType(QStringLiteral("history-list")));
        QCOMPARE(b.first(QStringLiteral("history-list")).value(QStringLiteral("histories")).toArray().size(), 0);
        b.send({{QStringLiteral("type"), QStringLiteral("fetch-and-set-history")}, {QStringLiteral("history_uid"), uid}});
        QVERIFY(b.waitForType(QStringLiteral("error")));
        b.send({{QStringLiteral("type"), QStringLiteral("delete-history")}, {QStringLiteral("history_uid"), uid}});
        QVERIFY(b.waitForType(QStringLiteral("history-deleted")));
        QCOMPARE(b.first(QStringLiteral("history-deleted")).value(QStringLiteral("success")).toBool(true), false);
        b.sendType(QStringLiteral("heartbeat"));
        QVERIFY(b.waitForType(QStringLiteral("heartbeat-ack")));
        QCOMPARE(b.count(QStringLiteral("history-data")), 0);
        QVERIFY(!b.closed);
        QCOMPARE(fx.storedTurns(alice.id).size(), 1);
        for (const QJsonObject &m : b.messages)
            QVERIFY(!QJsonDocument(m).toJson().contains(kReplyText.toUtf8()));

        // Alice deletes it, once the turn's background jobs (memories, summary) are over: while one runs
        // the deletion is refused (tst_history covers that answer).
        QVERIFY(a.waitFor([&]() { return !userHasJobs(fx, alice.id); }));
        from = a.messages.size();
        a.send({{QStringLiteral("type"), QStringLiteral("delete-history")}, {QStringLiteral("history_uid"), uid}});
        QVERIFY(a.waitForType(QStringLiteral("history-deleted"), from));
        QVERIFY(a.first(QStringLiteral("history-deleted"), from).value(QStringLiteral("success")).toBool());
        QCOMPARE(a.first(QStringLiteral("history-deleted"), from).value(QStringLiteral("history_uid")).toString(), uid);
        QVERIFY(fx.storedTurns(alice.id).isEmpty());
        from = a.messages.size();
        a.sendType(QStringLiteral("fetch-history-list"));
        QVERIFY(a.waitForType(QStringLiteral("history-list"), from));
        QCOMPARE(a.first(QStringLiteral("history-list"), from).value(QStringLiteral("histories")).toArray().size(), 0);
        // Her next turn starts another conversation: the deleted one does not come back.
        from = a.messages.size();
        a.textInput(QStringLiteral("还在吗"));
        QVERIFY(a.waitForType(QStringLiteral("backend-synth-complete"), from));
        a.sendType(QStringLiteral("frontend-playback-complete"));
        QVERIFY(a.waitForType(QStringLiteral("control:conversation-chain-end"), from));
        QVERIFY(a.waitFor([&]() { return fx.storedTurns(alice.id).size() == 1; }));
        QVERIFY(fx.storedTurns(alice.id).first().sessionId != uid);
    }

    void deviceTokenOpensTheEndpoint_andRevokingItClosesTheSocket()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const ChatUser u = fx.user();
        HttpClient http(fx.server->baseUrl());
        const HttpResult made = http.postJson(QStringLiteral("/api/v1/me/device-tokens"),
                                              {{QStringLiteral("name"), QStringLiteral("desk pet")},
                                               {QStringLiteral("password"), QStringLiteral("correct horse battery")}},
                                              u.token);
        QCOMPARE(made.status, 201);
        const QByteArray device = made.json().value(QStringLiteral("token")).toString().toLatin1();
        const QString loginId = made.json().value(QStringLiteral("id")).toString();
        QVERIFY(!device.isEmpty());

        OlvClient c;
        QVERIFY(openOlv(c, fx, device));
        c.textInput(QStringLiteral("你好"));
        QVERIFY(c.waitForType(QStringLiteral("backend-synth-complete")));
        c.sendType(QStringLiteral("frontend-playback-complete"));
        QVERIFY(c.waitForType(QStringLiteral("control:conversation-chain-end")));
        QCOMPARE(fx.storedTurns(u.id).size(), 1); // the device token's turns are the account's

        // Revoking the device's login ends its socket at once.
        const HttpResult revoked = http.request("DELETE", QStringLiteral("/api/v1/me/logins/") + loginId, {},
                                                {{"Authorization", "Bearer " + u.token}});
        QCOMPARE(revoked.status, 204);
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseUnauthorized);
        OlvClient again;
        again.open(fx.port(), device);
        QVERIFY(again.waitClosed());
        QCOMPARE(again.closeCode, chat::kCloseUnauthorized);
        QCOMPARE(again.count(QStringLiteral("set-model-and-conf")), 0);
    }

    void live2dFolderIsReadableFromOtherOriginsOnlyWithTheEndpoint()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("m")));
        QFile model(dir.filePath(QStringLiteral("m/m.model3.json")));
        QVERIFY(model.open(QIODevice::WriteOnly));
        model.write("{\"Version\":3}");
        model.close();
        for (const bool enabled : {true, false}) {
            ChatFixture::Options o = ChatFixture::fast(kReply);
            o.adjust = [&](Config &c) {
                c.compat.olvEnabled = enabled;
                c.web.live2dDir = dir.path();
                c.web.live2dModel = QStringLiteral("m/m.model3.json");
            };
            ChatFixture fx(o);
            QVERIFY2(fx.started(), qPrintable(fx.error()));
            HttpClient http(fx.server->baseUrl());
            const HttpResult r = http.get(QStringLiteral("/live2d/m/m.model3.json"));
            QCOMPARE(r.status, 200);
            QCOMPARE(r.body, QByteArray("{\"Version\":3}"));
            QCOMPARE(r.header("Access-Control-Allow-Origin"), enabled ? QByteArray("*") : QByteArray());
            // The API never gets it: the header is for the model's public files only.
            QCOMPARE(http.get(QStringLiteral("/api/v1/me/profile")).header("Access-Control-Allow-Origin"), QByteArray());
        }
    }

    void adminSeesTheOlvSession()
    {
        ChatFixture fx(olvOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser u = fx.user(QStringLiteral("olvfan"));
        OlvClient c;
        QVERIFY(openOlv(c, fx, u.token));
        const QString sessionId = c.first(QStringLiteral("set-model-and-conf")).value(QStringLiteral("client_uid")).toString();
        HttpClient http(fx.server->baseUrl());
        const HttpResult r = http.get(QStringLiteral("/api/v1/admin/sessions"), admin.token);
        QCOMPARE(r.status, 200);
        QJsonObject found;
        for (const QJsonValue &v : r.json().value(QStringLiteral("sessions")).toArray())
            if (v.toObject().value(QStringLiteral("id")).toString() == sessionId)
                found = v.toObject();
        QCOMPARE(found.value(QStringLiteral("username")).toString(), QStringLiteral("olvfan"));
        QCOMPARE(found.value(QStringLiteral("user_id")).toInteger(), u.id);
        QCOMPARE(found.value(QStringLiteral("device")).toString(), QStringLiteral("Open-LLM-VTuber")); // the client names none
    }
};

QTEST_MAIN(TestOlv)
#include "tst_olv.moc"
