#include "speechaudio.h"

#include <tianyi/speechrecording.h>
#include <tianyi/wav.h>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QSaveFile>
#include <QTemporaryFile>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace tianyi::test::speechaudio {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kFullScale = 32768.0;
constexpr int kEspeakTimeoutMs = 60000;
// Part of the cache key: bump when the resampler or the synthesis command changes.
constexpr char kCacheVersion[] = "speechaudio-v2";

std::vector<qint16> samplesOf(const QByteArray &pcm)
{
    std::vector<qint16> out(size_t(pcm.size() / 2));
    for (size_t i = 0; i < out.size(); ++i) {
        const auto lo = quint8(pcm[int(2 * i)]);
        const auto hi = quint8(pcm[int(2 * i + 1)]);
        out[i] = qint16(quint16(lo | (hi << 8)));
    }
    return out;
}

qint16 clipped(double v)
{
    return qint16(std::clamp(std::lround(v), -32768L, 32767L));
}

QByteArray pcmOf(const std::vector<double> &samples)
{
    QByteArray out(int(samples.size() * 2), Qt::Uninitialized);
    for (size_t i = 0; i < samples.size(); ++i) {
        const auto s = quint16(clipped(samples[i]));
        out[int(2 * i)] = char(s & 0xff);
        out[int(2 * i + 1)] = char(s >> 8);
    }
    return out;
}

int samplesFor(int ms) { return std::max(0, ms) * kSampleRate / 1000; }

double amplitudeOf(double dbfs) { return kFullScale * std::pow(10.0, dbfs / 20.0); }

double rmsOf(const std::vector<double> &samples)
{
    if (samples.empty())
        return 0.0;
    double sum = 0.0;
    for (double s : samples)
        sum += s * s;
    return std::sqrt(sum / double(samples.size()));
}

QString cacheDir()
{
    return QDir::temp().filePath(QStringLiteral("tianyi-speechaudio"));
}

QString cacheKey(const QString &voice, const QString &text)
{
    const QByteArray key = QByteArray(kCacheVersion) + '\n' + voice.toUtf8() + '\n' + text.toUtf8();
    return QString::fromLatin1(QCryptographicHash::hash(key, QCryptographicHash::Sha1).toHex());
}

// Runs espeak-ng into a temporary WAV file and returns the file's bytes.
QByteArray synthesizeWav(const QString &text, const QString &voice, QString *error)
{
    QTemporaryFile wavFile(QDir(cacheDir()).filePath(QStringLiteral("espeak-XXXXXX.wav")));
    if (!wavFile.open()) {
        *error = QStringLiteral("cannot create a temporary file in %1").arg(cacheDir());
        return {};
    }
    wavFile.close();
    QProcess espeak;
    espeak.start(QStringLiteral("espeak-ng"), {QStringLiteral("-v"), voice, QStringLiteral("-w"), wavFile.fileName(), text});
    if (!espeak.waitForFinished(kEspeakTimeoutMs) || espeak.exitStatus() != QProcess::NormalExit || espeak.exitCode() != 0) {
        *error = QStringLiteral("espeak-ng failed (%1): %2")
                     .arg(espeak.errorString(), QString::fromUtf8(espeak.readAllStandardError()));
        return {};
    }
    QFile in(wavFile.fileName());
    if (!in.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read espeak-ng's output");
        return {};
    }
    return in.readAll();
}

} // namespace

QByteArray speech(const QString &text, QString *error, const QString &voice)
{
    QString ignored;
    QString &err = error ? *error : ignored;
    QDir().mkpath(cacheDir());
    const QString cachePath = QDir(cacheDir()).filePath(cacheKey(voice, text) + QStringLiteral(".pcm"));
    QFile cached(cachePath);
    if (cached.open(QIODevice::ReadOnly))
        return cached.readAll();

    const QByteArray wavBytes = synthesizeWav(text, voice, &err);
    if (wavBytes.isEmpty())
        return {};
    wav::Format format;
    QByteArray pcm;
    if (!wav::parseFile(wavBytes, &format, &pcm, &err))
        return {};
    if (!format.isPcm16() || format.channels != 1) {
        err = QStringLiteral("espeak-ng wrote an unexpected format (%1 channels, %2 bits)")
                  .arg(format.channels)
                  .arg(format.bitsPerSample);
        return {};
    }
    const QByteArray out = resample(pcm, format.sampleRate, kSampleRate);
    // Written whole and renamed, so tests running in parallel never read half a file.
    QSaveFile save(cachePath);
    if (save.open(QIODevice::WriteOnly)) {
        save.write(out);
        save.commit();
    }
    return out;
}

