// tianyi-fake-upstream: the fake upstream AI services as a process (see README.md).
#include "fakefunasr.h"
#include "fakeserver.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <memory>
#include <cstdio>

using namespace tianyi::fake;

static const char kFaultHelp[] =
    "\nFaults, per request: header \"x-fake-fault: NAME[,NAME...]\" or a path prefix \"/fault/NAME[,NAME...]/\"\n"
    "(e.g. base URL http://127.0.0.1:PORT/fault/429/v1). Names:\n"
    "  401 403 429 (retry-after-ms + Retry-After) 429-date (Retry-After as HTTP date) 500 503 (HTML body)\n"
    "  quota (429 insufficient_quota)  siliconflow-error (400 {\"code\":20012})  siliconflow-balance (403 {\"code\":30001})\n"
    "  bare-string (401 \"Invalid token\")  flaky (503 for the first x-fake-fail-times requests, then normal)\n"
    "  cut (stream cut midway)  sse-error (mid-stream data: {\"error\":...})  sse-error-field (older llama.cpp error: field)\n"
    "  stall (200 headers then no bytes)  stall-after-first (one token then no bytes)  drip (one byte per chunk)\n"
    "  malformed (broken JSON chunk)  no-done (EOF without [DONE])\n"
    "  embeddings only: wrong-dims (half the dimensions)  reorder (data in reverse order)\n"
    "Stream quirks (not errors): crlf  cr  nospace (data: without space)  comments (: keep-alive lines)\n"
    "  reasoning (reasoning text before the reply)  no-usage  openai|vllm|ollama|llamacpp (dialect)\n"
    "Per-request knobs (headers): x-fake-ttft-ms x-fake-tokens-per-second x-fake-variant x-fake-retry-after-ms\n"
    "  x-fake-retry-after-s x-fake-fail-times x-fake-cut-after x-fake-drip-ms x-fake-dimensions x-fake-max-batch\n"
    "Control: GET /_fake/requests (every request recorded, JSON), DELETE /_fake/requests (clear).\n"
    "FunASR (--funasr-port): quirks per connection by URL path ws://HOST:PORT/fault/NAME[,NAME...]:\n"
    "  python (is_final mirrors is_speaking)  no-final-flag (is_final never true)  extras (timestamp, stamp_sents)\n"
    "  segments (an offline segment mid-stream)  close (close frame 1011 after the first audio)  reset (TCP drop)\n"
    "  malformed (broken JSON)  huge (a 1 MiB message)  flood (endless text in small messages)  stall (never answers)\n";

