// tianyi-upstreambench: the upstream clients' own costs (SSE parsing, request scheduling, retries).
//  1. SSE parser throughput (MB/s), alone and with chunk decoding, on an OpenAI-style stream.
//  2. LLM client overhead per delta: CPU time of this process per delta received while
//     OpenAiLlmClient streams from tianyi-fake-upstream running in a separate process at full speed.
//  3. espeak-ng real-time factor (synthesis time / audio time) for Chinese and English sentences.
// Prints one JSON object. Usage: tianyi-upstreambench --fake PATH_TO_tianyi-fake-upstream [--smoke]

#include "base/config.h"
#include "core/workerpool.h"
#include "metrics/metrics.h"
#include "tianyi/sseparser.h"
#include "upstream/espeaktts.h"
#include "upstream/openaichunk.h"
#include "upstream/openaillmclient.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTimer>
#include <cstdio>
#include <sys/resource.h>

using namespace tianyi;

namespace {

double cpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

QByteArray sampleStream(int chunks)
{
    QByteArray out;
    const QByteArray chunk = R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"你好呀，"},"finish_reason":null}]})"
                             "\n\n";
    out.reserve(chunk.size() * chunks + 16);
    for (int i = 0; i < chunks; ++i)
        out += chunk;
    out += "data: [DONE]\n\n";
    return out;
}

QJsonObject benchSse(int chunks)
{
    const QByteArray stream = sampleStream(chunks);
    const int piece = 4096;
    QJsonObject r;
    {
        SseParser parser;
        QElapsedTimer t;
        t.start();
        qint64 events = 0;
        for (qsizetype i = 0; i < stream.size(); i += piece)
            events += parser.feed(QByteArrayView(stream.constData() + i, qMin<qsizetype>(piece, stream.size() - i))).size();
        const double s = double(t.nsecsElapsed()) / 1e9;
        r.insert(QStringLiteral("parse_mb_per_s"), double(stream.size()) / 1e6 / s);
        r.insert(QStringLiteral("events"), double(events));
    }
    {
        SseParser parser;
        QElapsedTimer t;
        t.start();
        qint64 chars = 0;
        for (qsizetype i = 0; i < stream.size(); i += piece)
            for (const SseEvent &e : parser.feed(QByteArrayView(stream.constData() + i, qMin<qsizetype>(piece, stream.size() - i))))
                chars += decodeChatChunk(e).content.size();
        const double s = double(t.nsecsElapsed()) / 1e9;
        r.insert(QStringLiteral("parse_and_decode_mb_per_s"), double(stream.size()) / 1e6 / s);
        r.insert(QStringLiteral("parse_and_decode_ns_per_delta"), s * 1e9 / double(chunks));
        r.insert(QStringLiteral("stream_mb"), double(stream.size()) / 1e6);
        Q_UNUSED(chars);
    }
    return r;
}

QJsonObject benchClient(const QString &fakePath, int streams, int tokensPerReply)
{
    QProcess fake;
    fake.start(fakePath, {QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--ttft-ms"), QStringLiteral("0"),
                          QStringLiteral("--tokens-per-second"), QStringLiteral("0"), QStringLiteral("--reply"),
                          QString(tokensPerReply, QChar(0x597D))}); // 好 x N
    QString url;
    QEventLoop wait;
    QObject::connect(&fake, &QProcess::readyReadStandardOutput, &wait, [&]() {
        static const QRegularExpression re(QStringLiteral("listening on (http://\\S+)"));
        const auto m = re.match(QString::fromUtf8(fake.readAllStandardOutput()));
        if (m.hasMatch()) {
            url = m.captured(1);
            wait.quit();
        }
    });
    QTimer::singleShot(20000, &wait, &QEventLoop::quit);
    wait.exec();
    if (url.isEmpty())
        return {{QStringLiteral("error"), QStringLiteral("fake upstream did not start")}};

    Metrics metrics;
    LlmSettings settings;
    settings.baseUrl = url + QStringLiteral("/v1");
    OpenAiLlmClient client(settings, metrics);
    qint64 deltas = 0;
    int finished = 0;
    const double cpu0 = cpuSeconds();
    QElapsedTimer wall;
    wall.start();
    QEventLoop loop;
    for (int i = 0; i < streams; ++i) {
        LlmRequest req;
        req.messages = {{QStringLiteral("user"), QStringLiteral("bench")}};
        LlmStream *s = client.stream(req, &loop);
        QObject::connect(s, &LlmStream::delta, &loop, [&deltas](const QString &) { ++deltas; });
        auto done = [&, s]() {
            s->deleteLater();
            if (++finished == streams)
                loop.quit();
        };
        QObject::connect(s, &LlmStream::finished, &loop, done);
        QObject::connect(s, &LlmStream::failed, &loop, done);
    }
    loop.exec();
    const double cpu = cpuSeconds() - cpu0;
    const double seconds = double(wall.nsecsElapsed()) / 1e9;
    fake.terminate();
    fake.waitForFinished(5000);
    return {{QStringLiteral("streams"), streams},
            {QStringLiteral("deltas"), double(deltas)},
            {QStringLiteral("deltas_per_s"), double(deltas) / seconds},
            {QStringLiteral("client_cpu_us_per_delta"), cpu * 1e6 / double(qMax<qint64>(1, deltas))}};
}

