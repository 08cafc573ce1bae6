// Chat socket messages (docs/protocol.md "Chat socket"), both directions:
//  - text: JSON decoded as ChatSession::onText does (an object with a "type"), `audio_start` checked
//    by SpeechInput::start, and decoded as the client library decodes server events (ChatEvent
//    fields, Hello::fromJson, TurnStats::fromJson, the base64 PCM of JSON audio);
//  - binary: the 16-byte audio frame header (chat::decodeAudioFrame), which must re-encode to the
//    same bytes, and speech input frames appended within the caps (SpeechInput::append).
// The first byte picks text or binary.

#include "fuzzsupport.h"

#include "base/config.h"
#include "dialog/speechinput.h"
#include "upstream/asr.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <tianyi/chatclient.h>
#include <tianyi/chatprotocol.h>

namespace {

using namespace tianyi;

// Speech input needs a provider to accept audio_start; recognition itself is never started here.
class NoAsr : public AsrProvider
{
public:
    QString name() const override { return QStringLiteral("none"); }
    AsrJob *transcribe(const QByteArray &, int, const QString &, QObject *) override { return nullptr; }
};

ChatSettings smallCaps()
{
    ChatSettings s;
    s.maxAudioInputBytes = 4096;
    s.maxAudioInputSeconds = 1;
    return s;
}

void decodeText(const QByteArray &bytes)
{
    // QWebSocket hands text messages over as QString; the server re-encodes them to parse.
    const QString message = QString::fromUtf8(bytes);
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return;
    const QJsonObject object = doc.object();

    // Server side.
    static NoAsr asr;
    static const ChatSettings caps = smallCaps();
    SpeechInput speech(&asr, caps);
    if (object.value(QStringLiteral("type")).toString() == chat::kAudioStart && !speech.start(object))
        FUZZ_CHECK(speech.isRecording());

    // Client side: the fields ChatClient reads from every server event.
    client::ChatEvent e;
    e.json = object;
    e.type = e.str(QStringLiteral("type"));
    e.turn = e.integer(QStringLiteral("turn"), -1);
    (void)e.integer(QStringLiteral("sentence"));
    (void)e.integer(QStringLiteral("seq"));
    (void)e.integer(QStringLiteral("sample_rate"), 0);
    (void)e.integer(QStringLiteral("stop_ms"));
    const auto decoded = QByteArray::fromBase64Encoding(e.str(QStringLiteral("pcm")).toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    (void)decoded;
    for (const QJsonValue &v : object.value(QStringLiteral("volumes")).toArray())
        (void)float(v.toDouble());
    const client::Hello hello = client::Hello::fromJson(object);
    (void)hello.labelFor(e.str(QStringLiteral("emotion")));
    (void)client::TurnStats::fromJson(object.value(QStringLiteral("stats")).toObject());
}

void decodeBinary(const QByteArray &message)
{
    QByteArray pcm;
    const std::optional<chat::AudioFrameHeader> h = chat::decodeAudioFrame(message, &pcm);
    if (h) {
        FUZZ_CHECK(pcm.size() == message.size() - chat::AudioFrameHeader::kSize && pcm.size() % 2 == 0);
        QByteArray again = chat::encodeAudioFrame(*h, pcm);
        QByteArray original = message;
        original[3] = char(original[3] & 1); // only bit 0 of the flags has a meaning
        FUZZ_CHECK(again == original);
        client::AudioChunk chunk;
        chunk.pcm = pcm;
        chunk.sampleRate = int(h->sampleRate);
        (void)chunk.durationMs();
    }

    // Speech input: raw PCM frames after audio_start, appended until the caps refuse them.
    static NoAsr asr;
    static const ChatSettings caps = smallCaps();
    SpeechInput speech(&asr, caps);
    FUZZ_CHECK(!speech.start(QJsonObject{{QStringLiteral("sample_rate"), 8000}}));
    for (int i = 0; i < 4 && speech.isRecording(); ++i)
        (void)speech.append(message);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tianyi::fuzz::Input in(data, size);
    const bool binary = in.byte() & 1;
    if (binary)
        decodeBinary(in.rest());
    else
        decodeText(in.rest());
    return 0;
}
