// The fake GPT-SoVITS api_v2 (RVC-Boss/GPT-SoVITS api_v2.py), as described in shared/spec/upstreams.md.
//
// /tts (POST JSON or GET query) checks its parameters like api_v2's check_params (400 {"message":...});
// a GET without text_lang/prompt_lang fails with api_v2's plain-text 500 (it calls .lower() on None);
// a POST body that is not a JSON object gets FastAPI's 422 {"detail":[...]}.
// Audio: a tone whose pitch changes per sentence (cut at 。！？；.!?;), 200 ms per CJK character and
// 60 ms per other letter or digit (at least 250 ms a sentence), amplitude about -8 dBFS.
// Streaming (streaming_mode true or 1..3): chunked, first chunk the 44-byte header with api_v2's wrong
// sizes (RIFF size 36, data size 0), then s16le PCM in 100 ms pieces of ODD byte counts (clients must
// keep sample alignment), the first after ttsFirstChunkMs, each next one after 100 ms x real-time factor.
// Whole file (streaming_mode false/0): a correct WAV after first-chunk latency + duration x RTF.
//
// Per-request knobs (headers): x-fake-sample-rate, x-fake-first-chunk-ms, x-fake-rtf-permille,
// x-fake-drip-bytes, x-fake-drip-ms.
// Faults (header x-fake-fault or path prefix /fault/NAME):
//   400    400 {"message":"tts failed","Exception":"..."}   (an inference failure)
//   422    422 {"detail":[{"type":"missing","loc":["body","text"],"msg":"Field required",...}]}
//   500    plain-text 500 "Internal Server Error"
//   silent 200 with one second of silence at 16 kHz (api_v2's answer to a failed inference)
//   cut    the connection is dropped after about half of the audio
//   stall  the header (streaming) or nothing (whole file) is sent, then nothing more
//   drip   the whole reply, header included, in small pieces (x-fake-drip-bytes, default 333) every
//          x-fake-drip-ms (default 2) ms
// Also GET /set_gpt_weights, /set_sovits_weights, /set_refer_audio -> {"message":"success"} (400 when the
// parameter is missing) and /control?command=restart|exit -> {"message":"success"} (the real server
// restarts or exits instead of answering).

#include "fakeserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QTimer>
#include <QtEndian>
#include <algorithm>
#include <cmath>
#include <memory>

