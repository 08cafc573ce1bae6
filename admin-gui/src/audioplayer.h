#pragma once
// Playback of one synthesized sentence, behind an interface: the console plays through Qt
// Multimedia, tests through a recording fake, and a machine with no sound device through a player
// that says why it cannot play (the console stays usable without audio).

#include <QAudioDevice>
#include <QByteArray>
#include <QList>
#include <QObject>
#include <memory>

class QAudioSink;
class QBuffer;

namespace tianyi::admin {

class AudioPlayer : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~AudioPlayer() override = default;

    virtual bool isAvailable() const = 0;
    // Why playback is disabled (empty when available).
    virtual QString unavailableReason() const = 0;
    // The output it plays to, for the operator.
    virtual QString outputName() const = 0;
    // Plays mono/stereo s16le PCM; false (and failed()) when it cannot.
    virtual bool play(const QByteArray &pcm, int sampleRate, int channels) = 0;
    virtual void stop() = 0;
    virtual bool isPlaying() const = 0;

signals:
    void started();
    void finished();
    void failed(const QString &reason);
};

// Qt Multimedia: QAudioSink on the default output, fed from a buffer the player owns.
class QtAudioPlayer : public AudioPlayer
{
    Q_OBJECT
public:
    // outputs: the devices to choose from (QMediaDevices::audioOutputs() by default); none = disabled.
    explicit QtAudioPlayer(QObject *parent = nullptr);
    QtAudioPlayer(const QList<QAudioDevice> &outputs, QObject *parent = nullptr);
    ~QtAudioPlayer() override;

    bool isAvailable() const override { return !m_device.isNull(); }
    QString unavailableReason() const override;
    QString outputName() const override { return m_device.description(); }
    bool play(const QByteArray &pcm, int sampleRate, int channels) override;
    void stop() override;
    bool isPlaying() const override { return m_sink != nullptr; }

private:
    QAudioDevice m_device;
    QAudioSink *m_sink = nullptr;
    QBuffer *m_buffer = nullptr;
};

} // namespace tianyi::admin
