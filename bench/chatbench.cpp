// tianyi-chatbench: server-added latency of the conversation pipeline (issue 4; scenario 1 of issue 8).
//
// N virtual users register, open a chat socket each, and send a chat at the same moment; the bench
// records client-side TTFT, first audio and (with --stop-after-ms) stop latency per turn. It also
// measures the upstream baseline directly, from this process, against the same fake upstream:
//   upstream TTFT         = time to the first delta of a direct /chat/completions stream
//   upstream first clause = time until the sentence segmenter closes the first clause on that stream
//   upstream TTS first    = time to the first PCM byte of a direct streaming /tts request
// so that   server-added TTFT        = client TTFT - upstream TTFT
//           server-added first audio = client first audio - (upstream first clause + upstream TTS first)
//
// Usage: tianyi-chatbench --server URL --fake URL [--sessions 100] [--stop-after-ms N] [--text T] [--rounds 1]

#include "tianyi/apiclient.h"
#include "tianyi/chatclient.h"
#include "tianyi/emotiontagparser.h"
#include "tianyi/sentencesegmenter.h"
#include "tianyi/sseparser.h"
#include "tianyi/turnrecorder.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

using namespace tianyi;
using namespace tianyi::client;

namespace {

QJsonObject summary(std::vector<double> v)
{
    if (v.empty())
        return {{QStringLiteral("count"), 0}};
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))]; };
    return {{QStringLiteral("count"), int(v.size())}, {QStringLiteral("p50"), at(0.5)}, {QStringLiteral("p95"), at(0.95)},
            {QStringLiteral("p99"), at(0.99)}, {QStringLiteral("max"), v.back()}};
}

// One direct streamed completion against the fake: time to first delta and to the first clause.
struct Baseline {
    double ttftMs = -1;
    double firstClauseMs = -1;
    double ttsFirstMs = -1;
};

// The baseline goes through the same text stages as the server (emotion tags removed, then the
// segmenter with the same early-cut setting), so it counts what is inherent in the reply, not in us.
Baseline measureBaseline(const QString &fakeUrl, const QString &text, bool earlyCut)
{
    Baseline b;
    QNetworkAccessManager nam;
    {
        QNetworkRequest req(QUrl(fakeUrl + QStringLiteral("/v1/chat/completions")));
        req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("model"), QStringLiteral("m")}, {QStringLiteral("stream"), true},
                                                          {QStringLiteral("messages"), QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                                                                                              {QStringLiteral("content"), text}}}}})
                                    .toJson();
        QElapsedTimer t;
        t.start();
        QNetworkReply *reply = nam.post(req, body);
        SseParser parser;
        EmotionTagParser tags({QStringLiteral("开心"), QStringLiteral("生气"), QStringLiteral("悲伤"), QStringLiteral("惊讶"),
                               QStringLiteral("撒娇"), QStringLiteral("平静")});
        SegmenterOptions segmenterOptions;
        segmenterOptions.earlyFirstClause = earlyCut;
        SentenceSegmenter segmenter(segmenterOptions);
        QEventLoop loop;
        QObject::connect(reply, &QNetworkReply::readyRead, &loop, [&]() {
            for (const SseEvent &e : parser.feed(reply->readAll())) {
                const QJsonObject o = QJsonDocument::fromJson(e.data.toUtf8()).object();
                const QString delta = o.value(QStringLiteral("choices")).toArray().at(0).toObject().value(QStringLiteral("delta")).toObject().value(QStringLiteral("content")).toString();
                QString visible;
                for (const EmotionTagPiece &piece : tags.feed(delta))
                    if (piece.kind == EmotionTagPiece::Kind::Text)
                        visible += piece.text;
                if (visible.isEmpty())
                    continue;
                if (b.ttftMs < 0)
                    b.ttftMs = double(t.nsecsElapsed()) / 1e6;
                if (b.firstClauseMs < 0 && !segmenter.feed(visible).isEmpty())
                    b.firstClauseMs = double(t.nsecsElapsed()) / 1e6;
            }
        });
        QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        loop.exec();
        reply->deleteLater();
    }
    {
        QNetworkRequest req(QUrl(fakeUrl + QStringLiteral("/tts")));
        req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("text"), QStringLiteral("你好，我是洛天依。")}, {QStringLiteral("text_lang"), QStringLiteral("zh")},
                                                          {QStringLiteral("ref_audio_path"), QStringLiteral("ref.wav")}, {QStringLiteral("prompt_lang"), QStringLiteral("zh")},
                                                          {QStringLiteral("streaming_mode"), true}, {QStringLiteral("media_type"), QStringLiteral("wav")}})
                                    .toJson();
        QElapsedTimer t;
        t.start();
        QNetworkReply *reply = nam.post(req, body);
        qint64 got = 0;
        QEventLoop loop;
        QObject::connect(reply, &QNetworkReply::readyRead, &loop, [&]() {
            got += reply->readAll().size();
            if (got > 44 && b.ttsFirstMs < 0) // past the WAV header: the first PCM
                b.ttsFirstMs = double(t.nsecsElapsed()) / 1e6;
        });
        QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        loop.exec();
        reply->deleteLater();
    }
    return b;
}

