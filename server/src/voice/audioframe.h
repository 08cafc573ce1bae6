#pragma once
// The unit of voice processing: 10 ms of 16 kHz mono s16le PCM, the frame size WebRTC's audio
// processing takes, and its level.

#include <QtGlobal>

#include <array>

namespace tianyi::voice {

constexpr int kSampleRate = 16000;
constexpr int kFrameMs = 10;
constexpr int kFrameSamples = kSampleRate * kFrameMs / 1000;   // 160
constexpr int kFrameBytes = kFrameSamples * 2;                 // 320
constexpr int kBytesPerSecond = kSampleRate * 2;               // real time: 32000

using FrameSamples = std::array<qint16, kFrameSamples>;

// Level of a frame of digital silence (the log of zero), below anything a microphone gives.
constexpr double kDigitalSilenceDbfs = -120.0;

// RMS level of a frame in dBFS relative to a full-scale square wave: 20*log10(rms / 32768)
// (a full-scale sine is -3 dBFS; WebRTC's RmsLevel uses the same scale).
double frameLevelDbfs(const FrameSamples &frame);

// Frames (whole, rounded down) in `ms` milliseconds of audio.
constexpr int framesIn(int ms) { return ms / kFrameMs; }

} // namespace tianyi::voice
