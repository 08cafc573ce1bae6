#include "voice/microphonestream.h"

// The interface is agreed first so that the listening session can be written against it; the
// voice detection and endpointing behind it are being written now.

namespace tianyi {

MicrophoneStream::MicrophoneStream(const VoiceSettings &settings, QObject *parent)
    : QObject(parent)
{
    Q_UNUSED(settings)
}

MicrophoneStream::~MicrophoneStream() = default;

void MicrophoneStream::append(const QByteArray &pcm) { Q_UNUSED(pcm) }
void MicrophoneStream::finish() {}
void MicrophoneStream::setEchoGuard(bool on) { Q_UNUSED(on) }
bool MicrophoneStream::inSpeech() const { return false; }

} // namespace tianyi
