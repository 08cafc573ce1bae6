#pragma once
// One turn of one session, as data flows: store the user text (pending) and read the prompt's
// context -> LLM stream -> emotion tags -> text_delta -> sentences -> TtsScheduler -> audio chunks
// in (sentence, seq) order -> store the finished turn -> turn_end, and each sentence's audio.
//
// The pipeline never writes to the socket: it hands events to a TurnSink (the session), which is
// the one place that enforces "nothing of a turn after its stopped / turn_end".

#include "dialog/turnservices.h"
#include "prompt/promptbuilder.h"
#include "upstream/llm.h"
#include "upstream/tts.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QVector>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

namespace tianyi {

class EmotionTagParser;
class SentenceSegmenter;

class TurnSink
{
public:
    virtual ~TurnSink() = default;
    // A JSON event of the turn (the sink adds "type" and "turn").
    virtual void turnEvent(int turn, const QString &type, QJsonObject fields) = 0;
    virtual void turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm) = 0;
    // The assembled prompt and what the budgets did to it, for admins (not sent to the client).
    virtual void turnPrompt(const AssembledPrompt &prompt) { Q_UNUSED(prompt) }
    // The stored turn's id (0: not stored), for admins; told just before the turn's turn_end.
    virtual void turnStored(int turn, qint64 turnId) { Q_UNUSED(turn) Q_UNUSED(turnId) }
    // A turn held until playback (TurnPipeline::holdUntilPlayback) has sent all of its audio.
    virtual void turnSynthesized(int turn) { Q_UNUSED(turn) }
};

class TurnPipeline : public QObject
{
    Q_OBJECT
public:
    static constexpr int kMaxChunkBytes = 32000; // audio chunks are cut to at most this many bytes

    TurnPipeline(const TurnServices &services, TurnSink &sink, qint64 userId, QString sessionId, int turnNo, quint64 turnKey,
                 QString userText, QString correlationId, QObject *parent = nullptr);
    ~TurnPipeline() override;

    // For clients that play the audio after it was sent and say when they are done (Open-LLM-VTuber's
    // frontend-playback-complete): a turn whose audio is all sent tells the sink turnSynthesized and
    // stays open until playbackComplete(), so a stop during the playback still stores only what was
    // heard. Before the last audio is sent (a session that starts listening holds its running turn).
    void holdUntilPlayback() { m_holdForPlayback = true; }
    void playbackComplete();

    void start();
    // Barge-in (explicit stop, implied by a new chat, or disconnect with notifyClient=false):
    // cancels the LLM stream, queued and running TTS; sends stopped; stores what was heard (by
    // playedMs when given, else the sentences whose audio was fully sent), then sends turn_end interrupted.
    // A reason (e.g. "voice") is named in `stopped`.
    void interrupt(std::optional<qint64> playedMs, bool notifyClient, const QElapsedTimer &sinceStop, const QString &reason = {});

    bool isFinished() const { return m_finished; }
    int turnNo() const { return m_turnNo; }
    QString correlationId() const { return m_correlationId; }

signals:
    // Exactly once, after the turn's turn_end was handed to the sink: once the finished turn is
    // stored (or its write failed), or at once for a session going away. Until then isFinished()
    // is already true, but a new turn of the session must wait (ChatSession queues its chat).
    void ended(const QString &status);

private:
    struct Sentence {
        QString text;
        QString emotion;            // emotion id
        int sampleRate = 0;
        std::deque<QByteArray> pending; // received, not yet sent
        QByteArray held;            // the last chunk, sent once we know whether it is the last
        QByteArray carry;           // an odd trailing byte
        QByteArray allPcm;          // what was sent, for the audio store
        bool synthDone = false;
        bool failed = false;
        bool delivered = false;
        int seq = 0;
        qint64 sentBytes = 0;
    };

    // The prompt's parts are gathered at once; the LLM request leaves when the last one is in.
    void storePendingTurn(bool readContext);
    void gatherKnowledge();
    void gatherMemories();
    void partDone();
    void failToStore(bool busy, const QString &error); // the pending turn could not be stored
    void startLlm(const PromptContext &prompt); // builds the prompt and opens the LLM stream
    void onDelta(const QString &text);
    void onLlmFinished();
    void onLlmFailed(const UpstreamError &error);
    void handleText(const QString &text);
    void emitSentence(const QString &text, const QString &emotion);
    void submitTts(int index);
    void onTtsFailed(int index, const UpstreamError &error);
    void pumpAudio();
    void sendChunk(int index, const QByteArray &pcm, bool last);
    void maybeComplete();
    // clientWaits: turn_end (and `ended`) after the finished turn is stored; else at once.
    void finish(const QString &status, const QString &text, bool clientWaits = true);
    void announceEnd(const QString &status, const QString &text, const QJsonObject &turnStats, qint64 storedTurnId);
    void cancelUpstreams();
    QString heardText(std::optional<qint64> playedMs); // sets m_heardCount
    QJsonObject stats() const;
    // stored(turn id, 0 when it could not be stored) runs once the write is over.
    void storeFinished(const QString &status, const QString &text, const QJsonObject &turnStats, QVector<int> audioSentences,
                       std::function<void(qint64)> stored);
    qint64 elapsedMs() const { return m_clock.elapsed(); }

    TurnServices m_services;
    TurnSink &m_sink;
    qint64 m_userId;
    QString m_sessionId;
    int m_turnNo;
    quint64 m_turnKey;
    QString m_userText;
    QString m_correlationId;
    QElapsedTimer m_clock;

    std::unique_ptr<EmotionTagParser> m_parser;
    std::unique_ptr<SentenceSegmenter> m_segmenter;
    QPointer<LlmStream> m_stream;
    std::shared_ptr<qint64> m_turnId;   // set on the storage thread by insertPending (FIFO before finish)
    PromptContext m_prompt;             // filled by the parts below, then handed to the prompt builder
    int m_partsPending = 0;
    qint64 m_storedTurnId = 0;          // for admins: the same id, copied on the event loop (no shared read)
    QString m_emotion;                  // current emotion id
    QString m_openEmotion;              // emotion of the sentence being built
    bool m_sentenceOpen = false;
    QString m_fullText;                 // reply text, tags removed
    QVector<Sentence> m_sentences;
    int m_heardCount = 0;
    int m_next = 0;                     // sentence being delivered
    bool m_llmDone = false;
    bool m_finished = false;
    bool m_ttsErrorSent = false;
    bool m_holdForPlayback = false;
    bool m_synthesizedTold = false;
    bool m_playbackDone = false;
    int m_deltas = 0;
    int m_completionTokens = -1;
    qint64 m_ttftMs = -1;
    qint64 m_firstAudioMs = -1;
    qint64 m_audioMs = 0;
};

} // namespace tianyi
