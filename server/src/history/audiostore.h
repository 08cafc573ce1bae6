#pragma once
// Synthesized sentences kept on disk for history replay, and their retention.
//
// Layout: <data_dir>/audio/<user_id>/<turn_id>/<sentence>.wav, every directory owner-only (0700),
// files 0600. Files are written and read on the WorkerPool (never on the event loop); the row of
// each file (turn_audio, via TurnRepository) is recorded on the storage thread after the file is
// complete, so a row never points at a half-written file.
//
// Lives on the event-loop thread: call every function there.
//
// Retention (audio.keep / audio.max_bytes / audio.max_days): keep=false stores no file (the sentence
// row is still recorded, without audio, so history shows the sentence with audio_url null). At
// start(), every 10 minutes, and after a store that takes the total over max_bytes, files older than
// max_days are removed, then the oldest files while the total exceeds max_bytes; their rows keep
// text and duration but lose relative_path.
//
// start() also removes files no row points at that predate the start (a crash between writing a
// file and recording its row, or a temporary file of an interrupted write).
//
// start() also marks the turns a crash left pending as failed (TurnRepository::failPending). It must
// be called before the server accepts connections: the storage queue is FIFO, so that update runs
// before any new turn is inserted.

#include "base/config.h"

#include <QByteArray>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>
#include <functional>
#include <optional>

namespace tianyi {

class Database;
class Metrics;
struct ReleasedAudio;
class WorkerPool;

class AudioStore : public QObject
{
    Q_OBJECT
public:
    static constexpr int kDefaultMaxPendingWrites = 128;
    static constexpr int kDefaultRetentionIntervalMs = 10 * 60 * 1000;

    AudioStore(const AudioRetentionSettings &settings, const QString &dataDir, Database &db, WorkerPool &workers, Metrics &metrics,
               QObject *parent = nullptr);
    ~AudioStore() override;

    // Creates <data_dir>/audio (0700), fails turns left pending by a crash, runs a first retention
    // pass and starts the periodic one. Emits startupFinished() when the pending turns are done.
    void start();

    // Keeps one sentence's audio (PCM s16le mono) of the user's turn. Fire and forget: emits
    // stored(...) when the row is recorded (ok) or the audio was dropped (not ok: too many pending
    // writes, disk or database error, the turn is not the user's, the user is being removed).
    void store(qint64 userId, qint64 turnId, int sentenceIndex, const QString &text, const QString &emotion, const QByteArray &pcm,
               int sampleRate);

    // Deletes <data_dir>/audio/<user_id> with everything in it (account deletion; rows go with the
    // user's cascade). Waits for that user's writes in flight first; stores for the user are dropped
    // until it is done. done(ok) runs on this thread.
    void removeUser(qint64 userId, std::function<void(bool ok)> done = {});

    // Deletes the files of rows already deleted (a conversation the user deleted), with their empty
    // turn and user directories, on the WorkerPool. done() runs on this thread once they are gone, or
    // at once when the pool's queue is full (the files stay until the next start's orphan sweep).
    void removeReleased(const QVector<ReleasedAudio> &released, std::function<void()> done);

    // Reads a stored file (by its row's relative path) on the WorkerPool; done(bytes, or nullopt if
    // missing or unreadable) runs on this thread if context is still alive. Returns false (done is
    // not called) when the pool's queue is full: answer "busy".
    bool readFile(QObject *context, const QString &relativePath, std::function<void(std::optional<QByteArray>)> done);

    // One retention pass now (coalesced with a pass already running). Emits retentionFinished().
    void runRetention();

    QString audioRoot() const { return m_root; }
    // Where the sentences of a data directory live (also what --backup and --restore copy).
    static QString rootFor(const QString &dataDir);
    bool keepsAudio() const { return m_settings.keep; }
    qint64 bytesKept() const { return m_bytesKept; }
    int pendingWrites() const { return m_pending; }
    qint64 filesRemoved() const { return m_filesRemoved; }

    // Tests and tuning.
    void setClock(std::function<qint64()> nowMs) { m_clock = std::move(nowMs); }
    void setMaxPendingWrites(int n) { m_maxPending = n; }
    void setRetentionInterval(int ms);

    // "<user>/<turn>/<sentence>.wav"
    static QString relativePathOf(qint64 userId, qint64 turnId, int sentenceIndex);

signals:
    void startupFinished(int pendingTurnsFailed);
    void stored(qint64 userId, qint64 turnId, int sentenceIndex, bool ok);
    void retentionFinished(int filesRemoved);
    void userRemoved(qint64 userId, bool ok);
    void orphansRemoved(int files);

private:
    // The sentence's row; asAsked = false when its audio was to be kept but was not (stored() reports false).
    void recordRow(qint64 userId, qint64 turnId, int sentenceIndex, const QString &text, const QString &emotion, int durationMs,
                   const QString &relativePath, qint64 bytes, qint64 createdAtMs, bool asAsked = true);
    void finishWrite(qint64 userId, qint64 turnId, int sentenceIndex, bool ok);
    void startUserRemoval(qint64 userId);
    void publishBytes();
    void sweepOrphans();

    AudioRetentionSettings m_settings;
    QString m_root;
    Database &m_db;
    WorkerPool &m_workers;
    Metrics &m_metrics;
    std::function<qint64()> m_clock;
    QTimer m_timer;
    int m_maxPending = kDefaultMaxPendingWrites;
    int m_pending = 0;
    QHash<qint64, int> m_pendingByUser;
    QHash<qint64, QList<std::function<void(bool)>>> m_removing; // user -> callbacks waiting for the removal
    qint64 m_bytesKept = 0;
    qint64 m_filesRemoved = 0;
    bool m_retentionRunning = false;
    bool m_retentionAgain = false;
    bool m_sweepPending = false; // after the first retention pass
    qint64 m_startedAtMs = 0;
};

} // namespace tianyi
