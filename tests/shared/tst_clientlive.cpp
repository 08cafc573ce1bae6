// The client library and tianyi-cli against the real server in-process (built-in demo responder
// and espeak-ng TTS, no upstreams): a whole turn in binary and json audio, barge-in with stop,
// a bad token, all checked by TurnRecorder's guarantee checker.
#include "testserver.h"
#include "tianyi/apiclient.h"
#include "tianyi/chatclient.h"
#include "tianyi/turnrecorder.h"

#include <QProcess>
#include <QSignalSpy>
#include <QtTest>
#include <optional>

using namespace tianyi;
using namespace tianyi::client;
using namespace tianyi::test;

namespace {
const QString kPassword = QStringLiteral("correct horse battery");
const int kTurnWaitMs = 120000; // espeak-ng under sanitizers is slow; this is a ceiling, not a threshold

template <typename Call>
std::optional<ApiResult> run(Call call)
{
    std::optional<ApiResult> result;
    call([&result](const ApiResult &r) { result = r; });
    if (!QTest::qWaitFor([&]() { return result.has_value(); }, 30000))
        return std::nullopt;
    return result;
}

// Registers a user and returns an access token ("" on failure).
QString accessToken(TestServer &server, const QString &username)
{
    ApiClient api(QUrl(server.baseUrl()));
    const auto reg = run([&](auto done) { api.registerUser(username, kPassword, {}, done); });
    if (!reg || !reg->ok())
        return {};
    const auto login = run([&](auto done) { api.login(username, kPassword, done); });
    if (!login || !login->ok())
        return {};
    const std::optional<Tokens> t = Tokens::fromJson(login->json);
    return t ? t->accessToken : QString();
}
} // namespace

class TestClientLive : public QObject
{
    Q_OBJECT

private:
    void wholeTurn(AudioMode mode)
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        const QString token = accessToken(server, mode == AudioMode::Json ? QStringLiteral("jay") : QStringLiteral("bea"));
        QVERIFY(!token.isEmpty());

        ChatClient client;
        TurnRecorder recorder;
        recorder.attach(&client);
        QSignalSpy hello(&client, &ChatClient::helloReceived);
        QSignalSpy bad(&client, &ChatClient::protocolViolation);
        QSignalSpy closed(&client, &ChatClient::disconnected);
        client.open(QUrl(server.baseUrl()), token, mode);
        QVERIFY2(hello.wait(30000), qPrintable(QStringLiteral("no hello; closed %1 %2").arg(client.closeCode()).arg(client.closeReason())));
        QCOMPARE(client.hello().protocol, chat::kProtocolVersion);
        QVERIFY(!client.hello().emotions.isEmpty());

        QSignalSpy finished(&recorder, &TurnRecorder::turnFinished);
        client.chat(QStringLiteral("你好，今天过得怎么样？"));
        QVERIFY(finished.wait(kTurnWaitMs));
        const RecordedTurn *t = recorder.lastTurn();
        QVERIFY(t);
        QVERIFY2(recorder.violations().isEmpty(), qPrintable(recorder.violations().join(QLatin1Char('\n'))));
        QCOMPARE(bad.count(), 0);
        QCOMPARE(t->status, chat::kCompleted);
        QCOMPARE(t->userText, QStringLiteral("你好，今天过得怎么样？"));
        QVERIFY(!t->text.isEmpty());
        QVERIFY(!t->sentences.isEmpty());
        QVERIFY(t->audioBytes() > 0);
        // hello's audio.sample_rate is optional here (each chunk carries its rate); when given, it holds.
        QVERIFY(t->sampleRate() > 0);
        if (client.hello().sampleRate > 0)
            QCOMPARE(t->sampleRate(), client.hello().sampleRate);
        for (const RecordedSentence &s : t->sentences) {
            QVERIFY(s.announced);
            QVERIFY(s.chunks == 0 || s.lastChunk);
            if (mode == AudioMode::Json && s.chunks > 0)
                QVERIFY(!s.volumes.isEmpty());
        }
        QVERIFY(t->turnStartMs >= 0 && t->turnEndMs >= t->turnStartMs);
        QVERIFY(t->stats.totalMs >= 0);
        QCOMPARE(t->stats.sentences, qint64(t->sentences.size()));
        QCOMPARE(closed.count(), 0);