static bool loadScript(const QString &path, FakeOptions &options, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, f.errorString());
        return false;
    }
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (perr.error != QJsonParseError::NoError) {
        *error = QStringLiteral("%1: %2").arg(path, perr.errorString());
        return false;
    }
    if (doc.isObject()) {
        const QJsonObject o = doc.object();
        for (auto it = o.begin(); it != o.end(); ++it)
            options.script.append({it.key(), it.value().toString()});
    } else {
        // [{"match": "...", "reply": "..."}]
        for (const QJsonValue &v : doc.array())
            options.script.append({v[QLatin1String("match")].toString(), v[QLatin1String("reply")].toString()});
    }
    return true;
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tianyi-fake-upstream"));
    FakeOptions defaults;

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Fake upstream AI services for tests: OpenAI-compatible /chat/completions (SSE) and /embeddings,\n"
                       "GPT-SoVITS api_v2 /tts, /audio/transcriptions. Routes match any base-URL prefix (e.g. /v1).") +
        QString::fromLatin1(kFaultHelp));
    parser.addHelpOption();
    const QCommandLineOption port(QStringLiteral("port"), QStringLiteral("TCP port (0 = any; the chosen port is printed)."), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption host(QStringLiteral("host"), QStringLiteral("Listen address."), QStringLiteral("ADDR"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption ttft(QStringLiteral("ttft-ms"), QStringLiteral("Delay before the first reply token."), QStringLiteral("MS"), QString::number(defaults.ttftMs));
    const QCommandLineOption tps(QStringLiteral("tokens-per-second"), QStringLiteral("Streaming speed (0 = as fast as possible)."), QStringLiteral("N"), QString::number(defaults.tokensPerSecond));
    const QCommandLineOption reply(QStringLiteral("reply"), QStringLiteral("Reply text of every chat completion."), QStringLiteral("TEXT"));
    const QCommandLineOption script(QStringLiteral("script"), QStringLiteral("JSON file {\"substring of last user message\": \"reply\"}; the longest match wins."), QStringLiteral("FILE"));
    const QCommandLineOption noUsage(QStringLiteral("no-usage"), QStringLiteral("Never send usage."));
    const QCommandLineOption variant(QStringLiteral("variant"), QStringLiteral("Stream dialect: openai | vllm | ollama | llamacpp."), QStringLiteral("NAME"), QStringLiteral("openai"));
    const QCommandLineOption dims(QStringLiteral("embedding-dimensions"), QStringLiteral("Embedding vector size."), QStringLiteral("N"), QString::number(defaults.embeddingDimensions));
    const QCommandLineOption ttsFirst(QStringLiteral("tts-first-chunk-ms"), QStringLiteral("GPT-SoVITS: delay before the first audio chunk."), QStringLiteral("MS"), QString::number(defaults.ttsFirstChunkMs));
    const QCommandLineOption ttsRtf(QStringLiteral("tts-rtf"), QStringLiteral("GPT-SoVITS: real-time factor (synthesis time / audio time)."), QStringLiteral("X"), QString::number(defaults.ttsRealTimeFactor));
    const QCommandLineOption ttsRate(QStringLiteral("tts-sample-rate"), QStringLiteral("GPT-SoVITS: sample rate of the audio."), QStringLiteral("HZ"), QString::number(defaults.ttsSampleRate));
    const QCommandLineOption asrLatency(QStringLiteral("asr-latency-ms"), QStringLiteral("Transcription: answer delay."), QStringLiteral("MS"), QString::number(defaults.asrLatencyMs));
    const QCommandLineOption asrText(QStringLiteral("asr-text"), QStringLiteral("Transcription: text returned."), QStringLiteral("TEXT"), defaults.asrText);
    const QCommandLineOption funasrPort(QStringLiteral("funasr-port"), QStringLiteral("Also serve a fake FunASR 2pass WebSocket on this port (0 = any; its URL is printed)."), QStringLiteral("N"));
    const QCommandLineOption funasrText(QStringLiteral("funasr-text"), QStringLiteral("FunASR: text recognized; repeat for one per connection in order (then the default, 你好)."), QStringLiteral("TEXT"));
    const QCommandLineOption funasrLatency(QStringLiteral("funasr-final-latency-ms"), QStringLiteral("FunASR: delay of the final result after {\"is_speaking\":false}."), QStringLiteral("MS"), QStringLiteral("0"));
    const QCommandLineOption funasrQuirks(QStringLiteral("funasr-quirks"), QStringLiteral("FunASR: quirks for every connection (comma list, as the /fault/NAME path)."), QStringLiteral("NAMES"));
    const QCommandLineOption funasrCert(QStringLiteral("funasr-cert"), QStringLiteral("FunASR: serve wss:// with this PEM certificate (needs --funasr-key)."), QStringLiteral("FILE"));
    const QCommandLineOption funasrKey(QStringLiteral("funasr-key"), QStringLiteral("FunASR: the PEM private key (RSA) of --funasr-cert."), QStringLiteral("FILE"));
    parser.addOptions({port, host, ttft, tps, reply, script, noUsage, variant, dims, ttsFirst, ttsRtf, ttsRate, asrLatency, asrText,
                       funasrPort, funasrText, funasrLatency, funasrQuirks, funasrCert, funasrKey});
    parser.process(app);

    FakeOptions options;
    options.ttftMs = parser.value(ttft).toInt();
    options.tokensPerSecond = parser.value(tps).toDouble();
    options.replyText = parser.value(reply);
    options.usageChunk = !parser.isSet(noUsage);
    options.variant = parser.value(variant);
    options.embeddingDimensions = parser.value(dims).toInt();
    options.ttsFirstChunkMs = parser.value(ttsFirst).toInt();
    options.ttsRealTimeFactor = parser.value(ttsRtf).toDouble();
    options.ttsSampleRate = parser.value(ttsRate).toInt();
    options.asrLatencyMs = parser.value(asrLatency).toInt();
    options.asrText = parser.value(asrText);
    if (parser.isSet(script)) {
        QString error;
        if (!loadScript(parser.value(script), options, &error)) {
            std::fprintf(stderr, "tianyi-fake-upstream: %s\n", qPrintable(error));
            return 2;
        }
    }
    static const QStringList variants{QStringLiteral("openai"), QStringLiteral("vllm"), QStringLiteral("ollama"), QStringLiteral("llamacpp")};
    if (!variants.contains(options.variant)) {
        std::fprintf(stderr, "tianyi-fake-upstream: unknown --variant %s\n", qPrintable(options.variant));
        return 2;
    }

    FakeServer server(options);
    registerOpenAiRoutes(server);
    registerGptSovitsRoutes(server);
    registerTranscriptionRoutes(server);
    bool ok = false;
    const int portNumber = parser.value(port).toInt(&ok);
    if (!ok || portNumber < 0 || portNumber > 65535 || !server.listen(QHostAddress(parser.value(host)), quint16(portNumber))) {
        std::fprintf(stderr, "tianyi-fake-upstream: cannot listen on %s:%s: %s\n", qPrintable(parser.value(host)),
                     qPrintable(parser.value(port)), qPrintable(server.errorString()));
        return 1;
    }
    std::printf("tianyi-fake-upstream listening on http://%s:%d\n", qPrintable(parser.value(host)), int(server.serverPort()));
    std::fflush(stdout);

    std::unique_ptr<FakeFunAsrServer> funasr;
    if (parser.isSet(funasrPort)) {
        FakeFunAsrOptions fo;
        fo.texts = parser.values(funasrText);
        fo.finalLatencyMs = parser.value(funasrLatency).toInt();
        fo.quirks = parser.value(funasrQuirks).split(QLatin1Char(','), Qt::SkipEmptyParts);
        std::unique_ptr<QSslConfiguration> tls;
        if (parser.isSet(funasrCert)) {
            QString error;
            tls = FakeFunAsrServer::tlsFromFiles(parser.value(funasrCert), parser.value(funasrKey), &error);
            if (!tls) {
                std::fprintf(stderr, "tianyi-fake-upstream: --funasr-cert / --funasr-key: %s\n", qPrintable(error));
                return 2;
            }
        }
        const bool secure = bool(tls);
        funasr = std::make_unique<FakeFunAsrServer>(fo, std::move(tls));
        const int fp = parser.value(funasrPort).toInt(&ok);
        if (!ok || fp < 0 || fp > 65535 || !funasr->listen(QHostAddress(parser.value(host)), quint16(fp))) {
            std::fprintf(stderr, "tianyi-fake-upstream: cannot listen for FunASR on %s:%s\n", qPrintable(parser.value(host)), qPrintable(parser.value(funasrPort)));
            return 1;
        }
        std::printf("tianyi-fake-upstream FunASR listening on %s://%s:%d\n", secure ? "wss" : "ws", qPrintable(parser.value(host)), int(funasr->port()));
        std::fflush(stdout);
    }
    return app.exec();
}
