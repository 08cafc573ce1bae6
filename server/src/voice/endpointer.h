#pragma once
// Turns the voiced / unvoiced verdicts of consecutive 10 ms frames into utterances. A pure state
// machine: no clock, no timer, no audio; the same verdicts give the same steps.
//
//  - Onset: speech starts when at least voice.speech_min_ms of the last onset window
//    (1.5 x speech_min_ms) were voiced. Short gaps inside the onset (a stop consonant, a frame the
//    detector missed) do not reset it, as long as the voiced frames still fill two thirds of the
//    window; a click or a cough shorter than speech_min_ms never starts speech. The utterance
//    begins at the first voiced frame of that window.
//  - Sustained: once the utterance holds voice.interruption_min_ms of VOICED frames (pauses do
//    not count), so a cough followed by silence never confirms a barge-in.
//  - End: voice.endpointing_ms of consecutive unvoiced frames, or voice.max_utterance_seconds
//    from the first voiced frame (the cap), or finish().
//  - Duration: from the first voiced frame to the end of the last voiced one (the trailing
//    endpointing silence is not speech).

#include "base/config.h"
#include "voice/audioframe.h"

#include <vector>

namespace tianyi::voice {

enum class UtteranceEnd { Silence, LengthCap, Finished };

// What one frame changed; several can be true at once and happen in this order:
// started, sustained, ended.
struct EndpointerStep {
    bool started = false;
    int startedFramesAgo = 0;   // on started: frames of the utterance so far, this one included
    bool sustained = false;
    bool ended = false;
    UtteranceEnd end = UtteranceEnd::Silence;
    int durationMs = 0;         // on ended
};

class Endpointer
{
public:
    explicit Endpointer(const VoiceSettings &settings);

    EndpointerStep push(bool voiced);
    // Ends an utterance in progress (ended with UtteranceEnd::Finished); nothing otherwise.
    EndpointerStep finish();

    bool inSpeech() const { return m_inSpeech; }
    // The furthest back an onset reaches (frames): the caller keeps this much audio before speech.
    int onsetWindowFrames() const { return int(m_window.size()); }

private:
    EndpointerStep pushOnset(bool voiced);
    void pushSpeech(bool voiced, EndpointerStep &step);
    void endUtterance(UtteranceEnd why, EndpointerStep &step);
    void clearWindow();

    const int m_speechMinFrames;
    const int m_endpointingFrames;
    const int m_interruptionFrames;
    const int m_maxUtteranceFrames;

    // Onset: the last frames' verdicts (a fixed-size ring) and how many of them were voiced.
    std::vector<bool> m_window;
    int m_windowNext = 0;
    int m_windowVoiced = 0;

    // The utterance in progress, in frames from its first voiced frame.
    bool m_inSpeech = false;
    int m_elapsed = 0;
    int m_voiced = 0;
    int m_lastVoicedEnd = 0;
    int m_trailingUnvoiced = 0;
    bool m_sustained = false;
};

} // namespace tianyi::voice
