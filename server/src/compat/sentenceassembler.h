#pragma once
// The audio of one sentence as Open-LLM-VTuber plays it: the turn's PCM chunks of the sentence
// collected until its last chunk, then one WAV file (16-bit mono at the TTS rate) and the lip-sync
// volumes in 20 ms slices (tianyi/wav.h's envelope). A sentence over the size cap keeps its
// duration but drops its audio: it is shown as text only, and the socket's send queue is not
// flooded with one huge message.

#include <QByteArray>
#include <QVector>
#include <optional>

namespace tianyi::olv {

// 2 MiB of PCM: 32 s at 32 kHz, far longer than a sentence of chat.max_sentence_chars; as base64
// inside JSON it stays under the default send queue (limits.ws_max_send_queue_bytes).
constexpr qint64 kMaxSentencePcmBytes = 2 * 1024 * 1024;
constexpr int kSliceLengthMs = 20;

struct AssembledSentence {
    int index = -1;
    QByteArray wav;             // empty: too large (or silent nothing): text only
    QVector<float> volumes;     // one per 20 ms slice, the last one partial
    qint64 durationMs = 0;      // of all the PCM received, as the turn pipeline counts it
};

class SentenceAssembler
{
public:
    explicit SentenceAssembler(qint64 maxPcmBytes = kMaxSentencePcmBytes) : m_maxPcmBytes(maxPcmBytes) {}

    // A chunk of sentence `index` (chunks arrive in order, one sentence after another); the whole
    // sentence once `last`.
    std::optional<AssembledSentence> add(int index, int sampleRate, const QByteArray &pcm, bool last);
    void reset();

private:
    qint64 m_maxPcmBytes;
    int m_index = -1;
    int m_sampleRate = 0;
    qint64 m_bytes = 0;
    bool m_overCap = false;
    QByteArray m_pcm;
};

} // namespace tianyi::olv