        // The socket stays usable: ping.
        QSignalSpy pong(&client, &ChatClient::pong);
        client.ping();
        QVERIFY(pong.wait(30000));
    }

private slots:
    void binaryTurn() { wholeTurn(AudioMode::Binary); }
    void jsonTurn() { wholeTurn(AudioMode::Json); }

    void stopAfterFirstAudio()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        const QString token = accessToken(server, QStringLiteral("stella"));
        QVERIFY(!token.isEmpty());
        ChatClient client;
        TurnRecorder recorder;
        recorder.attach(&client);
        QSignalSpy hello(&client, &ChatClient::helloReceived);
        client.open(QUrl(server.baseUrl()), token);
        QVERIFY(hello.wait(30000));

        // Stop as soon as the first audio chunk arrives, with what was "played" so far.
        bool stopSent = false;
        connect(&client, &ChatClient::audio, this, [&](const AudioChunk &chunk) {
            if (stopSent)
                return;
            stopSent = true;
            const RecordedTurn *t = recorder.turn(chunk.turn);
            client.stop(chunk.turn, t ? t->audioMs() : 0);
            recorder.onStopSent(chunk.turn, monotonicMs());
        });
        QSignalSpy finished(&recorder, &TurnRecorder::turnFinished);
        client.chat(QStringLiteral("给我讲一个很长很长的故事吧，越长越好。"));
        QVERIFY(finished.wait(kTurnWaitMs));
        const RecordedTurn *t = recorder.lastTurn();
        QVERIFY(t);
        QVERIFY2(recorder.violations().isEmpty(), qPrintable(recorder.violations().join(QLatin1Char('\n'))));
        QVERIFY(stopSent);
        // The reply may have been complete before the stop arrived; otherwise it was interrupted.
        if (t->stopped) {
            QCOMPARE(t->status, chat::kInterrupted);
            QVERIFY(t->stopMs >= 0);
        } else {
            QCOMPARE(t->status, chat::kCompleted);
        }
    }

    void badTokenIsClosedWith4001()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        ChatClient client;
        QSignalSpy closed(&client, &ChatClient::disconnected);
        client.open(QUrl(server.baseUrl()), QStringLiteral("not.a.token"));
        QVERIFY(closed.wait(30000));
        QCOMPARE(closed.at(0).at(0).toInt(), chat::kCloseUnauthorized);
        QVERIFY(!client.hasHello());
    }

    void cliChat()
    {
        TestServer server;
        QVERIFY2(server.started(), qPrintable(server.error()));
        QVERIFY(!accessToken(server, QStringLiteral("cleo")).isEmpty());
        QProcess p;
        p.setProgram(QStringLiteral(TIANYI_BINARY_DIR "/shared/cli/tianyi-cli"));
        p.setArguments({QStringLiteral("--server"), server.baseUrl(), QStringLiteral("--user"), QStringLiteral("cleo"), QStringLiteral("--json"),
                        QStringLiteral("chat"), QStringLiteral("你好")});
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("TIANYI_CLI_PASSWORD"), kPassword);
        p.setProcessEnvironment(env);
        QSignalSpy done(&p, &QProcess::finished);
        p.start();
        p.closeWriteChannel();
        QVERIFY(done.wait(kTurnWaitMs));
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, qPrintable(out + err));
        const QJsonObject j = QJsonDocument::fromJson(out.trimmed().toUtf8()).object();
        QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("completed"));
        QVERIFY(j.value(QStringLiteral("sentences")).toInt() > 0);
        QVERIFY(j.value(QStringLiteral("audio_ms")).toInt() > 0);
        QVERIFY(!j.contains(QStringLiteral("violations")));
    }
};

QTEST_GUILESS_MAIN(TestClientLive)
#include "tst_clientlive.moc"