namespace tianyi::fake {

namespace {

constexpr double kPi = 3.14159265358979323846;

const QStringList &languages()
{
    static const QStringList langs{QStringLiteral("auto"), QStringLiteral("en"), QStringLiteral("zh"), QStringLiteral("ja"),
                                   QStringLiteral("yue"), QStringLiteral("ko"), QStringLiteral("all_zh"), QStringLiteral("all_ja"),
                                   QStringLiteral("all_yue"), QStringLiteral("all_ko"), QStringLiteral("auto_yue")};
    return langs;
}

bool hasFault(const FakeExchange *ex, const char *name)
{
    return ex->fault().split(QLatin1Char(','), Qt::SkipEmptyParts).contains(QLatin1String(name));
}

QByteArray json(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

void message(FakeExchange *ex, int status, const QString &text)
{
    ex->reply(status, "application/json", json(QJsonObject{{QStringLiteral("message"), text}}));
}

// Written by hand (not with the server's WAV code) so the fake is an independent witness.
QByteArray wavHeader(int sampleRate, quint32 riffSize, quint32 dataSize)
{
    QByteArray h;
    auto u32 = [&h](quint32 v) { char b[4]; qToLittleEndian(v, b); h.append(b, 4); };
    auto u16 = [&h](quint16 v) { char b[2]; qToLittleEndian(v, b); h.append(b, 2); };
    h += "RIFF";
    u32(riffSize);
    h += "WAVEfmt ";
    u32(16);
    u16(1);
    u16(1);
    u32(quint32(sampleRate));
    u32(quint32(sampleRate) * 2);
    u16(2);
    u16(16);
    h += "data";
    u32(dataSize);
    return h;
}

struct TtsParams {
    QString text, textLang, refAudioPath, promptText, promptLang, mediaType = QStringLiteral("wav"),
        splitMethod = QStringLiteral("cut5");
    bool streaming = false;
};

bool isCjk(QChar c)
{
    const ushort u = c.unicode();
    return (u >= 0x3400 && u <= 0x9FFF) || (u >= 0xF900 && u <= 0xFAFF) || (u >= 0x3040 && u <= 0x30FF) || (u >= 0xAC00 && u <= 0xD7AF);
}

QStringList sentences(const QString &text)
{
    QStringList out;
    QString cur;
    for (const QChar c : text) {
        cur += c;
        if (QStringLiteral("。！？；.!?;\n").contains(c)) {
            if (!cur.trimmed().isEmpty())
                out << cur;
            cur.clear();
        }
    }
    if (!cur.trimmed().isEmpty())
        out << cur;
    return out;
}

// The audio of a text: one tone per sentence, pitch rising per sentence, 5 ms fades.
QByteArray synthesize(const QString &text, int sampleRate)
{
    QByteArray pcm;
    const QStringList parts = sentences(text);
    for (int i = 0; i < parts.size(); ++i) {
        int ms = 0;
        for (const QChar c : parts[i]) {
            if (isCjk(c))
                ms += 200;
            else if (c.isLetterOrNumber())
                ms += 60;
        }
        ms = std::max(ms, 250);
        const int n = int(qint64(ms) * sampleRate / 1000);
        const double freq = 180.0 + 45.0 * (i % 6);
        const int fade = sampleRate / 200;
        const qsizetype start = pcm.size();
        pcm.resize(start + qsizetype(n) * 2);
        char *d = pcm.data() + start;
        for (int k = 0; k < n; ++k) {
            double amp = 0.4;
            if (k < fade)
                amp *= double(k) / fade;
            else if (n - k < fade)
                amp *= double(n - k) / fade;
            const auto s = qint16(std::lround(amp * 32767.0 * std::sin(2 * kPi * freq * k / sampleRate)));
            qToLittleEndian(s, d + 2 * k);
        }
    }
    return pcm;
}

// Writes `pieces` one after the other with a delay before each, then ends (or cuts) the reply.
// Parented to the exchange: if the client goes away the exchange and this object go with it.
class Pacer : public QObject
{
public:
    enum class End { Chunked, Cut, Never };
    Pacer(FakeExchange *ex, bool chunked, End end) : QObject(ex), m_ex(ex), m_chunked(chunked), m_end(end)
    {
        m_timer.setSingleShot(true);
        connect(&m_timer, &QTimer::timeout, this, [this] { step(); });
    }
    void add(const QByteArray &bytes, int delayMs) { m_pieces.append({bytes, delayMs}); }
    void start() { next(); }

private:
    void next()
    {
        if (m_index >= m_pieces.size()) {
            finish();
            return;
        }
        m_timer.start(std::max(0, m_pieces[m_index].second));
    }
    void step()
    {
        if (!m_ex || m_ex->clientGone())
            return;
        const QByteArray &bytes = m_pieces[m_index].first;
        if (m_chunked)
            m_ex->writeChunk(bytes);
        else
            m_ex->writeRaw(bytes);
        ++m_index;
        next();
    }
    void finish()
    {
        if (!m_ex)
            return;
        switch (m_end) {
        case End::Chunked: m_ex->endChunked(); break;
        case End::Cut: m_ex->cut(); break;
        case End::Never: break;
        }
    }

    QPointer<FakeExchange> m_ex;
    bool m_chunked;
    End m_end;
    QList<QPair<QByteArray, int>> m_pieces;
    qsizetype m_index = 0;
    QTimer m_timer;
};

void serveAudio(FakeExchange *ex, const TtsParams &p)
{
    const FakeOptions &opt = ex->server()->options();
    const bool silent = hasFault(ex, "silent");
    const int rate = silent ? 16000 : std::max(8000, ex->intOption("x-fake-sample-rate", opt.ttsSampleRate));
    const int firstMs = std::max(0, ex->intOption("x-fake-first-chunk-ms", opt.ttsFirstChunkMs));
    const double rtf = std::max(0, ex->intOption("x-fake-rtf-permille", int(std::lround(opt.ttsRealTimeFactor * 1000)))) / 1000.0;
    const QByteArray pcm = silent ? QByteArray(16000 * 2, '\0') : synthesize(p.text, rate);
    const bool cut = hasFault(ex, "cut");
    const bool stall = hasFault(ex, "stall");
    const bool drip = hasFault(ex, "drip");
    const qsizetype dripBytes = std::max(1, ex->intOption("x-fake-drip-bytes", 333));
    const int dripMs = std::max(0, ex->intOption("x-fake-drip-ms", 2));
    const QByteArray contentType = p.mediaType == QLatin1String("raw") ? QByteArray("audio/raw") : QByteArray("audio/wav");

    if (p.streaming) {
        ex->beginChunked(200, contentType);
        if (ex->clientGone())
            return;
        auto *pacer = new Pacer(ex, true, cut ? Pacer::End::Cut : stall ? Pacer::End::Never : Pacer::End::Chunked);
        // api_v2 yields the header at once, with the sizes of an empty file.
        const QByteArray header = p.mediaType == QLatin1String("raw") ? QByteArray() : wavHeader(rate, 36, 0);
        if (drip) {
            pacer->add(header.left(5), 0);
            pacer->add(header.mid(5, 17), dripMs);
            pacer->add(header.mid(22), dripMs);
        } else if (!header.isEmpty()) {
            pacer->add(header, 0);
        }
        if (!stall) {
            const qsizetype limit = cut ? (pcm.size() / 2) | 1 : pcm.size();
            const qsizetype piece = drip ? dripBytes : qsizetype(rate / 10) * 2 + 1; // odd on purpose
            const int pieceDelay = drip ? dripMs : int(std::lround(100.0 * rtf));
            bool first = true;
            for (qsizetype pos = 0; pos < limit; pos += piece) {
                pacer->add(pcm.mid(pos, std::min(piece, limit - pos)), first ? firstMs : pieceDelay);
                first = false;
            }
        }
        pacer->start();
        return;
    }

    // Whole file.
    const QByteArray file = wavHeader(rate, quint32(36 + pcm.size()), quint32(pcm.size())) + pcm;
    const int delay = firstMs + int(std::lround(1000.0 * pcm.size() / 2 / rate * rtf));
    if (stall)
        return; // never answers; the exchange lives until the client leaves
    QPointer<FakeExchange> guard(ex);
    QTimer::singleShot(delay, ex, [guard, file, cut, drip, dripBytes, dripMs, contentType] {
        if (!guard || guard->clientGone())
            return;
        if (!cut && !drip) {
            guard->reply(200, contentType, file);
            return;
        }
        // Cut or dripped: the same file in chunked pieces (Transfer-Encoding is legal for a whole file too).
        guard->beginChunked(200, contentType);
        auto *pacer = new Pacer(guard, true, cut ? Pacer::End::Cut : Pacer::End::Chunked);
        const qsizetype limit = cut ? file.size() / 2 : file.size();
        const qsizetype piece = drip ? dripBytes : limit;
        for (qsizetype pos = 0; pos < limit; pos += piece)
            pacer->add(file.mid(pos, std::min(piece, limit - pos)), drip ? dripMs : 0);
        pacer->start();
    });
}

bool truthy(const QJsonValue &v, bool *ok)
{
    *ok = true;
    if (v.isUndefined() || v.isNull())
        return false;
    if (v.isBool())
        return v.toBool();
    if (v.isDouble())
        return v.toInt() != 0;
    *ok = false;
    return false;
}

void handleTts(FakeExchange *ex, bool isGet)
{
    if (hasFault(ex, "400")) {
        ex->reply(400, "application/json",
                  json(QJsonObject{{QStringLiteral("message"), QStringLiteral("tts failed")},
                                   {QStringLiteral("Exception"), QStringLiteral("fake: CUDA out of memory. Tried to allocate 2.00 GiB")}}));
        return;
    }
    if (hasFault(ex, "422")) {
        ex->reply(422, "application/json",
                  json(QJsonObject{{QStringLiteral("detail"),
                                    QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("missing")},
                                                           {QStringLiteral("loc"), QJsonArray{QStringLiteral("body"), QStringLiteral("text")}},
                                                           {QStringLiteral("msg"), QStringLiteral("Field required")},
                                                           {QStringLiteral("input"), QJsonObject{}}}}}}));
        return;
    }
    if (hasFault(ex, "500")) {
        ex->reply(500, "text/plain; charset=utf-8", "Internal Server Error");
        return;
    }

