// Voice detection cost: microseconds per 10 ms frame of the listening microphone stream's
// VoiceActivityDetector (WebRTC high-pass + noise suppression + VAD, our level gates) for
// voice.noise_suppression 0..3, on real speech (espeak-ng Mandarin) and on white noise, and what
// 100 sessions of real-time audio (100 frames per second each) cost as a share of one core.
//   tianyi-vadbench [--seconds 30] [--sessions 100]
// Prints one JSON object. Built with -O2 even in Debug/ASan trees (the detector and the test audio
// helper are compiled into it), so the figure is the shipped code's, not the sanitizer's.

#include "voice/voiceactivitydetector.h"
#include "speechaudio.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>
#include <QTextStream>
#include <QtEndian>
#include <algorithm>
#include <cstring>
#include <ctime>
#include <vector>

using namespace tianyi;
namespace audio = tianyi::test::speechaudio;

namespace {

constexpr int kFramesPerSecond = 1000 / voice::kFrameMs;

std::vector<voice::FrameSamples> framesOf(const QByteArray &pcm)
{
    std::vector<voice::FrameSamples> frames(size_t(pcm.size() / voice::kFrameBytes));
    for (size_t i = 0; i < frames.size(); ++i)
        for (int s = 0; s < voice::kFrameSamples; ++s)
            frames[i][size_t(s)] = qFromLittleEndian<qint16>(pcm.constData() + i * voice::kFrameBytes + s * 2);
    return frames;
}

// Repeats `pcm` until it lasts `seconds`.
QByteArray lasting(const QByteArray &pcm, int seconds)
{
    QByteArray out;
    while (out.size() < seconds * voice::kBytesPerSecond)
        out += pcm;
    return out.left(seconds * voice::kBytesPerSecond);
}

// CPU time of this thread, not wall time: the machine is shared, and a core's share is what we want.
double threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

struct Measure {
    double usPerFrame = 0;
    double voicedShare = 0;
};

Measure run(int noiseSuppression, const std::vector<voice::FrameSamples> &frames)
{
    voice::VoiceActivityDetector detector(noiseSuppression);
    int voiced = 0;
    const double start = threadCpuNs();
    for (const auto &frame : frames)
        voiced += detector.classify(frame).voiced ? 1 : 0;
    const double ns = threadCpuNs() - start;
    return {ns / 1000.0 / double(frames.size()), double(voiced) / double(frames.size())};
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    auto option = [&](const QString &name, int fallback) {
        const qsizetype i = args.indexOf(name);
        return i >= 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
    };
    const int seconds = std::max(1, option(QStringLiteral("--seconds"), 30));
    const int sessions = std::max(1, option(QStringLiteral("--sessions"), 100));

    QString error;
    const QByteArray sentence = audio::speech(QStringLiteral("你好天依，今天我们一起去公园散步，然后去吃火锅，好不好？"), &error);
    if (sentence.isEmpty()) {
        QTextStream(stderr) << "no speech: " << error << '\n';
        return 1;
    }
    const QList<QPair<QString, QByteArray>> inputs = {
        {QStringLiteral("speech"), lasting(audio::concat({sentence, audio::silence(300)}), seconds)},
        {QStringLiteral("room_-60dbfs"), audio::whiteNoise(seconds * 1000, -60, 3)},
        {QStringLiteral("noise_-40dbfs"), audio::whiteNoise(seconds * 1000, -40, 1)},
        {QStringLiteral("noise_-25dbfs"), audio::whiteNoise(seconds * 1000, -25, 2)},
    };

    QJsonArray results;
    for (int ns = 0; ns <= 3; ++ns) {
        for (const auto &[name, pcm] : inputs) {
            const auto frames = framesOf(pcm);
            run(ns, frames);   // warm-up: caches, page faults
            const Measure m = run(ns, frames);
            // One session sends kFramesPerSecond frames per second of real time.
            const double coreShare = m.usPerFrame * kFramesPerSecond * sessions / 1e6;
            results.append(QJsonObject{{QStringLiteral("noise_suppression"), ns},
                                       {QStringLiteral("input"), name},
                                       {QStringLiteral("us_per_frame"), qRound(m.usPerFrame * 100) / 100.0},
                                       {QStringLiteral("voiced_share"), qRound(m.voicedShare * 1000) / 1000.0},
                                       {QStringLiteral("sessions_core_percent"), qRound(coreShare * 1000) / 10.0}});
        }
    }
    const QJsonObject out{{QStringLiteral("frame_ms"), voice::kFrameMs},
                          {QStringLiteral("seconds_per_input"), seconds},
                          {QStringLiteral("sessions"), sessions},
                          {QStringLiteral("results"), results}};
    QTextStream(stdout) << QJsonDocument(out).toJson(QJsonDocument::Indented);
    return 0;
}
