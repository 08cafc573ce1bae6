#pragma once
// One load-generator session's hands-free microphone: opens the listening stream, streams the sound
// of a quiet room in real time between turns, speaks the recording for each voice turn, and times
// that turn by the events of the listening stream. All times are on the monotonic clock of the
// client library (monotonicMs()).
//
// A voice turn, and what is measured (ms, -1 when the event never came):
//   voice end       = when the recording's last voiced 10 ms were spoken (the pacer's clock);
//   speech_end      - voice end   : endpointing as the client sees it (voice.endpointing_ms by design,
//                                   plus up to a frame and the trip over loopback);
//   final, turn_start, first text_delta, first audio frame, turn_end - speech_end :
//                                   what follows the server's decision that the utterance ended.

#include "tianyi/chatclient.h"
#include "tianyi/pcmpacer.h"

#include <QJsonObject>
#include <QObject>
#include <QString>

namespace tianyi::cli {

struct VoiceTiming {
    qint64 utterance = -1;
    qint64 turn = -1;
    QString outcome;                     // completed | interrupted | failed | no_turn | asr_failed | stream_stopped
    int partials = 0;
    qint64 speechEndAfterVoiceMs = -1;
    qint64 finalAfterSpeechEndMs = -1;
    qint64 turnStartAfterSpeechEndMs = -1;
    qint64 firstTextAfterSpeechEndMs = -1;
    qint64 firstAudioAfterSpeechEndMs = -1;
    qint64 turnEndAfterSpeechEndMs = -1;

    QJsonObject toJson() const;
};

class VoiceMicrophone : public QObject
{
    Q_OBJECT

public:
    // recording: 16 kHz mono s16le; lastVoicedMs: where its last voiced window ends (audio time).
    VoiceMicrophone(client::ChatClient *chat, QByteArray recording, qint64 lastVoicedMs, double roomDbfs, quint32 seed,
                    QObject *parent = nullptr);

    // Sends listen_start; ready() once `listening` arrived, failed() on a refusal.
    void open();
    // Sends the frames due (one shared timer drives every session's microphone).
    void tick(qint64 nowMs) { m_pacer.tick(nowMs); }
    // Speaks the recording once; turnOver() when its turn ended (or no turn came). False while a
    // turn of it is still running or before ready().
    bool speak();
    bool speaking() const { return m_speaking; }
    void close();

signals:
    void ready();
    void failed(const QString &why);
    void turnOver(const tianyi::cli::VoiceTiming &timing);

private:
    void onEvent(const client::ChatEvent &e);
    void over(const QString &outcome);
    qint64 sinceSpeechEnd(qint64 atMs) const { return m_speechEndAt >= 0 && atMs >= 0 ? atMs - m_speechEndAt : -1; }

    client::ChatClient *m_chat;
    client::PcmPacer m_pacer;
    QByteArray m_recording;
    qint64 m_lastVoicedMs;
    bool m_ready = false;
    bool m_speaking = false;
    qint64 m_voiceEndAt = -1;
    qint64 m_speechEndAt = -1;
    VoiceTiming m_t;
    qint64 m_finalAt = -1, m_turnStartAt = -1, m_firstTextAt = -1, m_firstAudioAt = -1;
};

} // namespace tianyi::cli
