#pragma once
// The listening half of a chat session, without any network: microphone PCM as it arrives (any
// chunking, 16 kHz s16le mono) is cut into 10 ms frames; each frame goes through WebRTC's audio
// processing (noise suppression, voice detection); the endpointer turns voiced / unvoiced frames
// into utterances; the stream's caps (arrival rate, utterance length, time without speech) are
// enforced here. Everything but maxSilentSeconds is measured in audio time, so the same PCM gives
// the same events however it was chunked or delayed on the wire.

#include "base/config.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <memory>

namespace tianyi {

class MicrophoneStream : public QObject
{
    Q_OBJECT
public:
    static constexpr int kSampleRate = 16000;

    explicit MicrophoneStream(const VoiceSettings &settings, QObject *parent = nullptr);
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

signals:
    // Speech lasted voice.speech_min_ms. leadingPcm is the utterance so far, starting a little
    // before the first voiced frame (so the recognizer hears the first syllable whole).
    void speechStarted(const QByteArray &leadingPcm);
    // More PCM of the utterance in progress, in order (pauses inside it included).
    void speechAudio(const QByteArray &pcm);
    // The utterance has lasted voice.interruption_min_ms of speech (once per utterance).
    void speechSustained();
    // Endpointing: voice.endpointing_ms of silence after speech, the utterance cap, or finish().
    void speechEnded(int durationMs);
    // A cap of the stream was hit: code utterance_too_long (the utterance is ended, the stream goes
    // on), rate_exceeded or listen_timeout (the stream stops: nothing more is processed).
    void capExceeded(const QString &code, const QString &message, bool streamStopped);
};

} // namespace tianyi
