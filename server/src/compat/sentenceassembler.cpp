#include "compat/sentenceassembler.h"

#include <tianyi/wav.h>

namespace tianyi::olv {

void SentenceAssembler::reset()
{
    m_index = -1;
    m_sampleRate = 0;
    m_bytes = 0;
    m_overCap = false;
    m_pcm.clear();
}

std::optional<AssembledSentence> SentenceAssembler::add(int index, int sampleRate, const QByteArray &pcm, bool last)
{
    if (index != m_index) { // a new sentence: whatever was left of another one is gone
        reset();
        m_index = index;
    }
    m_sampleRate = sampleRate;
    m_bytes += pcm.size();
    if (!m_overCap && m_pcm.size() + pcm.size() > m_maxPcmBytes) {
        m_overCap = true;
        m_pcm.clear();
    }
    if (!m_overCap)
        m_pcm += pcm;
    if (!last)
        return std::nullopt;
    AssembledSentence out;
    out.index = index;
    out.durationMs = wav::durationMs(m_bytes, m_sampleRate);
    if (!m_overCap && !m_pcm.isEmpty()) {
        out.wav = wav::file(m_pcm, m_sampleRate);
        out.volumes = wav::volumeEnvelope(m_pcm, m_sampleRate, kSliceLengthMs);
    }
    reset();
    return out;
}

} // namespace tianyi::olv
