#pragma once
// Push-to-talk speech input of one chat session: `audio_start` opens a recording (format and rate
// checked), binary frames append PCM within the caps (chat.max_audio_input_bytes / _seconds), and
// `audio_end` hands the recording to the ASR provider. The transcript, or why there is none, comes
// back as a signal; what a transcript starts (a turn) is the session's decision, not this class's.
//
// Frames that were already on the wire when the client learnt that its recording was refused
// (speech input not configured, or the recording over its cap) are dropped quietly until the next
// audio_start: a microphone streams 10 frames a second, and counting those as malformed messages
// would close the socket of a client that did nothing wrong. For the same reason, without an ASR
// provider no binary frame is ever a protocol violation, and once a recording or listening stream
// has ended, frames still in flight are dropped until the next one starts.

#include <QByteArray>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <optional>

namespace tianyi {

class AsrJob;
class AsrProvider;
struct ChatSettings;

class SpeechInput : public QObject
{
    Q_OBJECT
public:
    // Why a client message was refused: a protocol violation (counts towards the session's malformed
    // limit) or an ordinary error to report with its code.
    struct Refusal {
        bool malformed = false;
        QString code;       // when not malformed
        QString message;
    };

    // asr may be null: speech input is not configured (every attempt answers asr_unavailable).
    SpeechInput(AsrProvider *asr, const ChatSettings &settings, QObject *parent = nullptr);
    ~SpeechInput() override;

    bool isRecording() const { return m_recording; }

    std::optional<Refusal> start(const QJsonObject &audioStart);
    std::optional<Refusal> append(const QByteArray &pcm);
    // Ends the recording and starts recognition (a previous one still running is cancelled).
    std::optional<Refusal> finish(const QString &correlationId);
    void cancel();
    // A listening stream ended (listen_stop, a cap): its late frames are dropped quietly.
    void dropLateFrames() { m_lateFrames = true; }

signals:
    void transcribed(const QString &text);
    void failed(const QString &code, const QString &message, const QJsonObject &extra);

private:
    AsrProvider *m_asr;
    const ChatSettings &m_settings;
    bool m_recording = false;
    bool m_discarding = false;  // the recording was refused: its late frames and audio_end are dropped
    bool m_lateFrames = false;  // a stream ended: frames still in flight are dropped until the next start
    int m_rate = 0;
    QByteArray m_recorded;
    QPointer<AsrJob> m_job;
};

} // namespace tianyi
