#include "voice/framering.h"

#include <algorithm>
#include <cstring>

namespace tianyi::voice {

FrameRing::FrameRing(int capacityFrames)
    : m_capacity(std::max(1, capacityFrames))
    , m_storage(qsizetype(m_capacity) * kFrameBytes, '\0')
{
}

void FrameRing::push(const char *frameBytes)
{
    std::memcpy(m_storage.data() + qsizetype(m_next) * kFrameBytes, frameBytes, kFrameBytes);
    m_next = (m_next + 1) % m_capacity;
    m_count = std::min(m_count + 1, m_capacity);
}

QByteArray FrameRing::last(int frames) const
{
    const int n = std::clamp(frames, 0, m_count);
    QByteArray out;
    out.reserve(qsizetype(n) * kFrameBytes);
    for (int i = n; i > 0; --i) {
        const int slot = (m_next - i + m_capacity) % m_capacity;
        out.append(m_storage.constData() + qsizetype(slot) * kFrameBytes, kFrameBytes);
    }
    return out;
}

} // namespace tianyi::voice
