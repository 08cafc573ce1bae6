#pragma once
// Open-LLM-VTuber's microphone audio: a JSON array of float samples in [-1, 1] at 16 kHz (its
// frontend sends Float32Array chunks through Array.from). Converted to s16le PCM for SpeechInput:
// values are clamped, anything that is not a finite number counts as silence (NaN and infinities
// cannot be written in JSON, but a hostile client may send strings or nulls), and a chunk longer
// than the cap is refused whole.

#include <QByteArray>
#include <QJsonArray>
#include <optional>

namespace tianyi::olv {

// OLV sends 4096 samples per message (forks: 16384); more than this is not a microphone chunk.
// Measured as OLV's JSON: 4096 samples ~ 81-89 KB, 16384 ~ 324-356 KB, well inside
// limits.ws_max_message_bytes (1 MiB), so the endpoint needs no larger message limit.
constexpr int kMaxSamplesPerChunk = 65536;
// OLV's microphone rate (its VAD resamples to 16 kHz before sending).
constexpr int kMicSampleRate = 16000;

// s16le PCM of the samples; nullopt when the array is longer than maxSamples.
std::optional<QByteArray> floatSamplesToPcm(const QJsonArray &samples, int maxSamples = kMaxSamplesPerChunk);

} // namespace tianyi::olv
