#pragma once
// Microphone-like test audio for the listening tests: 16 kHz, s16le, mono PCM (the format of the
// protocol's listen_start), as QByteArray.
//
// - speech(): real synthesized speech from the espeak-ng command line (Mandarin voice "cmn"),
//   resampled from espeak's 22050 Hz to 16000 Hz with a windowed-sinc filter, cached per text.
// - silence(), whiteNoise(), coughBurst(): the non-speech a microphone hears.
// - concat(), scaledDb(), rmsDbfs(): building scenes and checking levels.
//
// Levels are RMS dBFS relative to a full-scale SQUARE wave: 20*log10(rms / 32768). A full-scale
// sine is -3.01 dBFS on this scale (the convention of WebRTC's RmsLevel). Everything is
// deterministic: the same arguments give the same bytes.

#include <QByteArray>
#include <QString>

#include <initializer_list>

namespace tianyi::test {

namespace speechaudio {

constexpr int kSampleRate = 16000;
constexpr int kBytesPerMs = kSampleRate * 2 / 1000;   // 32
// rmsDbfs() of digital silence (log of zero): a floor far below any real microphone.
constexpr double kSilenceDbfs = -120.0;

// Mandarin speech for `text` from `espeak-ng -v <voice> -w FILE text` (22050 Hz WAV), resampled
// to 16 kHz. The result is cached under <temp>/tianyi-speechaudio/ keyed by voice, text and the
// resampler version, so a suite synthesizes each text once. espeak's output peaks near full scale
// (speech around -20 dBFS RMS); leading/trailing silence espeak adds is kept (tens of ms).
// Returns empty PCM and sets *error when espeak-ng is missing or fails.
QByteArray speech(const QString &text, QString *error = nullptr, const QString &voice = QStringLiteral("cmn"));

// Duration of PCM in milliseconds (16 kHz s16le mono).
inline int durationMs(const QByteArray &pcm) { return int(pcm.size() / kBytesPerMs); }

// `pcm` without its quiet ends: leading and trailing 10 ms frames whose level is below
// `floorDbfs` are cut. espeak-ng pads its speech with a few hundred ms of silence; a test that
// needs an exact pause between two phrases trims them first.
QByteArray trimSilence(const QByteArray &pcm, double floorDbfs = -50.0);

// Digital zero for `ms` milliseconds.
QByteArray silence(int ms);

// Gaussian white noise whose RMS is `dbfs` (samples clipped to 16 bits; clipping only matters
// above about -12 dBFS). The same seed gives the same noise.
QByteArray whiteNoise(int ms, double dbfs, quint32 seed = 1);

// A cough-like burst: broadband noise, darkened by a gentle low-pass (most of a cough's energy is
// below ~4 kHz), with a 10 ms attack and an exponential decay, `ms` long (a cough is ~150-250 ms).
// Its RMS over the whole burst is `dbfs`.
QByteArray coughBurst(int ms = 200, double dbfs = -15.0, quint32 seed = 1);

// The pieces one after another.
QByteArray concat(std::initializer_list<QByteArray> pieces);

// Every sample multiplied by 10^(db/20), clipped to 16 bits (db < 0 makes it quieter).
QByteArray scaledDb(const QByteArray &pcm, double db);

// RMS level of s16le PCM in dBFS (see above); kSilenceDbfs for empty or all-zero PCM.
double rmsDbfs(const QByteArray &pcm);

// Band-limited resampling of s16le mono PCM: windowed sinc (Blackman window, 16 zero crossings
// each side), cut-off at 0.45 * min(fromRate, toRate) so nothing aliases. Exposed so the tests of
// this helper can check it; speech() uses it for 22050 -> 16000.
QByteArray resample(const QByteArray &pcm, int fromRate, int toRate);

} // namespace speechaudio

} // namespace tianyi::test
