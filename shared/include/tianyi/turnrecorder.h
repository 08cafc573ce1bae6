#pragma once
// Accumulates what a chat socket delivers, per turn: the streamed text, sentences with their
// emotion, audio PCM per sentence, the server's stats from turn_end, client-side timings measured
// from when chat() was sent, and violations of the protocol's guarantees 1 and 2:
//   1. events of one turn arrive in order; audio of sentence k never precedes sentence k's `sentence`;
//   2. turn_end is the last message of a turn; after `stopped` only that turn's turn_end follows.
// Fed either by attach(ChatClient*) or by hand (tests, replays) with onChatSent()/onEvent().
//
// Bounded: PCM beyond maxAudioBytesPerTurn is counted but not kept (audioTruncated), and only the
// newest maxTurns turns are kept.

#include "tianyi/chatclient.h"

#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

namespace tianyi::client {

struct RecordedSentence {
    int index = -1;
    QString text;                // from the `sentence` event
    QString emotion;             // from the `sentence` event (else the last `emotion` for it)
    bool announced = false;      // its `sentence` event arrived
    QByteArray pcm;              // s16le mono, in arrival order
    int sampleRate = 0;
    int chunks = 0;
    bool lastChunk = false;      // the chunk flagged last arrived
    qint64 audioBytes = 0;       // counted even when pcm was not kept
    QVector<float> volumes;      // json mode only

    qint64 audioMs() const;
};

struct RecordedEmotion {
    int sentence = -1;
    QString emotion;
    QString label;
};

struct RecordedTurn {
    qint64 turn = -1;
    QString userText;
    QString correlationId;
    QString clientMsgId;
    QString text;                // concatenated text_delta
    QString finalText;           // turn_end.text
    QString status;              // turn_end.status; empty while running
    TurnStats stats;             // turn_end.stats
    QList<RecordedEmotion> emotions;
    QMap<int, RecordedSentence> sentences;
    QList<QJsonObject> errors;   // `error` events of this turn
    QList<QJsonObject> transcripts;
    bool started = false;        // turn_start arrived
    bool ended = false;          // turn_end arrived
    bool stopped = false;        // `stopped` arrived
    qint64 stopMs = -1;          // stopped.stop_ms
    bool audioTruncated = false; // PCM over the cap was dropped (still counted)
    QStringList violations;      // guarantee 1/2 violations seen in this turn

    // Client-side timings in ms from when chat() was sent (-1: unknown or not yet).
    qint64 sentAtMs = -1;        // monotonicMs() of the chat send (-1 for turns not started by chat())
    qint64 turnStartMs = -1;
    qint64 firstTextMs = -1;
    qint64 firstAudioMs = -1;
    qint64 turnEndMs = -1;
    qint64 stopSentMs = -1;      // when stop() was sent (set by the caller via onStopSent)

    qint64 audioBytes() const;
    qint64 audioMs() const;      // duration of all audio received
    int sampleRate() const;      // of the first sentence with audio (0: none)
    // The per-turn stats line of tianyi-cli --json and bench.
    QJsonObject toJson() const;
};

class TurnRecorder : public QObject
{
    Q_OBJECT

public:
    static constexpr qint64 kDefaultMaxAudioBytesPerTurn = 64 << 20;
    static constexpr int kDefaultMaxTurns = 256;

    explicit TurnRecorder(QObject *parent = nullptr);

    void setKeepAudio(bool keep) { m_keepAudio = keep; }
    void setMaxAudioBytesPerTurn(qint64 bytes) { m_maxAudioBytes = bytes; }
    void setMaxTurns(int turns) { m_maxTurns = qMax(1, turns); }

    // Connects chatSent and event of the client to this recorder.
    void attach(ChatClient *client);

    void onChatSent(const QString &text, const QString &clientMsgId, qint64 sentMs);
    void onEvent(const ChatEvent &event);
    void onStopSent(qint64 turn, qint64 atMs);

    const RecordedTurn *turn(qint64 number) const;
    RecordedTurn *turn(qint64 number);
    QList<qint64> turnNumbers() const { return m_order; }
    const RecordedTurn *lastTurn() const;
    // The turn between turn_start and turn_end, or nullptr.
    const RecordedTurn *currentTurn() const;

    // Every violation seen so far, "turn N: ...", across turns (including events outside any turn).
    QStringList violations() const { return m_violations; }
    // Turns that started but did not end (call when the session is over).
    QList<qint64> unfinishedTurns() const;
    void clear();

signals:
    void violation(const QString &what);
    void turnFinished(qint64 turn);

private:
    struct PendingChat {
        QString text;
        QString clientMsgId;
        qint64 sentMs = 0;
    };

    RecordedTurn &ensureTurn(qint64 number);
    void flag(RecordedTurn *turn, const QString &what);
    void onTurnEvent(RecordedTurn &t, const ChatEvent &e);
    void trim();

    QMap<qint64, RecordedTurn> m_turns;
    QList<qint64> m_order;                 // arrival order of turn numbers
    QList<PendingChat> m_pending;          // chats sent whose turn_start has not arrived
    qint64 m_openTurn = -1;                // started and not ended
    qint64 m_stoppedTurn = -1;             // stopped and waiting for its turn_end
    QMap<qint64, QPair<int, int>> m_lastAudio; // turn -> last (sentence, seq)
    QMap<qint64, int> m_lastSentence;      // turn -> last `sentence` index
    QStringList m_violations;
    bool m_keepAudio = true;
    qint64 m_maxAudioBytes = kDefaultMaxAudioBytesPerTurn;
    int m_maxTurns = kDefaultMaxTurns;
    static constexpr int kMaxPending = 64;
    static constexpr int kMaxViolations = 1000;
};

} // namespace tianyi::client
