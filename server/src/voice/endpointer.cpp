#include "voice/endpointer.h"

#include <algorithm>

namespace tianyi::voice {

namespace {

// The onset window is this many times speech_min_ms: the voiced frames must fill 2/3 of it.
constexpr int kOnsetWindowNumerator = 3;
constexpr int kOnsetWindowDenominator = 2;

int atLeastOneFrame(int ms) { return std::max(1, framesIn(ms)); }

} // namespace

Endpointer::Endpointer(const VoiceSettings &settings)
    : m_speechMinFrames(atLeastOneFrame(settings.speechMinMs))
    , m_endpointingFrames(atLeastOneFrame(settings.endpointingMs))
    , m_interruptionFrames(atLeastOneFrame(settings.interruptionMinMs))
    , m_maxUtteranceFrames(atLeastOneFrame(settings.maxUtteranceSeconds * 1000))
    , m_window(size_t(std::max(m_speechMinFrames + 1, (m_speechMinFrames * kOnsetWindowNumerator + kOnsetWindowDenominator - 1)
                                                          / kOnsetWindowDenominator)),
               false)
{
}

EndpointerStep Endpointer::push(bool voiced)
{
    if (!m_inSpeech)
        return pushOnset(voiced);
    EndpointerStep step;
    pushSpeech(voiced, step);
    return step;
}

EndpointerStep Endpointer::finish()
{
    EndpointerStep step;
    if (m_inSpeech)
        endUtterance(UtteranceEnd::Finished, step);
    clearWindow();
    return step;
}

EndpointerStep Endpointer::pushOnset(bool voiced)
{
    EndpointerStep step;
    m_windowVoiced += int(voiced) - int(m_window[size_t(m_windowNext)]);
    m_window[size_t(m_windowNext)] = voiced;
    m_windowNext = (m_windowNext + 1) % int(m_window.size());
    if (m_windowVoiced < m_speechMinFrames)
        return step;

    // The utterance begins at the oldest voiced frame still in the window.
    const int size = int(m_window.size());
    int framesAgo = size;
    for (int i = 0; i < size && !m_window[size_t((m_windowNext + i) % size)]; ++i)
        --framesAgo;
    m_inSpeech = true;
    m_elapsed = framesAgo;
    m_voiced = m_windowVoiced;
    m_lastVoicedEnd = framesAgo;   // this frame is voiced: m_windowVoiced just reached the minimum
    m_trailingUnvoiced = 0;
    m_sustained = false;
    clearWindow();
    step.started = true;
    step.startedFramesAgo = framesAgo;
    if (m_voiced >= m_interruptionFrames) {
        m_sustained = true;
        step.sustained = true;
    }
    if (m_elapsed >= m_maxUtteranceFrames)
        endUtterance(UtteranceEnd::LengthCap, step);
    return step;
}

void Endpointer::pushSpeech(bool voiced, EndpointerStep &step)
{
    ++m_elapsed;
    if (voiced) {
        ++m_voiced;
        m_lastVoicedEnd = m_elapsed;
        m_trailingUnvoiced = 0;
    } else {
        ++m_trailingUnvoiced;
    }
    if (!m_sustained && m_voiced >= m_interruptionFrames) {
        m_sustained = true;
        step.sustained = true;
    }
    if (m_trailingUnvoiced >= m_endpointingFrames)
        endUtterance(UtteranceEnd::Silence, step);
    else if (m_elapsed >= m_maxUtteranceFrames)
        endUtterance(UtteranceEnd::LengthCap, step);
}

void Endpointer::endUtterance(UtteranceEnd why, EndpointerStep &step)
{
    step.ended = true;
    step.end = why;
    step.durationMs = m_lastVoicedEnd * kFrameMs;
    m_inSpeech = false;
}

void Endpointer::clearWindow()
{
    std::fill(m_window.begin(), m_window.end(), false);
    m_windowNext = 0;
    m_windowVoiced = 0;
}

} // namespace tianyi::voice
