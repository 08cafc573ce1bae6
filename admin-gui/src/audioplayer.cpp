#include "audioplayer.h"

#include <QAudioSink>
#include <QBuffer>
#include <QMediaDevices>

namespace tianyi::admin {

namespace {
QAudioDevice pickOutput(const QList<QAudioDevice> &outputs)
{
    for (const QAudioDevice &d : outputs)
        if (d.isDefault())
            return d;
    return outputs.isEmpty() ? QAudioDevice() : outputs.first();
}
} // namespace

QtAudioPlayer::QtAudioPlayer(QObject *parent)
    : QtAudioPlayer(QMediaDevices::audioOutputs(), parent)
{
}

QtAudioPlayer::QtAudioPlayer(const QList<QAudioDevice> &outputs, QObject *parent)
    : AudioPlayer(parent)
    , m_device(pickOutput(outputs))
{
}

QtAudioPlayer::~QtAudioPlayer()
{
    stop();
}

QString QtAudioPlayer::unavailableReason() const
{
    return isAvailable() ? QString() : tr("No sound device: playback is disabled.");
}

bool QtAudioPlayer::play(const QByteArray &pcm, int sampleRate, int channels)
{
    stop();
    if (!isAvailable()) {
        emit failed(unavailableReason());
        return false;
    }
    QAudioFormat format;
    format.setSampleRate(sampleRate);
    format.setChannelCount(channels);
    format.setSampleFormat(QAudioFormat::Int16);
    if (!m_device.isFormatSupported(format)) {
        emit failed(tr("%1 cannot play %2 Hz audio.").arg(m_device.description()).arg(sampleRate));
        return false;
    }
    m_buffer = new QBuffer(this);
    m_buffer->setData(pcm);
    m_buffer->open(QIODevice::ReadOnly);
    m_sink = new QAudioSink(m_device, format, this);
    connect(m_sink, &QAudioSink::stateChanged, this, [this](QAudio::State state) {
        if (state == QAudio::IdleState) {          // the buffer ran out: done
            stop();
            emit finished();
        } else if (state == QAudio::StoppedState && m_sink && m_sink->error() != QAudio::NoError) {
            stop();
            emit failed(tr("The sound device failed."));
        }
    });
    m_sink->start(m_buffer);
    emit started();
    return true;
}

void QtAudioPlayer::stop()
{
    if (m_sink) {
        QAudioSink *sink = m_sink;
        m_sink = nullptr;
        sink->disconnect(this);
        sink->stop();
        sink->deleteLater();
    }
    if (m_buffer) {
        m_buffer->deleteLater();
        m_buffer = nullptr;
    }
}

} // namespace tianyi::admin
