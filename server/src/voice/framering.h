#pragma once
// The last N frames of audio, in a buffer allocated once: what a microphone stream keeps while
// nobody speaks (the pre-roll and the onset window), so its memory never grows with the stream.

#include "voice/audioframe.h"

#include <QByteArray>

namespace tianyi::voice {

class FrameRing
{
public:
    explicit FrameRing(int capacityFrames);

    // Appends one frame (kFrameBytes bytes), dropping the oldest when full.
    void push(const char *frameBytes);
    // The last `frames` frames (fewer if fewer were pushed), oldest first.
    QByteArray last(int frames) const;
    void clear() { m_count = 0; }

    int capacityFrames() const { return m_capacity; }
    qsizetype heldBytes() const { return m_storage.size(); }

private:
    const int m_capacity;
    QByteArray m_storage;
    int m_next = 0;    // slot of the next push
    int m_count = 0;   // frames held
};

} // namespace tianyi::voice