QJsonObject benchEspeak(int repeats)
{
    WorkerPool workers(1, 100);
    EspeakTtsProvider tts(&workers);
    QString error;
    if (!tts.initialize(&error))
        return {{QStringLiteral("error"), error}};
    QJsonObject out;
    const QList<QPair<QString, QString>> sentences{{QStringLiteral("zh"), QStringLiteral("你好，我是洛天依，今天也要元气满满哦！")},
                                                  {QStringLiteral("en"), QStringLiteral("Hello, I am Luo Tianyi. Shall we sing a song together today?")}};
    for (const auto &[lang, text] : sentences) {
        double synthSeconds = 0, audioSeconds = 0;
        for (int i = 0; i < repeats; ++i) {
            TtsRequest req;
            req.text = text;
            req.textLang = lang;
            int rate = 0;
            qint64 bytes = 0;
            QElapsedTimer t;
            t.start();
            QEventLoop loop;
            TtsJob *job = tts.synthesize(req, &loop);
            QObject::connect(job, &TtsJob::format, &loop, [&rate](int sr, int) { rate = sr; });
            QObject::connect(job, &TtsJob::pcm, &loop, [&bytes](const QByteArray &pcm) { bytes += pcm.size(); });
            QObject::connect(job, &TtsJob::finished, &loop, &QEventLoop::quit);
            QObject::connect(job, &TtsJob::failed, &loop, &QEventLoop::quit);
            loop.exec();
            synthSeconds += double(t.nsecsElapsed()) / 1e9;
            audioSeconds += rate > 0 ? double(bytes) / 2.0 / rate : 0;
        }
        out.insert(lang, QJsonObject{{QStringLiteral("real_time_factor"), synthSeconds / qMax(1e-9, audioSeconds)},
                                     {QStringLiteral("audio_seconds_per_sentence"), audioSeconds / repeats},
                                     {QStringLiteral("synthesis_ms_per_sentence"), synthSeconds * 1000 / repeats}});
    }
    return out;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption fakeOpt(QStringLiteral("fake"), QStringLiteral("Path of tianyi-fake-upstream."), QStringLiteral("PATH"));
    const QCommandLineOption smokeOpt(QStringLiteral("smoke"), QStringLiteral("Tiny sizes: proves the harness runs (used by the test suite)."));
    parser.addOptions({fakeOpt, smokeOpt});
    parser.process(app);
    const bool smoke = parser.isSet(smokeOpt);

    QJsonObject result;
    result.insert(QStringLiteral("sse"), benchSse(smoke ? 1000 : 400000));
    if (parser.isSet(fakeOpt))
        result.insert(QStringLiteral("llm_client"), benchClient(parser.value(fakeOpt), smoke ? 2 : 16, smoke ? 50 : 2000));
    result.insert(QStringLiteral("espeak"), benchEspeak(smoke ? 1 : 5));
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Indented).constData());
    return 0;
}
