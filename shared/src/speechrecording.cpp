#include "tianyi/speechrecording.h"

#include "tianyi/wav.h"

#include <QtEndian>

#include <algorithm>
#include <cmath>

namespace tianyi::client {

namespace {
constexpr int kTargetRate = 16000;
constexpr int kMinSourceRate = 8000;
constexpr int kMaxSourceRate = 48000;
constexpr int kWindowMs = 10;
// Half-width of the resampling filter in zero crossings of the (narrowest) sinc: enough for a
// stop band far below what a VAD or a recognizer can notice.
constexpr int kSincZeroCrossings = 16;
// Cutoff as a share of the lower Nyquist frequency: a little transition band below it.
constexpr double kCutoffShare = 0.92;

qint16 sampleAt(const QByteArray &pcm, qsizetype i)
{
    return qFromLittleEndian<qint16>(pcm.constData() + 2 * i);
}

void putSample(QByteArray &pcm, qsizetype i, double v)
{
    const auto s = qint16(std::clamp(std::lround(v), -32768L, 32767L));
    qToLittleEndian<qint16>(s, pcm.data() + 2 * i);
}

QByteArray downmix(const QByteArray &interleaved, int channels)
{
    const qsizetype frames = interleaved.size() / (2 * channels);
    QByteArray mono(frames * 2, '\0');
    for (qsizetype f = 0; f < frames; ++f) {
        int sum = 0;
        for (int c = 0; c < channels; ++c)
            sum += sampleAt(interleaved, f * channels + c);
        putSample(mono, f, double(sum) / channels);
    }
    return mono;
}
} // namespace

qint64 SpeechRecording::durationMs() const
{
    return wav::durationMs(pcm.size(), kTargetRate);
}

QByteArray resampleMono(const QByteArray &pcm, int fromRate, int toRate)
{
    if (fromRate == toRate || fromRate <= 0 || toRate <= 0)
        return pcm;
    const qsizetype inCount = pcm.size() / 2;
    const qsizetype outCount = qsizetype(double(inCount) * toRate / fromRate);
    QByteArray out(outCount * 2, '\0');
    // Cutoff relative to the input's Nyquist frequency: the lower of the two rates decides.
    const double cutoff = kCutoffShare * std::min(1.0, double(toRate) / fromRate);
    const double halfWidth = kSincZeroCrossings / cutoff; // in input samples
    const double step = double(fromRate) / toRate;
    for (qsizetype n = 0; n < outCount; ++n) {
        const double t = double(n) * step;
        const auto first = qsizetype(std::ceil(t - halfWidth));
        const auto last = qsizetype(std::floor(t + halfWidth));
        double acc = 0, weight = 0;
        for (qsizetype k = std::max<qsizetype>(first, 0); k <= std::min(last, inCount - 1); ++k) {
            const double x = t - double(k);
            const double arg = M_PI * cutoff * x;
            const double sinc = std::abs(arg) < 1e-9 ? 1.0 : std::sin(arg) / arg;
            const double window = 0.5 * (1.0 + std::cos(M_PI * x / halfWidth)); // Hann
            const double h = sinc * window;
            acc += h * sampleAt(pcm, k);
            weight += h;
        }
        // Normalized by the taps' sum: unity gain at DC, also at the edges where taps are missing.
        putSample(out, n, weight > 0 ? acc / weight : 0.0);
    }
    return out;
}

QPair<qint64, qint64> voicedSpan(const QByteArray &pcm, int sampleRate)
{
    const qsizetype window = qsizetype(sampleRate) * kWindowMs / 1000;
    const qsizetype count = pcm.size() / 2;
    const double threshold = 32768.0 * std::pow(10.0, kVoicedDbfs / 20.0);
    qint64 first = -1, last = -1;
    for (qsizetype start = 0; window > 0 && start + window <= count; start += window) {
        double energy = 0;
        for (qsizetype i = start; i < start + window; ++i) {
            const double s = sampleAt(pcm, i);
            energy += s * s;
        }
        if (std::sqrt(energy / double(window)) > threshold) {
            const qint64 atMs = qint64(start) * 1000 / sampleRate;
            if (first < 0)
                first = atMs;
            last = atMs + kWindowMs;
        }
    }
    return {first, last};
}

QByteArray roomSound(int ms, int sampleRate, double dbfs, quint32 seed)
{
    const qsizetype count = qsizetype(sampleRate) * std::max(ms, 0) / 1000;
    QByteArray pcm(count * 2, '\0');
    if (dbfs <= -120.0)
        return pcm;
    // Uniform noise in [-a, a] has RMS a / sqrt(3).
    const double amplitude = 32768.0 * std::pow(10.0, dbfs / 20.0) * std::sqrt(3.0);
    quint32 state = seed ? seed : 1;
    for (qsizetype i = 0; i < count; ++i) {
        state = state * 1664525u + 1013904223u; // LCG: deterministic, cheap, plenty for noise
        const double u = double(state >> 8) / double(1u << 24) * 2.0 - 1.0;
        putSample(pcm, i, u * amplitude);
    }
    return pcm;
}

std::optional<SpeechRecording> speechFromWav(const QByteArray &file, QString *error)
{
    auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return std::nullopt;
    };
    wav::Format format;
    QByteArray pcm;
    QString why;
    if (!wav::parseFile(file, &format, &pcm, &why))
        return fail(why);
    const QString needed = QStringLiteral("16-bit PCM, mono or stereo, %1..%2 Hz (16 kHz mono s16le is sent as it is)")
                               .arg(kMinSourceRate)
                               .arg(kMaxSourceRate);
    if (!format.isPcm16())
        return fail(QStringLiteral("a WAV of %1-bit samples in format %2; needed: %3")
                        .arg(format.bitsPerSample)
                        .arg(format.audioFormat == 3 ? QStringLiteral("float") : QString::number(format.audioFormat), needed));
    if (format.channels < 1 || format.channels > 2)
        return fail(QStringLiteral("a WAV with %1 channels; needed: %2").arg(format.channels).arg(needed));
    if (format.sampleRate < kMinSourceRate || format.sampleRate > kMaxSourceRate)
        return fail(QStringLiteral("a WAV at %1 Hz; needed: %2").arg(format.sampleRate).arg(needed));
    const qint64 seconds = pcm.size() / (qint64(format.sampleRate) * format.channels * 2);
    if (seconds > kMaxSpeechFileSeconds)
        return fail(QStringLiteral("a WAV of %1 s; at most %2 s").arg(seconds).arg(kMaxSpeechFileSeconds));
    pcm.truncate(pcm.size() - pcm.size() % (2 * format.channels));
    if (pcm.isEmpty())
        return fail(QStringLiteral("a WAV without samples"));

    SpeechRecording r;
    r.sourceSampleRate = format.sampleRate;
    r.sourceChannels = format.channels;
    r.pcm = resampleMono(format.channels == 1 ? pcm : downmix(pcm, format.channels), format.sampleRate, kTargetRate);
    const auto span = voicedSpan(r.pcm, kTargetRate);
    r.firstVoicedMs = span.first;
    r.lastVoicedMs = span.second;
    return r;
}

} // namespace tianyi::client
