#pragma once
// A recording to play into the hands-free listening stream as if it were spoken: read from a WAV file
// and brought to what listen_start announces (16 kHz mono s16le), plus the sounds of a quiet room.
// Used by tianyi-cli listen and the load generator's voice turns.

#include <QByteArray>
#include <QPair>
#include <QString>

#include <optional>

namespace tianyi::client {

struct SpeechRecording {
    QByteArray pcm;              // 16 kHz mono s16le
    int sourceSampleRate = 0;    // of the file
    int sourceChannels = 0;
    qint64 firstVoicedMs = -1;   // audio time of the first voiced 10 ms window (-1: none is voiced)
    qint64 lastVoicedMs = -1;    // audio time where the last voiced 10 ms window ends

    qint64 durationMs() const;
};

// 16-bit integer PCM, mono or stereo (downmixed), at any rate from 8 to 48 kHz (resampled to 16 kHz
// through a windowed-sinc low-pass, so nothing above 8 kHz folds back into the speech band), at most
// kMaxSpeechFileSeconds. Anything else: nullopt and `error` says what the file is and what is needed.
constexpr int kMaxSpeechFileSeconds = 600;
std::optional<SpeechRecording> speechFromWav(const QByteArray &file, QString *error);

// Mono s16le from one rate to another (windowed sinc; a plain copy when the rates are equal).
QByteArray resampleMono(const QByteArray &pcm, int fromRate, int toRate);

// A 10 ms window counts as voiced when its RMS is above this (dBFS): espeak-ng and microphone speech
// are far above it, digital silence and a quiet room far below.
constexpr double kVoicedDbfs = -40.0;
// The first and last voiced windows (audio ms; -1, -1 when none is voiced).
QPair<qint64, qint64> voicedSpan(const QByteArray &pcm, int sampleRate);

// `ms` of the sound of a quiet room at `dbfs` RMS (uniform white noise, deterministic per seed); a
// level at or below -120 dBFS gives digital silence.
QByteArray roomSound(int ms, int sampleRate, double dbfs, quint32 seed = 1);

} // namespace tianyi::client