struct VirtualUser {
    std::unique_ptr<ApiClient> api;
    std::unique_ptr<ChatClient> chat;
    std::unique_ptr<TurnRecorder> recorder; // guarantees and status
    QString token;
    bool ready = false;
    bool done = false;
    // Sub-millisecond client timings, from the moment chat() was called.
    QElapsedTimer clock;
    double firstTextMs = -1, firstAudioMs = -1, stopSentMs = -1, stoppedMs = -1, turnEndMs = -1;
    double since() const { return double(clock.nsecsElapsed()) / 1e6; }
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption serverOpt(QStringLiteral("server"), QStringLiteral("tianyi-server base URL."), QStringLiteral("URL"));
    const QCommandLineOption fakeOpt(QStringLiteral("fake"), QStringLiteral("tianyi-fake-upstream base URL (the server's upstream)."), QStringLiteral("URL"));
    const QCommandLineOption sessionsOpt(QStringLiteral("sessions"), QStringLiteral("Concurrent sessions."), QStringLiteral("N"), QStringLiteral("100"));
    const QCommandLineOption stopOpt(QStringLiteral("stop-after-ms"), QStringLiteral("Send stop this long after each chat (0 = no stop)."), QStringLiteral("MS"), QStringLiteral("0"));
    const QCommandLineOption textOpt(QStringLiteral("text"), QStringLiteral("What every user says."), QStringLiteral("TEXT"), QStringLiteral("你好呀，今天唱什么歌？"));
    const QCommandLineOption noEarlyCutOpt(QStringLiteral("no-early-cut"), QStringLiteral("The server runs with chat.early_first_clause=false (baseline mirrors it)."));
    const QCommandLineOption timeoutOpt(QStringLiteral("timeout-s"), QStringLiteral("Give up after this long."), QStringLiteral("S"), QStringLiteral("120"));
    parser.addOptions({serverOpt, fakeOpt, sessionsOpt, stopOpt, textOpt, noEarlyCutOpt, timeoutOpt});
    parser.process(app);
    const QUrl server(parser.value(serverOpt));
    const int sessions = qMax(1, parser.value(sessionsOpt).toInt());
    const int stopAfter = parser.value(stopOpt).toInt();
    const QString text = parser.value(textOpt);

    const Baseline base = measureBaseline(parser.value(fakeOpt), text, !parser.isSet(noEarlyCutOpt));

    const QString run = QString::number(QDateTime::currentMSecsSinceEpoch() % 100000000);
    std::vector<VirtualUser> users(static_cast<size_t>(sessions));
    int ready = 0, finished = 0;
    QEventLoop loop;
    QTimer::singleShot(parser.value(timeoutOpt).toInt() * 1000, &loop, &QEventLoop::quit);

    auto startAll = [&]() {
        // Every session chats at the same moment: the measure of concurrency.
        for (VirtualUser &u : users) {
            u.clock.start();
            u.chat->chat(text);
            if (stopAfter > 0) {
                VirtualUser *up = &u;
                QTimer::singleShot(stopAfter, up->chat.get(), [up]() {
                    if (const RecordedTurn *t = up->recorder->currentTurn()) {
                        up->stopSentMs = up->since();
                        up->recorder->onStopSent(t->turn, monotonicMs());
                        up->chat->stop(t->turn);
                    }
                });
            }
        }
    };

