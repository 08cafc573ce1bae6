#pragma once
// AsrProvider over an OpenAI-compatible transcription API (SiliconFlow SenseVoice, faster-whisper,
// whisper.cpp servers): POST {asr.base_url}/audio/transcriptions, multipart/form-data with
//   file = a WAV built from the PCM (s16le mono), model = asr.model, language = asr.language (when
//   set), response_format = json
// -> {"text": "..."}. Authorization: Bearer asr.api_key when set. The whole request must complete
// within asr.timeout_ms (Timeout otherwise). HTTP errors are classified like every upstream
// (401/403 Auth, 429 RateLimited with Retry-After, 4xx BadRequest, 5xx Server); a 200 without a
// string "text" is Malformed. No retries here: the caller decides (the user is waiting).

#include "base/config.h"
#include "upstream/asr.h"

#include <QObject>
#include <QPair>

class QNetworkAccessManager;

namespace tianyi {

class OpenAiAsrClient : public QObject, public AsrProvider
{
    Q_OBJECT
public:
    explicit OpenAiAsrClient(const AsrSettings &settings, QObject *parent = nullptr);
    ~OpenAiAsrClient() override;

    QString name() const override;
    AsrJob *transcribe(const QByteArray &pcm, int sampleRate, const QString &correlationId, QObject *parent) override;

    // The multipart body sent for this PCM (content type first); exposed for tests and logs.
    QPair<QByteArray, QByteArray> buildBody(const QByteArray &pcm, int sampleRate) const;

private:
    AsrSettings m_settings;
    QNetworkAccessManager *m_nam;
};

} // namespace tianyi
