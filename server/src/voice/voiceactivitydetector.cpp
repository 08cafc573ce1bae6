#include "voice/voiceactivitydetector.h"

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>

namespace tianyi::voice {

namespace {

// WebRTC's likelihood maps to its VAD's aggressiveness: kVeryLowLikelihood is mode 3 of 0..3, the
// one that calls the fewest noise frames speech. Measured (bench/vadbench.cpp, noise suppression 1):
// white noise at -25 dBFS is voiced in 0.4 % of frames against 34 % with kLowLikelihood, while espeak
// speech stays voiced in 86 % of its frames. The quietest syllable edges it clips come back through
// the pre-roll and the onset window of the endpointer.
constexpr auto kLikelihood = webrtc::VoiceDetection::kVeryLowLikelihood;

webrtc::NoiseSuppression::Level suppressionLevel(int setting)
{
    switch (setting) {
    case 2: return webrtc::NoiseSuppression::kHigh;
    case 3: return webrtc::NoiseSuppression::kVeryHigh;
    default: return webrtc::NoiseSuppression::kModerate;
    }
}

bool configure(webrtc::AudioProcessing &apm, int noiseSuppression)
{
    using webrtc::AudioProcessing;
    bool ok = apm.voice_detection()->Enable(true) == AudioProcessing::kNoError
              && apm.voice_detection()->set_likelihood(kLikelihood) == AudioProcessing::kNoError
              && apm.voice_detection()->set_frame_size_ms(kFrameMs) == AudioProcessing::kNoError
              // See the header: the browser already did AGC; echo cancellation is the browser's too.
              && apm.gain_control()->Enable(false) == AudioProcessing::kNoError
              && apm.echo_cancellation()->Enable(false) == AudioProcessing::kNoError
              && apm.high_pass_filter()->Enable(true) == AudioProcessing::kNoError;
    if (noiseSuppression > 0)
        ok = ok && apm.noise_suppression()->set_level(suppressionLevel(noiseSuppression)) == AudioProcessing::kNoError
             && apm.noise_suppression()->Enable(true) == AudioProcessing::kNoError;
    else
        ok = ok && apm.noise_suppression()->Enable(false) == AudioProcessing::kNoError;
    return ok;
}

} // namespace

VoiceActivityDetector::VoiceActivityDetector(int noiseSuppression)
    : m_apm(webrtc::AudioProcessing::Create())
    , m_frame(std::make_unique<webrtc::AudioFrame>())
{
    if (m_apm && !configure(*m_apm, std::clamp(noiseSuppression, 0, 3)))
        m_apm.reset();
}

VoiceActivityDetector::~VoiceActivityDetector() = default;

void VoiceActivityDetector::setEchoGate(bool on, double gateDbfs)
{
    m_echoGateOn = on;
    m_echoGateDbfs = gateDbfs;
}

FrameVerdict VoiceActivityDetector::classify(const FrameSamples &frame)
{
    FrameVerdict verdict;
    verdict.levelDbfs = frameLevelDbfs(frame);
    // Frames under the silence floor still go through WebRTC: skipping them would save most of the
    // CPU of a quiet room, but its noise suppressor and detector learn the noise from exactly those
    // frames; without them they took soft speech for noise (measured: speech at -46 dBFS was no
    // longer heard).
    if (!m_apm)
        return verdict;
    // ProcessStream works in place: the frame is copied in each time (its output, the suppressed
    // audio, is not used: the recognizer gets the audio as the user's browser sent it).
    m_frame->UpdateFrame(0, 0, frame.data(), kFrameSamples, kSampleRate, webrtc::AudioFrame::kNormalSpeech,
                         webrtc::AudioFrame::kVadUnknown, 1);
    if (m_apm->ProcessStream(m_frame.get()) != webrtc::AudioProcessing::kNoError)
        return verdict;
    verdict.voiced = m_apm->voice_detection()->stream_has_voice() && verdict.levelDbfs >= kSilenceFloorDbfs
                     && !(m_echoGateOn && verdict.levelDbfs < m_echoGateDbfs);
    return verdict;
}

} // namespace tianyi::voice
