#pragma once
// Hands-free listening of one chat session (protocol "Listening"): the client's microphone PCM goes
// through a MicrophoneStream (voice detection, endpointing, caps); each utterance it finds gets an
// ASR stream (opened at speech start with the leading PCM, fed while spoken, finished at its end),
// and its final transcript is handed to the session as a turn. While her voice plays on the client,
// an utterance ducks her (`duck`), and stops her once confirmed (speech lasted
// voice.interruption_min_ms and, with a streaming ASR, a partial has words) or lets her go on
// (`unduck`: a cough, a laugh, a backchannel).
//
// One object per chat session, created at the first listen_start: the utterance numbers are unique
// per session, and a final transcript still pending after listen_stop arrives and counts.
//
// At most one ASR stream is open per session. An utterance that starts while the previous one's
// final is still pending waits: its PCM is kept (bounded by the utterance cap) and its stream opens
// when that final arrives. A third utterance meanwhile is refused (error asr_busy), so a slow ASR
// never grows the session's memory or its upstream connections.

#include "base/config.h"
#include "voice/endpointer.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <deque>
#include <memory>

namespace tianyi {

class AsrProvider;
class AsrStream;
class Metrics;
class MicrophoneStream;
struct UpstreamError;

// What a listening stream needs of its chat session.
class ListeningHost
{
public:
    virtual ~ListeningHost() = default;
    // speech_start, transcript, speech_end (the host adds "type").
    virtual void listenEvent(const QString &type, const QJsonObject &fields) = 0;
    virtual void listenError(const QString &code, const QString &message, const QJsonObject &extra) = 0;
    // The running turn whose voice the client may be playing (0: none): a voice now is a barge-in.
    virtual int bargeableTurn() const = 0;
    // Her voice (of any turn) may be coming out of the client's speaker now: the echo guard is on.
    virtual bool herVoiceAudible() const = 0;
    virtual void duck(int turn) = 0;
    virtual void unduck(int turn) = 0;
    // A confirmed barge-in by voice: stop `turn` (if it still runs), storing what was played.
    virtual void stopByVoice(int turn) = 0;
    // A final transcript with words: a turn, exactly like a typed chat.
    virtual void utteranceFinal(const QString &text) = 0;
    virtual QString listeningCorrelationId() const = 0;
};

class ListeningSession : public QObject
{
    Q_OBJECT
public:
    static constexpr int kSampleRate = 16000;
    static constexpr int kBytesPerMs = kSampleRate * 2 / 1000;
    // Arrival times kept for the endpointing-delay metric (one per append; a few seconds of audio).
    static constexpr int kMaxArrivals = 512;

    ListeningSession(ListeningHost &host, AsrProvider &asr, const Config &config, Metrics *metrics, QObject *parent = nullptr);
    ~ListeningSession() override;

    // Declares the listening metrics (once, by the gateway).
    static void declareMetrics(Metrics &metrics);

    bool isListening() const { return m_mic != nullptr; }
    // listen_start: a new microphone stream. Before: !isListening().
    void start();
    // listen_stop: an utterance in progress ends as if its speech had ended; its final still counts.
    void stop();
    // The socket is going away: nothing more is sent, recognition is cancelled.
    void cancel();
    // Microphone PCM (16 kHz s16le mono, any chunking) while listening.
    void append(const QByteArray &pcm);

    // The turn an utterance in progress has ducked and not yet resolved (0: none). The session
    // keeps that turn open until the duck is resolved (stopped or unduck), so unduck never follows
    // the turn's turn_end.
    int duckedTurn() const;

private:
    struct Utterance {
        int number = 0;
        QPointer<AsrStream> stream;
        QByteArray waitingPcm;      // while another utterance's final is pending
        bool waiting = false;       // no stream yet
        bool ended = false;         // speech ended (speech_end sent)
        bool refused = false;       // asr_busy: its audio is dropped, no final
        bool failed = false;        // asr_failed was sent: no final
        bool sustained = false;     // voice.interruption_min_ms of speech
        bool wordsHeard = false;    // a partial with words
        int duckedTurn = 0;         // duck sent, not yet resolved
        bool confirmed = false;     // stopped the ducked turn
        qint64 endedAtMs = -1;
        qint64 audioBytes = 0;
        QString lastPartial;
    };

    void onSpeechStarted(const QByteArray &leadingPcm);
    void onSpeechAudio(const QByteArray &pcm);
    void onSpeechSustained();
    void onSpeechEnded(int durationMs, voice::UtteranceEnd why);
    void onCapExceeded(const QString &code, const QString &message, bool streamStopped);
    void onPartial(Utterance *u, const QString &text);
    void onFinal(Utterance *u, const QString &text);
    void onFailed(Utterance *u, const UpstreamError &error);

    void openStream(Utterance *u);
    void feed(Utterance *u, const QByteArray &pcm);
    void finishRecognition(Utterance *u);
    void maybeConfirm(Utterance *u);
    void resolveDuck(Utterance *u, bool confirmed);
    void dropUtterance(Utterance *u);  // remove, then open the next waiting one
    void releaseStream(Utterance *u);  // cancel its recognition: no signal of it any more
    // Listening ends (listen_stop, or a cap that stopped the stream): an utterance in progress
    // ends as if its speech had ended and is still recognized.
    void endMicrophone();
    void observeEndpointing();
    Utterance *find(int number) const;
    qint64 nowMs() const { return m_clock.elapsed(); }

    ListeningHost &m_host;
    AsrProvider &m_asr;
    const Config &m_config;
    Metrics *m_metrics;
    QElapsedTimer m_clock;
    MicrophoneStream *m_mic = nullptr;
    bool m_echoGuard = false;
    int m_counter = 0;                  // utterance numbers, unique per session
    int m_lastNumber = 0;               // the latest utterance (for a cap that ends it)
    Utterance *m_speaking = nullptr;    // in progress (speech not ended)
    std::deque<std::unique_ptr<Utterance>> m_utterances; // oldest first: [0] recognizing, [1] waiting
    static constexpr int kMaxUtterances = 2;
    std::unique_ptr<Utterance> m_refused; // in progress, refused with asr_busy (never recognized)

    // Endpointing delay: when each byte range of the stream arrived.
    struct Arrival {
        qint64 endByte;
        qint64 atMs;
    };
    std::deque<Arrival> m_arrivals;
    qint64 m_bytesIn = 0;
};

} // namespace tianyi
