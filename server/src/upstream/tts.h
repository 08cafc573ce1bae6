#pragma once
// Text to speech seen by the rest of the server. Implemented by the GPT-SoVITS api_v2 backend pool
// (tts.base_urls set) and by the built-in espeak-ng synthesizer.

#include "upstream/upstreamerror.h"

#include <QByteArray>
#include <QObject>
#include <QString>

namespace tianyi {

// The reference voice of one emotion (GPT-SoVITS) plus the knobs the built-in synthesizer uses.
struct TtsVoice {
    QString refAudioPath;   // a path on the TTS host, not ours
    QString promptText;
    QString promptLang = QStringLiteral("zh");
    int espeakRate = 175;   // words per minute (built-in)
    int espeakPitch = 50;   // 0..100 (built-in)
};

struct TtsRequest {
    QString text;
    QString textLang = QStringLiteral("zh");
    QString emotion;        // emotion id, e.g. "happy"; selects the voice
    TtsVoice voice;
    QString correlationId;
};

// One sentence being synthesized. Emits format once, then pcm chunks (s16le mono) as they arrive,
// then exactly one of finished or failed; nothing after cancel(). The owner deletes it.
class TtsJob : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~TtsJob() override = default;
    virtual void cancel() = 0;

signals:
    void format(int sampleRate, int channels);
    void pcm(const QByteArray &samples);
    void finished();
    void failed(const tianyi::UpstreamError &error);
};

class TtsProvider
{
public:
    virtual ~TtsProvider() = default;
    virtual QString name() const = 0;
    virtual bool isBuiltIn() const = 0;
    // How many jobs may run at once in total (sum of per-backend concurrency); the TTS scheduler
    // never starts more than this.
    virtual int capacity() const = 0;
    // The rate a client should expect before the first job reports one (GPT-SoVITS v2: 32000).
    virtual int nominalSampleRate() const { return 32000; }
    virtual TtsJob *synthesize(const TtsRequest &request, QObject *parent) = 0;
};

} // namespace tianyi