    TtsParams p;
    if (isGet) {
        const QUrlQuery &q = ex->request().query;
        auto item = [&q](const char *name) { return q.queryItemValue(QLatin1String(name), QUrl::FullyDecoded); };
        if (!q.hasQueryItem(QStringLiteral("text_lang")) || !q.hasQueryItem(QStringLiteral("prompt_lang"))) {
            // api_v2's GET handler calls text_lang.lower() / prompt_lang.lower() on None.
            ex->reply(500, "text/plain; charset=utf-8", "Internal Server Error");
            return;
        }
        p.text = item("text");
        p.textLang = item("text_lang").toLower();
        p.refAudioPath = item("ref_audio_path");
        p.promptText = item("prompt_text");
        p.promptLang = item("prompt_lang").toLower();
        if (q.hasQueryItem(QStringLiteral("media_type")))
            p.mediaType = item("media_type");
        if (q.hasQueryItem(QStringLiteral("text_split_method")))
            p.splitMethod = item("text_split_method");
        const QString sm = item("streaming_mode").toLower();
        p.streaming = sm == QLatin1String("true") || sm == QLatin1String("1") || sm == QLatin1String("2") || sm == QLatin1String("3");
    } else {
        QJsonParseError err{};
        const QJsonDocument doc = QJsonDocument::fromJson(ex->request().body, &err);
        if (err.error != QJsonParseError::NoError || !doc.isObject()) {
            ex->reply(422, "application/json",
                      json(QJsonObject{{QStringLiteral("detail"),
                                        QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("json_invalid")},
                                                               {QStringLiteral("loc"), QJsonArray{QStringLiteral("body"), 0}},
                                                               {QStringLiteral("msg"), QStringLiteral("JSON decode error")}}}}}));
            return;
        }
        const QJsonObject o = doc.object();
        auto str = [&o](const char *name) { return o.value(QLatin1String(name)).toString(); };
        p.text = str("text");
        p.textLang = str("text_lang").toLower();
        p.refAudioPath = str("ref_audio_path");
        p.promptText = str("prompt_text");
        p.promptLang = str("prompt_lang").toLower();
        if (o.contains(QStringLiteral("media_type")))
            p.mediaType = str("media_type");
        if (o.contains(QStringLiteral("text_split_method")))
            p.splitMethod = str("text_split_method");
        bool ok = true;
        p.streaming = truthy(o.value(QStringLiteral("streaming_mode")), &ok);
        if (!ok) {
            ex->reply(422, "application/json",
                      json(QJsonObject{{QStringLiteral("detail"),
                                        QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("bool_parsing")},
                                                               {QStringLiteral("loc"), QJsonArray{QStringLiteral("body"), QStringLiteral("streaming_mode")}},
                                                               {QStringLiteral("msg"), QStringLiteral("Input should be a valid boolean")}}}}}));
            return;
        }
    }

    // api_v2 check_params, in its order.
    if (p.refAudioPath.isEmpty())
        return message(ex, 400, QStringLiteral("ref_audio_path is required"));
    if (p.text.isEmpty())
        return message(ex, 400, QStringLiteral("text is required"));
    if (p.textLang.isEmpty())
        return message(ex, 400, QStringLiteral("text_lang is required"));
    if (!languages().contains(p.textLang))
        return message(ex, 400, QStringLiteral("text_lang: %1 is not supported in version v2").arg(p.textLang));
    if (p.promptLang.isEmpty())
        return message(ex, 400, QStringLiteral("prompt_lang is required"));
    if (!languages().contains(p.promptLang))
        return message(ex, 400, QStringLiteral("prompt_lang: %1 is not supported in version v2").arg(p.promptLang));
    if (!QStringList{QStringLiteral("wav"), QStringLiteral("raw"), QStringLiteral("ogg"), QStringLiteral("aac")}.contains(p.mediaType))
        return message(ex, 400, QStringLiteral("media_type: %1 is not supported").arg(p.mediaType));
    if (p.mediaType == QLatin1String("ogg") && !p.streaming)
        return message(ex, 400, QStringLiteral("ogg format is not supported in non-streaming mode"));
    if (p.mediaType == QLatin1String("ogg") || p.mediaType == QLatin1String("aac"))
        return message(ex, 400, QStringLiteral("media_type: %1 is not supported by the fake upstream").arg(p.mediaType));
    static const QStringList cuts{QStringLiteral("cut0"), QStringLiteral("cut1"), QStringLiteral("cut2"),
                                  QStringLiteral("cut3"), QStringLiteral("cut4"), QStringLiteral("cut5")};
    if (!cuts.contains(p.splitMethod))
        return message(ex, 400, QStringLiteral("text_split_method:%1 is not supported").arg(p.splitMethod));

    serveAudio(ex, p);
}

