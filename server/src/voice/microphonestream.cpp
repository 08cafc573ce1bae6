#include "voice/microphonestream.h"

#include "base/logging.h"
#include "voice/voiceactivitydetector.h"

#include <QPointer>
#include <QtEndian>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

namespace tianyi {

namespace {

using voice::kFrameBytes;

const QString kUtteranceTooLong = QStringLiteral("utterance_too_long");
const QString kRateExceeded = QStringLiteral("rate_exceeded");
const QString kListenTimeout = QStringLiteral("listen_timeout");

voice::FrameSamples samplesOf(const char *frameBytes)
{
    voice::FrameSamples samples;
    for (int i = 0; i < voice::kFrameSamples; ++i)
        samples[size_t(i)] = qFromLittleEndian<qint16>(frameBytes + 2 * i);
    return samples;
}

} // namespace

MicrophoneStream::MicrophoneStream(const VoiceSettings &settings, QObject *parent, voice::StreamClock *clock)
    : QObject(parent)
    , m_settings(settings)
    , m_ownClock(clock ? nullptr : std::make_unique<voice::SteadyClock>())
    , m_clock(clock ? clock : m_ownClock.get())
    , m_detector(std::make_unique<voice::VoiceActivityDetector>(settings.noiseSuppression))
    , m_endpointer(settings)
    , m_recent(voice::framesIn(kPreRollMs) + m_endpointer.onsetWindowFrames())
    , m_rate(settings.maxBytesPerSecond, m_clock->nowMs())
{
    m_partialFrame.reserve(kFrameBytes);
    m_silenceTimer.setSingleShot(true);
    connect(&m_silenceTimer, &QTimer::timeout, this, &MicrophoneStream::checkSilenceDeadline);
    connect(m_clock, &voice::StreamClock::advanced, this, &MicrophoneStream::checkSilenceDeadline);
    armSilenceDeadline();
    if (!m_detector->isValid())
        qCWarning(lcAsr) << "WebRTC audio processing refused its configuration: this microphone stream hears no speech";
}

MicrophoneStream::~MicrophoneStream() = default;

void MicrophoneStream::append(const QByteArray &pcm)
{
    if (m_stopped || pcm.isEmpty())
        return;
    // A deadline that passed while the event loop was busy counts before this audio does.
    checkSilenceDeadline();
    if (m_stopped)
        return;
    if (!m_rate.admit(pcm.size(), m_clock->nowMs())) {
        stop(kRateExceeded,
             QStringLiteral("Microphone audio arrived faster than %1 bytes per second for several seconds "
                            "(the limit voice.max_bytes_per_second; real time is %2 bytes per second of 16 kHz "
                            "16-bit mono). Listening stopped.")
                 .arg(m_settings.maxBytesPerSecond)
                 .arg(voice::kBytesPerSecond));
        return;
    }

    // A shared copy: `data` stays valid even if a slot changes the caller's array while we emit.
    const QByteArray input = pcm;
    const char *data = input.constData();
    qsizetype left = input.size();
    if (!m_partialFrame.isEmpty()) {
        const qsizetype take = std::min<qsizetype>(left, kFrameBytes - m_partialFrame.size());
        m_partialFrame.append(data, take);
        data += take;
        left -= take;
        if (m_partialFrame.size() < kFrameBytes)
            return;
        std::array<char, kFrameBytes> frame;
        std::memcpy(frame.data(), m_partialFrame.constData(), kFrameBytes);
        m_partialFrame.resize(0);   // keeps its one-frame capacity
        if (!processFrame(frame.data()))
            return;
    }
    for (; left >= kFrameBytes; data += kFrameBytes, left -= kFrameBytes) {
        if (!processFrame(data))
            return;
    }
    // The rest (an odd byte included) waits for the next call.
    m_partialFrame.append(data, left);
    flushUtteranceAudio();
}

bool MicrophoneStream::processFrame(const char *frameBytes)
{
    const bool wasInSpeech = m_endpointer.inSpeech();
    const voice::FrameVerdict verdict = m_detector->classify(samplesOf(frameBytes));
    const voice::EndpointerStep step = m_endpointer.push(verdict.voiced);
    if (wasInSpeech)
        m_utteranceAudio.append(frameBytes, kFrameBytes);
    else
        m_recent.push(frameBytes);

    QPointer<MicrophoneStream> alive(this);
    if (step.started) {
        // From kPreRollMs before the utterance's first voiced frame up to this frame.
        const QByteArray leading = m_recent.last(step.startedFramesAgo + voice::framesIn(kPreRollMs));
        m_recent.clear();
        m_silenceTimer.stop();
        emit speechStarted(leading);
        if (!alive || m_stopped)
            return false;
    }
    if (step.sustained) {
        if (!flushUtteranceAudio())
            return false;
        emit speechSustained();
        if (!alive || m_stopped)
            return false;
    }
    if (step.ended) {
        if (!emitEnd(step.durationMs, step.end))
            return false;
        if (step.end == voice::UtteranceEnd::LengthCap) {
            emit capExceeded(kUtteranceTooLong,
                             QStringLiteral("The utterance reached %1 seconds, the limit voice.max_utterance_seconds: "
                                            "it was ended there and is transcribed as it is. Listening goes on.")
                                 .arg(m_settings.maxUtteranceSeconds),
                             false);
            if (!alive || m_stopped)
                return false;
        }
    }
    return true;
}

bool MicrophoneStream::flushUtteranceAudio()
{
    if (m_utteranceAudio.isEmpty())
        return true;
    QPointer<MicrophoneStream> alive(this);
    const QByteArray audio = std::exchange(m_utteranceAudio, QByteArray());
    emit speechAudio(audio);
    return alive && !m_stopped;
}

bool MicrophoneStream::emitEnd(int durationMs, voice::UtteranceEnd why)
{
    if (!flushUtteranceAudio())
        return false;
    QPointer<MicrophoneStream> alive(this);
    armSilenceDeadline();
    emit speechEnded(durationMs, why);
    return alive && !m_stopped;
}

void MicrophoneStream::finish()
{
    if (m_stopped)
        return;
    m_stopped = true;
    m_silenceTimer.stop();
    m_partialFrame.clear();   // less than 10 ms: nothing a recognizer would miss
    const voice::EndpointerStep step = m_endpointer.finish();
    if (!step.ended)
        return;
    QPointer<MicrophoneStream> alive(this);
    if (!m_utteranceAudio.isEmpty())
        emit speechAudio(std::exchange(m_utteranceAudio, QByteArray()));
    if (alive)
        emit speechEnded(step.durationMs, step.end);
}

void MicrophoneStream::setEchoGuard(bool on)
{
    m_detector->setEchoGate(on, m_settings.echoGateDbfs);
}

bool MicrophoneStream::inSpeech() const
{
    return m_endpointer.inSpeech();
}

qsizetype MicrophoneStream::bufferedBytes() const
{
    return m_recent.heldBytes() + m_partialFrame.capacity() + m_utteranceAudio.capacity();
}

void MicrophoneStream::stop(const QString &code, const QString &message)
{
    // An utterance in progress ends first, so every speechStarted has its speechEnded; the
    // listener decides what to do with it.
    QPointer<MicrophoneStream> alive(this);
    finish();
    if (alive)
        emit capExceeded(code, message, true);
}

void MicrophoneStream::armSilenceDeadline()
{
    m_silenceDeadlineMs = m_clock->nowMs() + qint64(m_settings.maxSilentSeconds) * 1000;
    m_silenceTimer.start(int(std::min<qint64>(qint64(m_settings.maxSilentSeconds) * 1000, std::numeric_limits<int>::max())));
}

void MicrophoneStream::checkSilenceDeadline()
{
    if (m_stopped || m_endpointer.inSpeech())
        return;
    const qint64 left = m_silenceDeadlineMs - m_clock->nowMs();
    if (left > 0) {
        // The timer fired early by the clock's measure (or a test clock moved a little): wait the rest.
        if (!m_silenceTimer.isActive() || m_silenceTimer.remainingTime() > left)
            m_silenceTimer.start(int(std::min<qint64>(left, std::numeric_limits<int>::max())));
        return;
    }
    stop(kListenTimeout,
         QStringLiteral("No speech was heard for %1 seconds (the limit voice.max_silent_seconds). Listening stopped; "
                        "start it again to go on.")
             .arg(m_settings.maxSilentSeconds));
}

} // namespace tianyi
