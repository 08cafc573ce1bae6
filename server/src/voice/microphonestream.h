#pragma once
// The listening half of a chat session, without any network: microphone PCM as it arrives (any
// chunking, 16 kHz s16le mono) is cut into 10 ms frames; each frame goes through WebRTC's audio
// processing (noise suppression, voice detection); the endpointer turns voiced / unvoiced frames
// into utterances; the stream's caps (arrival rate, utterance length, time without speech) are
// enforced here. Everything but the arrival rate and maxSilentSeconds is measured in audio time, so
// the same PCM gives the same events however it was chunked or delayed on the wire.
// docs/voice-detection.md describes the detection, the endpointing and every voice.* setting.

#include "base/config.h"
#include "voice/arrivalratelimiter.h"
#include "voice/endpointer.h"
#include "voice/framering.h"
#include "voice/streamclock.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QTimer>
#include <memory>

namespace tianyi {

namespace voice {
class VoiceActivityDetector;
}

class MicrophoneStream : public QObject
{
    Q_OBJECT
public:
    static constexpr int kSampleRate = 16000;

    // Audio kept before the first voiced frame of an utterance, so the recognizer hears the
    // first syllable whole (the detector is late by a frame or two at a soft onset).
    static constexpr int kPreRollMs = 250;

    // clock: wall time for the arrival-rate cap and the listen timeout; null = the system's
    // monotonic clock. Tests pass their own (not owned; it must outlive the stream).
    explicit MicrophoneStream(const VoiceSettings &settings, QObject *parent = nullptr,
                              voice::StreamClock *clock = nullptr);
    ~MicrophoneStream() override;

    // Appends PCM (an odd trailing byte waits for the next call). After capExceeded nothing more
    // is processed.
    void append(const QByteArray &pcm);
    // Ends the stream: an utterance in progress ends as if its speech had ended (speechEnded).
    void finish();
    // While her voice may be playing on the client, frames quieter than voice.echo_gate_dbfs are
    // not speech, so her own voice leaking back into the microphone does not interrupt her.
    void setEchoGuard(bool on);

    bool inSpeech() const;
    // Bytes of audio the stream holds right now (its pre-roll ring and a partial frame): fixed
    // by the settings, whatever the stream's length. For tests and diagnostics.
    qsizetype bufferedBytes() const;

signals:
    // Speech lasted voice.speech_min_ms. leadingPcm is the utterance so far, starting a little
    // before the first voiced frame (so the recognizer hears the first syllable whole).
    void speechStarted(const QByteArray &leadingPcm);
    // More PCM of the utterance in progress, in order (pauses inside it included).
    void speechAudio(const QByteArray &pcm);
    // The utterance has lasted voice.interruption_min_ms of speech (once per utterance; voiced
    // time: pauses do not count, so a cough followed by silence never gets here).
    void speechSustained();
    // Endpointing: voice.endpointing_ms of silence after speech (Silence), the utterance cap
    // (LengthCap), or finish() (Finished). durationMs: from the first voiced frame to the end of
    // the last one.
    void speechEnded(int durationMs, tianyi::voice::UtteranceEnd why);
    // A cap of the stream was hit: code utterance_too_long (the utterance is ended, the stream goes
    // on), rate_exceeded or listen_timeout (the stream stops: nothing more is processed). An
    // utterance the cap ends gets its speechEnded before this signal. message names the limit.
    void capExceeded(const QString &code, const QString &message, bool streamStopped);

private:
    // Each returns false when a slot deleted the stream or stopped it while a signal was emitted:
    // the caller must then return at once.
    bool processFrame(const char *frameBytes);
    bool flushUtteranceAudio();
    bool emitEnd(int durationMs, voice::UtteranceEnd why);
    void stop(const QString &code, const QString &message);
    void armSilenceDeadline();
    void checkSilenceDeadline();

    const VoiceSettings m_settings;
    std::unique_ptr<voice::SteadyClock> m_ownClock;
    voice::StreamClock *m_clock;
    std::unique_ptr<voice::VoiceActivityDetector> m_detector;
    voice::Endpointer m_endpointer;
    voice::FrameRing m_recent;            // pre-roll + onset window, while nobody speaks
    voice::ArrivalRateLimiter m_rate;
    QByteArray m_partialFrame;            // < one frame, waiting for the rest
    QByteArray m_utteranceAudio;          // this append's frames of the utterance, not yet emitted
    QTimer m_silenceTimer;                // wakes the listen timeout when the client sends nothing
    qint64 m_silenceDeadlineMs = 0;
    bool m_stopped = false;
};

} // namespace tianyi