void handleParam(FakeExchange *ex, const char *param, const QString &missing)
{
    if (hasFault(ex, "500")) {
        ex->reply(500, "text/plain; charset=utf-8", "Internal Server Error");
        return;
    }
    if (ex->request().query.queryItemValue(QLatin1String(param)).isEmpty())
        return message(ex, 400, missing);
    message(ex, 200, QStringLiteral("success"));
}

} // namespace

void registerGptSovitsRoutes(FakeServer &server)
{
    server.route("POST", QStringLiteral("/tts"), [](FakeExchange *ex) { handleTts(ex, false); });
    server.route("GET", QStringLiteral("/tts"), [](FakeExchange *ex) { handleTts(ex, true); });
    server.route("GET", QStringLiteral("/set_gpt_weights"),
                 [](FakeExchange *ex) { handleParam(ex, "weights_path", QStringLiteral("gpt weight path is required")); });
    server.route("GET", QStringLiteral("/set_sovits_weights"),
                 [](FakeExchange *ex) { handleParam(ex, "weights_path", QStringLiteral("sovits weight path is required")); });
    server.route("GET", QStringLiteral("/set_refer_audio"),
                 [](FakeExchange *ex) { handleParam(ex, "refer_audio_path", QStringLiteral("refer_audio_path is required")); });
    server.route("GET", QStringLiteral("/control"), [](FakeExchange *ex) {
        const QString command = ex->request().query.queryItemValue(QStringLiteral("command"));
        if (command.isEmpty())
            return message(ex, 400, QStringLiteral("command is required"));
        message(ex, 200, QStringLiteral("success"));
    });
}

} // namespace tianyi::fake
