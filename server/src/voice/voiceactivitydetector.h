#pragma once
// Is this 10 ms frame speech? WebRTC's audio processing (noise suppression, then its GMM voice
// detector) decides, and two level gates overrule it:
//  - the silence floor: a frame quieter than kSilenceFloorDbfs is never speech, whatever the
//    detector says (its decision on near-silence is noise);
//  - the echo gate (while her voice may be playing on the client): a frame quieter than
//    voice.echo_gate_dbfs is not speech, so her own voice leaking back from the speakers at low
//    level does not interrupt her, while a user speaking up close still does.
//
// No automatic gain control: the browser's getUserMedia already applies AGC, and a second one on
// the server would lift exactly what the gates must keep low (her echo, background noise) up to
// speech level. Levels are measured on the input as it arrived.
//
// One instance per microphone stream (the WebRTC state is per stream); not thread-safe.

#include "voice/audioframe.h"

#include <memory>

namespace webrtc {
class AudioProcessing;
class AudioFrame;
}

namespace tianyi::voice {

struct FrameVerdict {
    bool voiced = false;          // speech: WebRTC's detector said so and no gate overruled it
    double levelDbfs = kDigitalSilenceDbfs;
};

class VoiceActivityDetector
{
public:
    // Below this a frame is never speech: about the noise floor of a quiet room through a laptop
    // microphone after the browser's processing; speech even spoken softly is 20-30 dB above it.
    static constexpr double kSilenceFloorDbfs = -55.0;

    // noiseSuppression: voice.noise_suppression, 0 = off, 1..3 = WebRTC's moderate, high, very high.
    explicit VoiceActivityDetector(int noiseSuppression);
    ~VoiceActivityDetector();
    VoiceActivityDetector(const VoiceActivityDetector &) = delete;
    VoiceActivityDetector &operator=(const VoiceActivityDetector &) = delete;

    // False when WebRTC refused the configuration (then every frame is unvoiced).
    bool isValid() const { return m_apm != nullptr; }

    // The echo gate (voice.echo_gate_dbfs) for the frames that follow: on while her voice may play.
    void setEchoGate(bool on, double gateDbfs);

    FrameVerdict classify(const FrameSamples &frame);

private:
    std::unique_ptr<webrtc::AudioProcessing> m_apm;
    std::unique_ptr<webrtc::AudioFrame> m_frame;
    bool m_echoGateOn = false;
    double m_echoGateDbfs = 0.0;
};

} // namespace tianyi::voice