QByteArray trimSilence(const QByteArray &pcm, double floorDbfs)
{
    constexpr int kFrameBytes = 10 * kBytesPerMs;
    const auto loud = [&](qsizetype frame) { return rmsDbfs(pcm.mid(frame * kFrameBytes, kFrameBytes)) >= floorDbfs; };
    const qsizetype frames = (pcm.size() + kFrameBytes - 1) / kFrameBytes;
    qsizetype first = 0;
    while (first < frames && !loud(first))
        ++first;
    qsizetype last = frames - 1;
    while (last > first && !loud(last))
        --last;
    if (first >= frames)
        return {};
    return pcm.mid(first * kFrameBytes, (last - first + 1) * kFrameBytes);
}

QByteArray silence(int ms)
{
    return QByteArray(samplesFor(ms) * 2, '\0');
}

QByteArray whiteNoise(int ms, double dbfs, quint32 seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> gauss(0.0, amplitudeOf(dbfs));
    std::vector<double> samples(size_t(samplesFor(ms)));
    for (double &s : samples)
        s = gauss(rng);
    return pcmOf(samples);
}

QByteArray coughBurst(int ms, double dbfs, quint32 seed)
{
    constexpr double kAttackMs = 10.0;
    constexpr double kDecayMs = 50.0;           // time constant of the exponential decay
    constexpr double kLowPassHz = 3000.0;       // one-pole low-pass: a cough is darker than white noise
    std::mt19937 rng(seed);
    std::normal_distribution<double> gauss(0.0, 1.0);
    const double alpha = 1.0 - std::exp(-2.0 * kPi * kLowPassHz / kSampleRate);
    std::vector<double> samples(size_t(samplesFor(ms)));
    double lowPassed = 0.0;
    for (size_t i = 0; i < samples.size(); ++i) {
        const double tMs = double(i) * 1000.0 / kSampleRate;
        const double envelope = tMs < kAttackMs ? tMs / kAttackMs : std::exp(-(tMs - kAttackMs) / kDecayMs);
        lowPassed += alpha * (gauss(rng) - lowPassed);
        samples[i] = lowPassed * envelope;
    }
    const double rms = rmsOf(samples);
    if (rms > 0.0) {
        const double gain = amplitudeOf(dbfs) / rms;
        for (double &s : samples)
            s *= gain;
    }
    return pcmOf(samples);
}

QByteArray concat(std::initializer_list<QByteArray> pieces)
{
    QByteArray out;
    qsizetype total = 0;
    for (const QByteArray &p : pieces)
        total += p.size();
    out.reserve(total);
    for (const QByteArray &p : pieces)
        out += p;
    return out;
}

QByteArray scaledDb(const QByteArray &pcm, double db)
{
    const double gain = std::pow(10.0, db / 20.0);
    std::vector<double> samples;
    for (qint16 s : samplesOf(pcm))
        samples.push_back(s * gain);
    return pcmOf(samples);
}

double rmsDbfs(const QByteArray &pcm)
{
    const std::vector<qint16> samples = samplesOf(pcm);
    double sum = 0.0;
    for (qint16 s : samples)
        sum += double(s) * s;
    if (sum <= 0.0)
        return kSilenceDbfs;
    return std::max(kSilenceDbfs, 20.0 * std::log10(std::sqrt(sum / double(samples.size())) / kFullScale));
}

// The client library's resampler (tianyi-cli brings its recordings to 16 kHz with it): one
// windowed-sinc implementation for the product and its tests.
QByteArray resample(const QByteArray &pcm, int fromRate, int toRate)
{
    if (fromRate <= 0 || toRate <= 0)
        return {};
    return client::resampleMono(pcm, fromRate, toRate);
}

} // namespace tianyi::test::speechaudio
