#pragma once
// WAV (RIFF/WAVE) helpers for 16-bit little-endian PCM, plus the lip-sync volume envelope.
//
// Two kinds of input are read:
//  - whole files (GPT-SoVITS non-streaming replies, uploads) with correct sizes;
//  - GPT-SoVITS streaming replies, whose 44-byte header carries WRONG sizes (data size 0, RIFF size
//    bogus): the data chunk then runs until the end of the stream. The parser never trusts the RIFF
//    size, and treats a data size of 0 or 0xFFFFFFFF as "unknown, read until EOF".

#include <QByteArray>
#include <QString>
#include <QVector>

namespace tianyi::wav {

struct Format {
    int sampleRate = 0;
    int channels = 0;
    int bitsPerSample = 0;
    int audioFormat = 0;      // 1 = integer PCM (WAVE_FORMAT_EXTENSIBLE with a PCM sub-format reports 1 too)

    bool isPcm16() const { return audioFormat == 1 && bitsPerSample == 16; }
    int bytesPerFrame() const { return channels * (bitsPerSample / 8); }
};

struct HeaderInfo {
    Format format;
    int dataOffset = 0;       // first byte of PCM in the input
    qint64 dataSize = -1;     // bytes of PCM the header announces; -1 = unknown (read until EOF)
};

enum class HeaderStatus { Ok, NeedMoreData, Invalid };

// The canonical 44-byte header for PCM s16le (bitsPerSample 16) with the given data size.
QByteArray header(int sampleRate, int channels, quint32 dataBytes, int bitsPerSample = 16);
// A whole file: header + pcm (s16le).
QByteArray file(const QByteArray &pcm, int sampleRate, int channels = 1);

// Parses the header at the start of `bytes` (which may be only the first bytes of a stream).
// NeedMoreData: call again with more bytes. Invalid: `error` says why.
HeaderStatus parseHeader(const QByteArray &bytes, HeaderInfo *info, QString *error = nullptr);

// Parses a whole file into its format and PCM bytes. A data size of 0/unknown takes the rest of
// the file; a data size larger than the file is an error ("truncated").
bool parseFile(const QByteArray &bytes, Format *format, QByteArray *pcm, QString *error = nullptr);

// Largest absolute sample value of s16le PCM (a trailing odd byte is ignored).
int peakAmplitude(const QByteArray &pcm);

// Samples at or below this absolute value count as silence (-50 dBFS). GPT-SoVITS's failure
// output is exact zeros; this leaves room for dither and faint noise.
constexpr int kSilenceThreshold = 100;

// True when every sample of s16le PCM lies within +-threshold (empty PCM is silent too).
bool isSilent(const QByteArray &pcm, int threshold = kSilenceThreshold);

// Duration of s16le PCM in milliseconds.
inline qint64 durationMs(qint64 pcmBytes, int sampleRate, int channels = 1)
{
    return sampleRate > 0 && channels > 0 ? pcmBytes * 1000 / (qint64(sampleRate) * channels * 2) : 0;
}

// ---- Lip-sync volume envelope -------------------------------------------------------------
// One value per window (default 20 ms) of mono s16le PCM:
//   rms   = sqrt(mean(s^2)) with s = sample / 32768
//   level = 20 * log10(rms * sqrt(2))            (dB relative to a full-scale sine; -inf for rms 0)
//   value = clamp((level + 60) / 60, 0, 1)
// So digital silence and anything below -60 dB give 0, a full-scale sine gives 1, and ordinary
// speech (around -20 dB) about 0.67: a mouth that visibly moves. The last, partial window is
// computed over the samples it has.
constexpr int kEnvelopeWindowMs = 20;
constexpr double kEnvelopeFloorDb = -60.0;

// Envelope value of `count` s16le samples starting at `pcm`.
float envelopeValue(const char *pcm, int count);
QVector<float> volumeEnvelope(const QByteArray &pcm, int sampleRate, int windowMs = kEnvelopeWindowMs);

// The same envelope computed over PCM that arrives in arbitrary pieces (odd byte counts included):
// feed() returns the values of the windows completed so far, flush() the last partial one.
class EnvelopeTracker
{
public:
    explicit EnvelopeTracker(int sampleRate, int windowMs = kEnvelopeWindowMs);
    QVector<float> feed(const QByteArray &pcm);
    QVector<float> flush();
    int windowSamples() const { return m_windowSamples; }

private:
    int m_windowSamples;
    QByteArray m_pending;
};

} // namespace tianyi::wav