    for (int i = 0; i < sessions; ++i) {
        VirtualUser &u = users[size_t(i)];
        u.api = std::make_unique<ApiClient>(server);
        u.chat = std::make_unique<ChatClient>();
        u.recorder = std::make_unique<TurnRecorder>();
        u.recorder->setKeepAudio(false);
        u.recorder->attach(u.chat.get());
        const QString name = QStringLiteral("chatbench_%1_%2").arg(run).arg(i);
        const QString password = QStringLiteral("bench password %1").arg(i);
        QObject::connect(u.chat.get(), &ChatClient::helloReceived, &loop, [&, i](const Hello &) {
            users[size_t(i)].ready = true;
            if (++ready == sessions)
                startAll();
        });
        VirtualUser *up = &u;
        QObject::connect(u.chat.get(), &ChatClient::textDelta, &loop, [up](qint64, const QString &) {
            if (up->firstTextMs < 0)
                up->firstTextMs = up->since();
        });
        QObject::connect(u.chat.get(), &ChatClient::audio, &loop, [up](const AudioChunk &) {
            if (up->firstAudioMs < 0)
                up->firstAudioMs = up->since();
        });
        QObject::connect(u.chat.get(), &ChatClient::stopped, &loop, [up](qint64, qint64) { up->stoppedMs = up->since(); });
        QObject::connect(u.chat.get(), &ChatClient::turnEnded, &loop, [up](const ChatEvent &) { up->turnEndMs = up->since(); });
        QObject::connect(u.recorder.get(), &TurnRecorder::turnFinished, &loop, [&, i](qint64) {
            if (!users[size_t(i)].done) {
                users[size_t(i)].done = true;
                if (++finished == sessions)
                    loop.quit();
            }
        });
        u.api->registerUser(name, password, {}, [&, i, name, password](const ApiResult &) {
            users[size_t(i)].api->login(name, password, [&, i](const ApiResult &r) {
                const auto tokens = Tokens::fromJson(r.json);
                if (!tokens) {
                    std::fprintf(stderr, "chatbench: login failed: %s\n", qPrintable(r.describe()));
                    QCoreApplication::exit(1);
                    return;
                }
                users[size_t(i)].chat->open(server, tokens->accessToken, AudioMode::Binary);
            });
        });
    }
    loop.exec();

    std::vector<double> ttft, firstAudio, addedTtft, addedFirstAudio, stopLatency, serverStop, total;
    int violations = 0, completed = 0, interrupted = 0, failed = 0;
    for (const VirtualUser &u : users) {
        violations += u.recorder->violations().size();
        const RecordedTurn *t = u.recorder->lastTurn();
        if (!t || !t->ended)
            continue;
        completed += t->status == QLatin1String("completed");
        interrupted += t->status == QLatin1String("interrupted");
        failed += t->status == QLatin1String("failed");
        // Turns stopped before their first text or audio count only towards stop latency.
        if (u.firstTextMs >= 0 && (u.stopSentMs < 0 || u.firstTextMs < u.stopSentMs)) {
            ttft.push_back(u.firstTextMs);
            addedTtft.push_back(u.firstTextMs - base.ttftMs);
        }
        if (u.firstAudioMs >= 0 && (u.stopSentMs < 0 || u.firstAudioMs < u.stopSentMs)) {
            firstAudio.push_back(u.firstAudioMs);
            addedFirstAudio.push_back(u.firstAudioMs - (base.firstClauseMs + base.ttsFirstMs));
        }
        if (t->stopped && u.stopSentMs >= 0 && u.stoppedMs >= 0) {
            stopLatency.push_back(u.stoppedMs - u.stopSentMs);
            serverStop.push_back(double(t->stopMs));
        }
        if (u.turnEndMs >= 0)
            total.push_back(u.turnEndMs);
    }
    const QJsonObject result{
        {QStringLiteral("sessions"), sessions},
        {QStringLiteral("finished"), finished},
        {QStringLiteral("completed"), completed},
        {QStringLiteral("interrupted"), interrupted},
        {QStringLiteral("failed"), failed},
        {QStringLiteral("guarantee_violations"), violations},
        {QStringLiteral("baseline_ms"), QJsonObject{{QStringLiteral("upstream_ttft"), base.ttftMs},
                                                    {QStringLiteral("upstream_first_clause"), base.firstClauseMs},
                                                    {QStringLiteral("upstream_tts_first_chunk"), base.ttsFirstMs}}},
        {QStringLiteral("client_ttft_ms"), summary(ttft)},
        {QStringLiteral("client_first_audio_ms"), summary(firstAudio)},
        {QStringLiteral("server_added_ttft_ms"), summary(addedTtft)},
        {QStringLiteral("server_added_first_audio_ms"), summary(addedFirstAudio)},
        {QStringLiteral("stop_to_stopped_ms"), summary(stopLatency)},    // client: stop sent -> stopped received
        {QStringLiteral("server_stop_ms"), summary(serverStop)},          // stopped.stop_ms: stop received -> all cancelled
        {QStringLiteral("turn_total_ms"), summary(total)},
    };
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Compact).constData()); // one line: run-chat.sh embeds it
    return finished == sessions ? 0 : 1;
}
