#include "dialog/speechinput.h"

#include "base/config.h"
#include "upstream/asr.h"

#include <tianyi/chatprotocol.h>
#include <tianyi/wav.h>

#include <utility>

namespace tianyi {

namespace {
constexpr int kMinAudioRate = 8000;
constexpr int kMaxAudioRate = 48000;

SpeechInput::Refusal malformed(QString message)
{
    return {true, QString(), std::move(message)};
}

SpeechInput::Refusal error(const QString &code, QString message)
{
    return {false, code, std::move(message)};
}
} // namespace

SpeechInput::SpeechInput(AsrProvider *asr, const ChatSettings &settings, QObject *parent)
    : QObject(parent)
    , m_asr(asr)
    , m_settings(settings)
{
}

SpeechInput::~SpeechInput()
{
    cancel();
}

void SpeechInput::cancel()
{
    m_recording = false;
    m_recorded.clear();
    if (m_job)
        m_job->cancel();
}

std::optional<SpeechInput::Refusal> SpeechInput::start(const QJsonObject &audioStart)
{
    m_discarding = false;
    m_lateFrames = false;
    if (!m_asr) {
        m_discarding = true;
        return error(chat::kErrAsrUnavailable, QStringLiteral("speech input is not configured on this server (asr.base_url); type your message instead"));
    }
    const QString format = audioStart.value(QStringLiteral("format")).toString(QStringLiteral("pcm_s16le"));
    const int rate = audioStart.value(QStringLiteral("sample_rate")).toInt(16000);
    if (format != QLatin1String("pcm_s16le") || rate < kMinAudioRate || rate > kMaxAudioRate)
        return malformed(QStringLiteral("audio_start needs format \"pcm_s16le\" and a sample_rate of %1..%2").arg(kMinAudioRate).arg(kMaxAudioRate));
    m_recording = true;
    m_rate = rate;
    m_recorded.clear();
    return std::nullopt;
}

std::optional<SpeechInput::Refusal> SpeechInput::append(const QByteArray &pcm)
{
    if (m_discarding || m_lateFrames || !m_asr)
        return std::nullopt; // see the header: never malformed
    if (!m_recording)
        return malformed(QStringLiteral("binary messages are speech input: send audio_start first"));
    m_recorded += pcm;
    if (m_recorded.size() > m_settings.maxAudioInputBytes
        || wav::durationMs(m_recorded.size(), m_rate) > qint64(m_settings.maxAudioInputSeconds) * 1000) {
        m_recording = false;
        m_discarding = true;
        m_recorded.clear();
        return error(chat::kErrTooLarge, QStringLiteral("speech input is limited to %1 seconds").arg(m_settings.maxAudioInputSeconds));
    }
    return std::nullopt;
}

std::optional<SpeechInput::Refusal> SpeechInput::finish(const QString &correlationId)
{
    if (std::exchange(m_discarding, false))
        return std::nullopt; // the refusal was already reported
    if (!m_recording)
        return malformed(QStringLiteral("audio_end without audio_start"));
    m_recording = false;
    m_lateFrames = true;
    const QByteArray pcm = std::exchange(m_recorded, QByteArray());
    if (!m_asr)
        return error(chat::kErrAsrUnavailable, QStringLiteral("speech input is not configured on this server"));
    if (m_job)
        m_job->cancel();
    AsrJob *job = m_asr->transcribe(pcm, m_rate, correlationId, this);
    m_job = job;
    connect(job, &AsrJob::finished, this, [this, job](const QString &text) {
        job->deleteLater();
        emit transcribed(text);
    });
    connect(job, &AsrJob::failed, this, [this, job](const UpstreamError &failure) {
        job->deleteLater();
        QJsonObject extra;
        if (failure.retryAfterMs >= 0)
            extra.insert(QStringLiteral("retry_after_ms"), failure.retryAfterMs);
        emit failed(chat::kErrAsrUnavailable, QStringLiteral("speech recognition failed (%1)").arg(UpstreamError::kindName(failure.kind)), extra);
    });
    return std::nullopt;
}

} // namespace tianyi
