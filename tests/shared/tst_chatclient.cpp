// ChatClient + TurnRecorder against an in-test QWebSocketServer that plays a scripted conversation:
// binary and json audio, stop, ping, speech input, close codes, malformed server messages, caps.
#include "scriptedchatserver.h"
#include "tianyi/chatclient.h"
#include "tianyi/pcmpacer.h"
#include "tianyi/speechrecording.h"
#include "tianyi/turnrecorder.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::client;
using tianyi::test::ScriptedChatServer;

namespace {
const int kWaitMs = 20000;

QJsonObject firstOfType(const QList<QJsonObject> &messages, const QString &type)
{
    for (const QJsonObject &m : messages)
        if (m.value(QStringLiteral("type")).toString() == type)
            return m;
    return {};
}
} // namespace

class TestChatClient : public QObject
{
    Q_OBJECT

private:
    // Opens a client on the server and waits for hello.
    bool openAndGreet(ChatClient &client, ScriptedChatServer &server, AudioMode mode)
    {
        QSignalSpy hello(&client, &ChatClient::helloReceived);
        client.open(server.baseUrl(), QStringLiteral("tok-123"), mode);
        return hello.wait(kWaitMs) || hello.count() > 0;
    }

    void checkConversation(AudioMode mode)
    {
        ScriptedChatServer server;
        QVERIFY(server.listening());
        ChatClient client;
        TurnRecorder recorder;
        recorder.attach(&client);
        QSignalSpy chunks(&client, &ChatClient::audio);
        QSignalSpy deltas(&client, &ChatClient::textDelta);
        QSignalSpy protocolViolations(&client, &ChatClient::protocolViolation);
        QSignalSpy connected(&client, &ChatClient::connected);

        QVERIFY(openAndGreet(client, server, mode));
        QCOMPARE(connected.count(), 1);
        QVERIFY(client.isOpen());
        QVERIFY(client.hasHello());
        const Hello &h = client.hello();
        QCOMPARE(h.protocol, 1);
        QCOMPARE(h.sessionId, QStringLiteral("s-1"));
        QCOMPARE(h.userId, 7);
        QCOMPARE(h.username, QStringLiteral("alice"));
        QCOMPARE(h.personaName, QStringLiteral("天依"));
        QCOMPARE(h.emotions.size(), 2);
        QCOMPARE(h.labelFor(QStringLiteral("sad")), QStringLiteral("悲伤"));
        QCOMPARE(h.sampleRate, ScriptedChatServer::kSampleRate);
        QCOMPARE(h.channels, 1);
        QVERIFY(h.speechInput);
        QVERIFY(h.listening);

        const QUrlQuery query(server.requestUrls.value(0));
        QCOMPARE(server.requestUrls.value(0).path(), QStringLiteral("/ws"));
        QVERIFY(!query.hasQueryItem(QStringLiteral("token"))); // never in the URL: proxies log URLs
        QTRY_COMPARE_WITH_TIMEOUT(server.authTokens.value(0), QStringLiteral("tok-123"), kWaitMs);
        QCOMPARE(query.queryItemValue(QStringLiteral("audio")), mode == AudioMode::Json ? QStringLiteral("json") : QStringLiteral("binary"));

        QSignalSpy ended(&client, &ChatClient::turnEnded);
        client.chat(QStringLiteral("你好"), QStringLiteral("m-1"));
        QVERIFY(ended.wait(kWaitMs));

        const QJsonObject sent = firstOfType(server.received, chat::kChat);
        QCOMPARE(sent.value(QStringLiteral("text")).toString(), QStringLiteral("你好"));
        QCOMPARE(sent.value(QStringLiteral("client_msg_id")).toString(), QStringLiteral("m-1"));

        QCOMPARE(protocolViolations.count(), 0);
        QVERIFY2(recorder.violations().isEmpty(), qPrintable(recorder.violations().join(QLatin1Char('\n'))));
        const RecordedTurn *t = recorder.turn(1);
        QVERIFY(t);
        QCOMPARE(t->userText, QStringLiteral("你好"));
        QCOMPARE(t->status, chat::kCompleted);
        QCOMPARE(t->text, ScriptedChatServer::replyText());
        QCOMPARE(t->finalText, ScriptedChatServer::replyText());
        QCOMPARE(t->clientMsgId, QStringLiteral("m-1"));
        QCOMPARE(deltas.count(), 2);
        QCOMPARE(t->emotions.size(), 2);
        QCOMPARE(t->emotions.at(0).label, QStringLiteral("开心"));
        const auto script = ScriptedChatServer::script();
        QCOMPARE(t->sentences.size(), script.size());
        int expectedChunks = 0;
        for (int i = 0; i < script.size(); ++i) {
            const RecordedSentence s = t->sentences.value(i);
            QCOMPARE(s.text, script.at(i).text);
            QCOMPARE(s.emotion, script.at(i).emotion);
            QCOMPARE(s.sampleRate, ScriptedChatServer::kSampleRate);
            QCOMPARE(s.chunks, script.at(i).chunks);
            QVERIFY(s.lastChunk);
            QCOMPARE(s.pcm, ScriptedChatServer::sentencePcm(i));
            if (mode == AudioMode::Json)
                QCOMPARE(s.volumes.size(), s.chunks); // 20 ms chunks: one envelope value each
            else
                QVERIFY(s.volumes.isEmpty());
            expectedChunks += s.chunks;
        }
        QCOMPARE(chunks.count(), expectedChunks);
        const AudioChunk first = chunks.at(0).at(0).value<AudioChunk>();
        QCOMPARE(first.binary, mode == AudioMode::Binary);
        QCOMPARE(first.turn, 1);
        QCOMPARE(first.durationMs(), 20);
        if (mode == AudioMode::Json) {
            const QVector<float> expected = wav::volumeEnvelope(ScriptedChatServer::chunkPcm(0, 0), ScriptedChatServer::kSampleRate);
            QCOMPARE(first.volumes.size(), expected.size());
            QVERIFY(qAbs(first.volumes.at(0) - expected.at(0)) < 1e-4f);
            QVERIFY(first.volumes.at(0) > 0.5f);
        }
        QCOMPARE(t->stats.ttftMs, 12);
        QCOMPARE(t->stats.sentences, 2);
        QCOMPARE(t->stats.audioMs, 60);
        QCOMPARE(t->audioMs(), 60);
        QVERIFY(t->turnStartMs >= 0);
        QVERIFY(t->firstTextMs >= t->turnStartMs);
        QVERIFY(t->firstAudioMs >= t->firstTextMs);
        QVERIFY(t->turnEndMs >= t->firstAudioMs);

        QSignalSpy closed(&client, &ChatClient::disconnected);
        client.close();
        QVERIFY(closed.wait(kWaitMs) || closed.count() > 0);
        QCOMPARE(closed.count(), 1);
        QCOMPARE(closed.at(0).at(0).toInt(), 1000);
    }

private slots:
    void socketUrl()
    {
        QCOMPARE(ChatClient::socketUrl(QUrl(QStringLiteral("http://h:8080")), QStringLiteral("abc"), AudioMode::Binary).toString(),
                 QStringLiteral("ws://h:8080/ws?token=abc&audio=binary"));
        QCOMPARE(ChatClient::socketUrl(QUrl(QStringLiteral("https://example.org/tianyi/")), QStringLiteral("a.b-c_d"), AudioMode::Json).toString(),
                 QStringLiteral("wss://example.org/tianyi/ws?token=a.b-c_d&audio=json"));
        const QUrl odd = ChatClient::socketUrl(QUrl(QStringLiteral("http://h")), QStringLiteral("a&b=c+d"), AudioMode::Binary);
        QCOMPARE(QUrlQuery(odd).queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded), QStringLiteral("a&b=c+d"));
        QCOMPARE(ChatClient::socketUrl(QUrl(QStringLiteral("http://h")), QStringLiteral("t"), AudioMode::Binary, false).toString(),
                 QStringLiteral("ws://h/ws?audio=binary"));
    }

    // Numbers no qint64 holds read as absent instead of being converted (undefined behaviour, found
    // by fuzz_chat_message); fractions are dropped.
    void numbersOutOfRange()
    {
        ChatEvent e;
        e.json = QJsonObject{{QStringLiteral("turn"), 1e300}, {QStringLiteral("seq"), -1e19}, {QStringLiteral("sentence"), 2.9},
                             {QStringLiteral("stop_ms"), 9007199254740992.0}};
        QCOMPARE(e.integer(QStringLiteral("turn")), qint64(-1));
        QCOMPARE(e.integer(QStringLiteral("seq"), 7), qint64(7));
        QCOMPARE(e.integer(QStringLiteral("sentence")), qint64(2));
        QCOMPARE(e.integer(QStringLiteral("stop_ms")), qint64(9007199254740992));
        const TurnStats stats = TurnStats::fromJson(QJsonObject{{QStringLiteral("tokens"), 1e300}, {QStringLiteral("total_ms"), 1500.0}});
        QCOMPARE(stats.tokens, qint64(-1));
        QCOMPARE(stats.totalMs, qint64(1500));
    }

    void binaryConversation() { checkConversation(AudioMode::Binary); }
    void jsonConversation() { checkConversation(AudioMode::Json); }

    void stopWithPlayedMsAndPing()
    {
        ScriptedChatServer server;
        server.holdAfterFirstSentence = true;
        ChatClient client;
        TurnRecorder recorder;
        recorder.attach(&client);
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));

        QSignalSpy stopped(&client, &ChatClient::stopped);
        QSignalSpy ended(&client, &ChatClient::turnEnded);
        client.chat(QStringLiteral("tell me a story"));
        QTRY_VERIFY_WITH_TIMEOUT(recorder.turn(1) && recorder.turn(1)->sentences.value(0).lastChunk, kWaitMs);
        const RecordedTurn *t = recorder.currentTurn();
        QVERIFY(t);
        client.stop(t->turn, t->audioMs());
        recorder.onStopSent(t->turn, monotonicMs());
        QVERIFY(ended.wait(kWaitMs));
        QCOMPARE(stopped.count(), 1);
        QCOMPARE(stopped.at(0).at(0).toLongLong(), 1);
        QCOMPARE(stopped.at(0).at(1).toLongLong(), 3);

        const QJsonObject stop = firstOfType(server.received, chat::kStop);
        QCOMPARE(stop.value(QStringLiteral("turn")).toInt(), 1);
        QCOMPARE(stop.value(QStringLiteral("played_ms")).toInt(), 40);
        t = recorder.turn(1);
        QCOMPARE(t->status, chat::kInterrupted);
        QVERIFY(t->stopped);
        QCOMPARE(t->stopMs, 3);
        QVERIFY(t->stopSentMs >= 0);
        QVERIFY(recorder.violations().isEmpty());

        // A stop without turn or played_ms leaves the fields out.
        client.stop();
        QTRY_COMPARE_WITH_TIMEOUT(server.received.size(), 3, kWaitMs);
        QCOMPARE(server.received.last().keys(), QStringList{QStringLiteral("type")});

        QSignalSpy pong(&client, &ChatClient::pong);
        client.ping();
        QVERIFY(pong.wait(kWaitMs));
    }

    void speechInput()
    {
        ScriptedChatServer server;
        ChatClient client;
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QByteArray pcm(8000, '\0');
        for (int i = 0; i < pcm.size(); ++i)
            pcm[i] = char(i);
        QVERIFY(client.sendAudio(pcm, 16000, 3200));
        QTRY_COMPARE_WITH_TIMEOUT(server.received.size(), 2, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(server.receivedBinary.size(), 3, kWaitMs);
        const QJsonObject start = server.received.at(0);
        QCOMPARE(start.value(QStringLiteral("type")).toString(), chat::kAudioStart);
        QCOMPARE(start.value(QStringLiteral("sample_rate")).toInt(), 16000);
        QCOMPARE(start.value(QStringLiteral("format")).toString(), QStringLiteral("pcm_s16le"));
        QCOMPARE(server.received.at(1).value(QStringLiteral("type")).toString(), chat::kAudioEnd);
        QCOMPARE(server.receivedBinary.at(0).size(), 3200);
        QCOMPARE(server.receivedBinary.at(2).size(), 1600);
        QCOMPARE(server.receivedBinary.join(), pcm);
    }

    // Hands-free: listen_start with the rate and format, PCM as it comes (no header), listen_stop.
    void listeningStreamIsSent()
    {
        ScriptedChatServer server;
        ChatClient client;
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy listening(&client, &ChatClient::listening);
        QVERIFY(!client.isListening());
        QVERIFY(client.startListening());
        QVERIFY(client.isListening());
        QVERIFY(listening.wait(kWaitMs));
        const ListeningInfo info = listening.at(0).at(0).value<ListeningInfo>();
        QCOMPARE(info.endpointingMs, qint64(ScriptedChatServer::kEndpointingMs));
        QCOMPARE(info.interruptionMinMs, qint64(ScriptedChatServer::kInterruptionMinMs));
        const QByteArray frame(640, '\x01');
        QVERIFY(client.sendListenAudio(frame));
        QVERIFY(client.sendListenAudio(frame));
        QVERIFY(client.stopListening());
        QVERIFY(!client.isListening());
        QTRY_COMPARE_WITH_TIMEOUT(server.received.size(), 2, kWaitMs);
        const QJsonObject start = server.received.at(0);
        QCOMPARE(start.value(QStringLiteral("type")).toString(), QStringLiteral("listen_start"));
        QCOMPARE(start.value(QStringLiteral("sample_rate")).toInt(), 16000);
        QCOMPARE(start.value(QStringLiteral("format")).toString(), QStringLiteral("pcm_s16le"));
        QCOMPARE(server.received.at(1).value(QStringLiteral("type")).toString(), QStringLiteral("listen_stop"));
        QCOMPARE(server.binarySizes, (QList<int>{640, 640}));
        QCOMPARE(server.listenAudioBytes, 1280);
    }

    void listeningRefusedWithoutAsr()
    {
        ScriptedChatServer server;
        server.asrAvailable = false;
        ChatClient client;
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy errors(&client, &ChatClient::serverError);
        QSignalSpy listening(&client, &ChatClient::listening);
        QVERIFY(!client.hello().listening);
        client.startListening();
        QVERIFY(errors.wait(kWaitMs));
        QCOMPARE(errors.at(0).at(0).value<ChatEvent>().str(QStringLiteral("code")), chat::kErrAsrUnavailable);
        QCOMPARE(listening.count(), 0);
    }

    // Every listening message, each with a field no client knows (ignored), parsed into its typed signal;
    // duck/unduck name her turn but are not part of its stream, so they never count as violations.
    void listeningMessagesAreParsed()
    {
        ScriptedChatServer server;
        ChatClient client;
        TurnRecorder recorder;
        recorder.attach(&client);
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy listening(&client, &ChatClient::listening);
        QSignalSpy speechStart(&client, &ChatClient::speechStarted);
        QSignalSpy transcripts(&client, &ChatClient::transcriptReceived);
        QSignalSpy speechEnd(&client, &ChatClient::speechEnded);
        QSignalSpy ducked(&client, &ChatClient::ducked);
        QSignalSpy unducked(&client, &ChatClient::unducked);
        QSignalSpy stopped(&client, &ChatClient::stopped);
        QSignalSpy errors(&client, &ChatClient::serverError);
        QSignalSpy events(&client, &ChatClient::event);
        QSignalSpy bad(&client, &ChatClient::protocolViolation);
        QSignalSpy violations(&recorder, &TurnRecorder::violation);

        const QString extra = QStringLiteral(",\"x_new\":{\"a\":[1,2]},\"hint\":\"ignored\"}");
        auto say = [&](const QString &json) { server.broadcastText(json.chopped(1) + extra); };
        say(QStringLiteral("{\"type\":\"listening\",\"vad\":{\"endpointing_ms\":600,\"interruption_min_ms\":500,\"later\":1}}"));
        say(QStringLiteral("{\"type\":\"speech_start\",\"utterance\":3}"));
        say(QStringLiteral("{\"type\":\"transcript\",\"utterance\":3,\"text\":\"你好\",\"final\":false}"));
        say(QStringLiteral("{\"type\":\"transcript\",\"utterance\":3,\"text\":\"你好天依\",\"final\":true}"));
        say(QStringLiteral("{\"type\":\"speech_end\",\"utterance\":3,\"duration_ms\":1240}"));
        // Barge-in by voice during turn 5: duck, stopped by voice, turn_end; then a cough during turn 6: duck, unduck after it ended.
        say(QStringLiteral("{\"type\":\"turn_start\",\"turn\":5,\"user_text\":\"hi\"}"));
        say(QStringLiteral("{\"type\":\"duck\",\"turn\":5}"));
        say(QStringLiteral("{\"type\":\"stopped\",\"turn\":5,\"stop_ms\":2,\"reason\":\"voice\"}"));
        say(QStringLiteral("{\"type\":\"turn_end\",\"turn\":5,\"status\":\"interrupted\",\"text\":\"\",\"stats\":{}}"));
        say(QStringLiteral("{\"type\":\"turn_start\",\"turn\":6,\"user_text\":\"你好天依\"}"));
        say(QStringLiteral("{\"type\":\"duck\",\"turn\":6}"));
        say(QStringLiteral("{\"type\":\"turn_end\",\"turn\":6,\"status\":\"completed\",\"text\":\"嗯\",\"stats\":{}}"));
        say(QStringLiteral("{\"type\":\"unduck\",\"turn\":6}"));
        say(QStringLiteral("{\"type\":\"turn_start\",\"turn\":7,\"user_text\":\"x\"}"));
        say(QStringLiteral("{\"type\":\"stopped\",\"turn\":7,\"stop_ms\":1}"));
        say(QStringLiteral("{\"type\":\"turn_end\",\"turn\":7,\"status\":\"interrupted\",\"text\":\"\",\"stats\":{}}"));
        for (const char *code : {"rate_exceeded", "utterance_too_long", "listen_timeout"})
            say(QStringLiteral("{\"type\":\"error\",\"code\":\"%1\",\"message\":\"m\"}").arg(QLatin1String(code)));
        QTRY_COMPARE_WITH_TIMEOUT(events.count(), 19, kWaitMs);
        QCOMPARE(bad.count(), 0);

        QCOMPARE(listening.count(), 1);
        const ListeningInfo info = listening.at(0).at(0).value<ListeningInfo>();
        QCOMPARE(info.endpointingMs, 600);
        QCOMPARE(info.interruptionMinMs, 500);
        QCOMPARE(speechStart.count(), 1);
        QCOMPARE(speechStart.at(0).at(0).toLongLong(), 3);
        QCOMPARE(transcripts.count(), 2);
        const Transcript partial = transcripts.at(0).at(0).value<Transcript>();
        const Transcript final = transcripts.at(1).at(0).value<Transcript>();
        QCOMPARE(partial.utterance, 3);
        QCOMPARE(partial.text, QStringLiteral("你好"));
        QVERIFY(!partial.final);
        QCOMPARE(final.utterance, 3);
        QCOMPARE(final.text, QStringLiteral("你好天依"));
        QVERIFY(final.final);
        QCOMPARE(speechEnd.count(), 1);
        QCOMPARE(speechEnd.at(0).at(0).toLongLong(), 3);
        QCOMPARE(speechEnd.at(0).at(1).toLongLong(), 1240);
        QCOMPARE(ducked.count(), 2);
        QCOMPARE(ducked.at(0).at(0).toLongLong(), 5);
        QCOMPARE(ducked.at(1).at(0).toLongLong(), 6);
        QCOMPARE(unducked.count(), 1);
        QCOMPARE(unducked.at(0).at(0).toLongLong(), 6);
        QCOMPARE(stopped.count(), 2);
        QCOMPARE(stopped.at(0).at(0).toLongLong(), 5);
        QCOMPARE(stopped.at(0).at(1).toLongLong(), 2);
        QCOMPARE(stopped.at(0).at(2).toString(), chat::kStopReasonVoice);
        QCOMPARE(stopped.at(1).at(2).toString(), QString()); // an explicit stop has no reason
        QCOMPARE(errors.count(), 3);
        QCOMPARE(errors.at(0).at(0).value<ChatEvent>().str(QStringLiteral("code")), chat::kErrRateExceeded);
        QCOMPARE(errors.at(1).at(0).value<ChatEvent>().str(QStringLiteral("code")), chat::kErrUtteranceTooLong);
        QCOMPARE(errors.at(2).at(0).value<ChatEvent>().str(QStringLiteral("code")), chat::kErrListenTimeout);

        // Kinds and utterance numbers on the event stream too.
        const QList<ChatEvent::Kind> kinds{ChatEvent::Kind::Listening, ChatEvent::Kind::SpeechStart, ChatEvent::Kind::Transcript,
                                           ChatEvent::Kind::Transcript, ChatEvent::Kind::SpeechEnd};
        for (int i = 0; i < kinds.size(); ++i)
            QCOMPARE(events.at(i).at(0).value<ChatEvent>().kind, kinds.at(i));
        QCOMPARE(events.at(4).at(0).value<ChatEvent>().utterance(), 3);
        QCOMPARE(events.at(6).at(0).value<ChatEvent>().kind, ChatEvent::Kind::Duck);
        QVERIFY(events.at(6).at(0).value<ChatEvent>().isListening());
        QVERIFY(!events.at(6).at(0).value<ChatEvent>().belongsToTurn());
        // The recorder saw the voice stop as a stop, and no violation (unduck after turn 6's turn_end is fine).
        QVERIFY2(violations.isEmpty(), qPrintable(recorder.violations().join(QLatin1Char('\n'))));
        QVERIFY(recorder.turn(5)->stopped);
        QCOMPARE(recorder.turn(5)->status, chat::kInterrupted);
    }

    // The pacer sends frame k once the clock passed start + (k + 1) * 20 ms, catches up after a late
    // wake-up, and fills the time after the queued audio with room sound. Driven by tick() with chosen
    // times: no waiting on the wall clock.
    void pacerSendsByTheClock()
    {
        ScriptedChatServer server;
        ChatClient client;
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        client.startListening();
        PcmPacer pacer(&client);
        QSignalSpy drained(&pacer, &PcmPacer::queueDrained);
        QByteArray speech(640 * 3, '\x11'); // three frames
        QCOMPARE(pacer.enqueue(speech), 0);
        pacer.start(false);
        const qint64 t0 = pacer.startedAtMs();
        pacer.tick(t0 + 19);
        QCOMPARE(pacer.sentMs(), 0);
        pacer.tick(t0 + 20);
        QCOMPARE(pacer.sentMs(), 20);
        pacer.tick(t0 + 100); // late: the four frames owed go at once
        QCOMPARE(pacer.sentMs(), 100);
        QCOMPARE(drained.count(), 1);
        // Queued now, it starts at the next frame's audio time.
        QCOMPARE(pacer.enqueue(QByteArray(640, '\x22')), 100);
        pacer.tick(t0 + 120);
        QTRY_COMPARE_WITH_TIMEOUT(server.binarySizes.size(), 6, kWaitMs);
        QCOMPARE(server.listenAudioBytes, 6 * 640);
        QCOMPARE(drained.count(), 2);
        pacer.stop();
        pacer.tick(t0 + 1000);
        QCOMPARE(pacer.sentMs(), 120);
    }

    // A 22.05 kHz stereo recording becomes 16 kHz mono of the same length and pitch; its voiced span is found.
    void speechRecordingIsConverted()
    {
        const int rate = 22050;
        const int frames = rate; // 1 s: 0.25 s silence, 0.5 s of a 440 Hz tone, 0.25 s silence
        QByteArray stereo(frames * 4, '\0');
        for (int i = rate / 4; i < 3 * rate / 4; ++i) {
            const auto v = qint16(10000 * std::sin(2 * M_PI * 440 * i / rate));
            for (int c = 0; c < 2; ++c) {
                stereo[4 * i + 2 * c] = char(v & 0xff);
                stereo[4 * i + 2 * c + 1] = char((v >> 8) & 0xff);
            }
        }
        QString error;
        const auto r = speechFromWav(wav::file(stereo, rate, 2), &error);
        QVERIFY2(r.has_value(), qPrintable(error));
        QCOMPARE(r->sourceSampleRate, rate);
        QCOMPARE(r->sourceChannels, 2);
        QCOMPARE(r->durationMs(), 1000);
        QVERIFY2(qAbs(r->firstVoicedMs - 250) <= 10 && qAbs(r->lastVoicedMs - 750) <= 10,
                 qPrintable(QStringLiteral("%1..%2").arg(r->firstVoicedMs).arg(r->lastVoicedMs)));
        // Still 440 Hz: rising zero crossings over the middle 0.4 s.
        int crossings = 0;
        const auto sample = [&](int i) { return qint16(quint8(r->pcm[2 * i]) | (quint8(r->pcm[2 * i + 1]) << 8)); };
        for (int i = 16000 * 3 / 10; i < 16000 * 7 / 10; ++i)
            crossings += sample(i - 1) < 0 && sample(i) >= 0 ? 1 : 0;
        QVERIFY2(qAbs(crossings - 176) <= 2, qPrintable(QString::number(crossings)));
        // Refusals name the problem.
        QVERIFY(!speechFromWav(wav::header(16000, 1, 100, 8) + QByteArray(100, '\x80'), &error));
        QVERIFY2(error.contains(QStringLiteral("8-bit")), qPrintable(error));
        QVERIFY(!speechFromWav(wav::file(QByteArray(400, '\0'), 96000), &error));
        QVERIFY2(error.contains(QStringLiteral("96000 Hz")), qPrintable(error));
        QVERIFY(!speechFromWav(QByteArray("RIFF"), &error));
    }

    void authByUrlForOlderServers()
    {
        ScriptedChatServer server;
        ChatClient client;
        client.setAuthByMessage(false);
        QVERIFY(openAndGreet(client, server, AudioMode::Json));
        QCOMPARE(QUrlQuery(server.requestUrls.value(0)).queryItemValue(QStringLiteral("token")), QStringLiteral("tok-123"));
        QVERIFY(server.authTokens.isEmpty());
    }

    void reauthenticateSendsTheFreshTokenOnTheOpenSocket()
    {
        ScriptedChatServer server;
        ChatClient client;
        QVERIFY(openAndGreet(client, server, AudioMode::Json));
        client.reauthenticate(QStringLiteral("tok-456"));
        QTRY_COMPARE_WITH_TIMEOUT(server.authTokens, (QStringList{QStringLiteral("tok-123"), QStringLiteral("tok-456")}), kWaitMs);
    }

    void closeCodeIsReported()
    {
        ScriptedChatServer server;
        server.rejectWithCode = chat::kCloseUnauthorized;
        ChatClient client;
        QSignalSpy hello(&client, &ChatClient::helloReceived);
        QSignalSpy closed(&client, &ChatClient::disconnected);
        client.open(server.baseUrl(), QStringLiteral("expired"));
        QVERIFY(closed.wait(kWaitMs));
        QCOMPARE(closed.count(), 1);
        QCOMPARE(closed.at(0).at(0).toInt(), 4001);
        QCOMPARE(closed.at(0).at(1).toString(), QStringLiteral("bad or expired token"));
        QCOMPARE(client.closeCode(), 4001);
        QCOMPARE(hello.count(), 0);
        QVERIFY(!client.isOpen());
        QVERIFY(ChatClient::closeCodeName(4001).contains(QStringLiteral("unauthorized")));
    }

    void cleanCloseByTheServer()
    {
        ScriptedChatServer server;
        server.rejectWithCode = 1000;
        ChatClient client;
        QSignalSpy closed(&client, &ChatClient::disconnected);
        client.open(server.baseUrl(), QStringLiteral("t"));
        QVERIFY(closed.wait(kWaitMs));
        QCOMPARE(closed.count(), 1);
        QCOMPARE(closed.at(0).at(0).toInt(), 1000);
    }

    void connectionRefused()
    {
        quint16 port = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            port = probe.serverPort();
        }
        ChatClient client;
        QSignalSpy closed(&client, &ChatClient::disconnected);
        client.open(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), QStringLiteral("t"));
        QVERIFY(closed.wait(kWaitMs));
        QCOMPARE(closed.count(), 1);
        QCOMPARE(closed.at(0).at(0).toInt(), 1006);
        QVERIFY(!closed.at(0).at(1).toString().isEmpty());

        // Sending on a closed client is refused, not buffered.
        QSignalSpy errors(&client, &ChatClient::errorOccurred);
        QVERIFY(!client.sendJson(QJsonObject{{QStringLiteral("type"), chat::kPing}}));
        client.chat(QStringLiteral("nobody there"));
        QCOMPARE(errors.count(), 2);
    }

    void guaranteeViolationIsDetected()
    {
        ScriptedChatServer server;
        server.audioBeforeSentence = true;
        ChatClient client;
        TurnRecorder recorder;
        recorder.attach(&client);
        QSignalSpy violations(&recorder, &TurnRecorder::violation);
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy ended(&client, &ChatClient::turnEnded);
        client.chat(QStringLiteral("hi"));
        QVERIFY(ended.wait(kWaitMs));
        QCOMPARE(violations.count(), 1);
        QVERIFY(violations.at(0).at(0).toString().contains(QStringLiteral("audio of sentence 1 (seq 0) before its sentence event")));
    }

    void malformedServerMessages()
    {
        ScriptedChatServer server;
        ChatClient client;
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy bad(&client, &ChatClient::protocolViolation);
        QSignalSpy events(&client, &ChatClient::event);
        chat::AudioFrameHeader h;
        QByteArray wrongVersion = chat::encodeAudioFrame(h, QByteArray(4, '\0'));
        wrongVersion[2] = 9;
        server.broadcastBinary(wrongVersion);
        server.broadcastBinary(chat::encodeAudioFrame(h, QByteArray(3, '\0'))); // odd length
        server.broadcastBinary(QByteArray("AU"));
        server.broadcastText(QStringLiteral("not json"));
        server.broadcastText(QStringLiteral("{\"no_type\":1}"));
        server.broadcastText(QStringLiteral("{\"type\":\"audio\",\"turn\":1,\"sentence\":0,\"seq\":0,\"pcm\":\"***\"}"));
        server.broadcastText(QStringLiteral("{\"type\":\"future_event\",\"turn\":1}")); // unknown types pass as Other
        QTRY_COMPARE_WITH_TIMEOUT(bad.count(), 6, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(events.count(), 1, kWaitMs);
        const ChatEvent other = events.at(0).at(0).value<ChatEvent>();
        QCOMPARE(other.kind, ChatEvent::Kind::Other);
        QCOMPARE(other.type, QStringLiteral("future_event"));
        QVERIFY(client.isOpen());
    }

    void outgoingQueueIsBounded()
    {
        ScriptedChatServer server;
        ChatClient client;
        client.setMaxOutgoingQueueBytes(1000);
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy errors(&client, &ChatClient::errorOccurred);
        QVERIFY(!client.sendAudioFrame(QByteArray(2000, '\0')));
        QCOMPARE(errors.count(), 1);
        QVERIFY(errors.at(0).at(0).toString().contains(QStringLiteral("queue")));
        QVERIFY(client.sendAudioFrame(QByteArray(500, '\0')));
    }

    void oversizedIncomingMessageClosesTheSocket()
    {
        ScriptedChatServer server;
        ChatClient client;
        client.setMaxIncomingMessageBytes(64 * 1024);
        QVERIFY(openAndGreet(client, server, AudioMode::Binary));
        QSignalSpy closed(&client, &ChatClient::disconnected);
        chat::AudioFrameHeader h;
        server.broadcastBinary(chat::encodeAudioFrame(h, QByteArray(256 * 1024, '\0')));
        QVERIFY(closed.wait(kWaitMs));
        QCOMPARE(closed.at(0).at(0).toInt(), 1009); // message too big
    }
};

QTEST_GUILESS_MAIN(TestChatClient)
#include "tst_chatclient.moc"
