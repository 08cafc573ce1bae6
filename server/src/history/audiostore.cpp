#include "history/audiostore.h"

#include "base/logging.h"
#include "base/servablepath.h"
#include "core/workerpool.h"
#include "metrics/metrics.h"
#include "storage/database.h"
#include "storage/turnrepository.h"

#include <tianyi/wav.h>

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

namespace tianyi {

namespace {

constexpr qint64 kDayMs = qint64(24) * 3600 * 1000;
const QFile::Permissions kOwnerDir = QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner;
const QFile::Permissions kOwnerFile = QFile::ReadOwner | QFile::WriteOwner;

const QString kBytesKept = QStringLiteral("tianyi_audio_bytes_kept");
const QString kFilesStored = QStringLiteral("tianyi_audio_files_stored_total");
const QString kFilesRemoved = QStringLiteral("tianyi_audio_files_removed_total");
const QString kWritesDropped = QStringLiteral("tianyi_audio_writes_dropped_total");

// Creates root/<a>/<b> for relative path "a/b/file", each new directory owner-only.
bool ensureParents(const QString &root, const QString &relativePath)
{
    const QStringList parts = relativePath.split(QLatin1Char('/'));
    QString dir = root;
    for (int i = 0; i + 1 < parts.size(); ++i) {
        dir += QLatin1Char('/') + parts[i];
        if (QFileInfo(dir).isDir())
            continue;
        // Another writer (a sentence of the same turn) may create it at the same moment.
        if (!QDir().mkdir(dir, kOwnerDir) && !QFileInfo(dir).isDir())
            return false;
    }
    return true;
}

// Worker thread: writes the WAV atomically (temporary file + rename). Retention may remove an empty
// turn directory between our mkdir and the write, so a failed attempt is retried once.
QString writeWav(const QString &root, const QString &relativePath, const QByteArray &bytes)
{
    const QString path = root + QLatin1Char('/') + relativePath;
    QString error;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!ensureParents(root, relativePath)) {
            error = QStringLiteral("cannot create the directory of %1").arg(path);
            continue;
        }
        QSaveFile file(path);
        if (!file.open(QIODevice::WriteOnly)) {
            error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
            continue;
        }
        if (file.write(bytes) != bytes.size() || !file.commit()) {
            error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
            continue;
        }
        QFile::setPermissions(path, kOwnerFile);
        return {};
    }
    return error;
}

// Worker thread: removes the files and then their turn and user directories when empty (rmdir fails
// harmlessly when not). Returns how many files were removed.
int removeFiles(const QStringList &paths)
{
    int removed = 0;
    for (const QString &path : paths) {
        if (QFile::remove(path))
            ++removed;
        const QString turnDir = QFileInfo(path).absolutePath();
        if (QDir().rmdir(turnDir))
            QDir().rmdir(QFileInfo(turnDir).absolutePath());
    }
    return removed;
}

// Paths come from our own rows; anything that could leave the audio root is skipped all the same.
QStringList absolutePaths(const QString &root, const QVector<ReleasedAudio> &released)
{
    QStringList paths;
    for (const ReleasedAudio &a : released) {
        const QString path = fileUnder(root, a.relativePath);
        if (!path.isEmpty())
            paths << path;
    }
    return paths;
}

} // namespace

AudioStore::AudioStore(const AudioRetentionSettings &settings, const QString &dataDir, Database &db, WorkerPool &workers, Metrics &metrics,
                       QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_root(rootFor(dataDir))
    , m_db(db)
    , m_workers(workers)
    , m_metrics(metrics)
    , m_clock([] { return QDateTime::currentMSecsSinceEpoch(); })
{
    m_metrics.declareGauge(kBytesKept, QStringLiteral("Bytes of synthesized audio kept on disk for replay."));
    m_metrics.declareCounter(kFilesStored, QStringLiteral("Sentence audio files written for replay."));
    m_metrics.declareCounter(kFilesRemoved, QStringLiteral("Sentence audio files removed, by reason (age, bytes, orphan; deleted: a conversation the user deleted)."));
    m_metrics.declareCounter(kWritesDropped, QStringLiteral("Sentence audio not kept, by reason (queue_full, error)."));
    m_timer.setInterval(kDefaultRetentionIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &AudioStore::runRetention);
}

AudioStore::~AudioStore() = default;

QString AudioStore::rootFor(const QString &dataDir)
{
    return QDir(dataDir).absoluteFilePath(QStringLiteral("audio"));
}

QString AudioStore::relativePathOf(qint64 userId, qint64 turnId, int sentenceIndex)
{
    return QStringLiteral("%1/%2/%3.wav").arg(userId).arg(turnId).arg(sentenceIndex);
}

void AudioStore::setRetentionInterval(int ms)
{
    m_timer.setInterval(ms);
}

void AudioStore::start()
{
    if (!QFileInfo(m_root).isDir() && !QDir().mkpath(m_root))
        qCWarning(lcDb) << "audio: cannot create" << m_root;
    QFile::setPermissions(m_root, kOwnerDir);

    const qint64 now = m_clock();
    m_db.write<int>(this, [now](SqlSession &s) { return TurnRepository::failPending(s, now); }, [this](DbResult<int> r) {
        const int failed = r.ok() ? *r.value : 0;
        if (!r.ok())
            qCWarning(lcDb) << "audio: cannot fail the turns left pending:" << r.error;
        else if (failed > 0)
            qCInfo(lcDb) << "marked" << failed << "turns left pending by an earlier run as failed";
        emit startupFinished(failed);
    });
    // Only files older than this moment are orphans: a store after start() has its file before its row.
    m_startedAtMs = QDateTime::currentMSecsSinceEpoch();
    m_sweepPending = true;
    runRetention();
    m_timer.start();
}

void AudioStore::sweepOrphans()
{
    const qint64 startedAt = m_startedAtMs;
    m_db.read<QStringList>(this, [](SqlSession &s) { return TurnRepository::keptAudioPaths(s); }, [this, startedAt](DbResult<QStringList> r) {
        if (!r.ok()) {
            qCWarning(lcDb).noquote() << "audio: cannot list kept files:" << r.error;
            return;
        }
        const QSet<QString> known(r.value->cbegin(), r.value->cend());
        const QString root = m_root;
        m_workers.run<int>(this, [root, known, startedAt]() {
            int removed = 0;
            const QDir rootDir(root);
            QDirIterator it(root, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
            while (it.hasNext()) {
                const QString path = it.next();
                if (known.contains(rootDir.relativeFilePath(path)))
                    continue;
                if (it.fileInfo().lastModified().toMSecsSinceEpoch() > startedAt)
                    continue;
                if (QFile::remove(path))
                    ++removed;
            }
            return removed;
        }, [this](int removed) {
            if (removed > 0) {
                qCInfo(lcDb) << "audio: removed" << removed << "files no row points at";
                m_metrics.increment(kFilesRemoved, {{QStringLiteral("reason"), QStringLiteral("orphan")}}, removed);
            }
            emit orphansRemoved(removed);
        });
    });
}

void AudioStore::store(qint64 userId, qint64 turnId, int sentenceIndex, const QString &text, const QString &emotion, const QByteArray &pcm,
                       int sampleRate)
{
    if (m_removing.contains(userId)) {
        emit stored(userId, turnId, sentenceIndex, false);
        return;
    }
    // Over the cap the audio file is not written (the PCM held for it is what costs memory, the WAV
    // encoding and disk what cost time), but the sentence row still is: history keeps her words and
    // emotions, with audio_url null. Rows alone are bounded by the storage queue.
    const bool fileDropped = m_settings.keep && m_pending >= m_maxPending;
    if (fileDropped) {
        qCWarning(lcDb) << "audio: not keeping the audio of sentence" << sentenceIndex << "of turn" << turnId << "-" << m_pending
                        << "writes pending (its text is kept)";
        m_metrics.increment(kWritesDropped, {{QStringLiteral("reason"), QStringLiteral("queue_full")}});
    }
    ++m_pending;
    ++m_pendingByUser[userId];
    const int durationMs = int(wav::durationMs(pcm.size(), sampleRate));
    const qint64 createdAt = m_clock();

    if (!m_settings.keep || fileDropped) {
        // No file; the sentence row is still recorded (history shows it, audio_url null).
        recordRow(userId, turnId, sentenceIndex, text, emotion, durationMs, QString(), 0, createdAt, !fileDropped);
        return;
    }

    const QString relativePath = relativePathOf(userId, turnId, sentenceIndex);
    const QString root = m_root;
    struct Written {
        QString error;
        qint64 bytes = 0;
    };
    const bool queued = m_workers.run<Written>(
        this,
        [root, relativePath, pcm, sampleRate]() {
            const QByteArray bytes = wav::file(pcm, sampleRate);
            return Written{writeWav(root, relativePath, bytes), bytes.size()};
        },
        [this, userId, turnId, sentenceIndex, text, emotion, durationMs, relativePath, createdAt](Written w) {
            if (!w.error.isEmpty()) {
                qCWarning(lcDb).noquote() << "audio:" << w.error;
                m_metrics.increment(kWritesDropped, {{QStringLiteral("reason"), QStringLiteral("error")}});
                finishWrite(userId, turnId, sentenceIndex, false);
                return;
            }
            if (m_removing.contains(userId)) { // the removal starts once this write is finished and deletes the file
                finishWrite(userId, turnId, sentenceIndex, false);
                return;
            }
            recordRow(userId, turnId, sentenceIndex, text, emotion, durationMs, relativePath, w.bytes, createdAt);
        });
    if (!queued) {
        qCWarning(lcDb) << "audio: worker pool full, dropping sentence" << sentenceIndex << "of turn" << turnId;
        m_metrics.increment(kWritesDropped, {{QStringLiteral("reason"), QStringLiteral("queue_full")}});
        finishWrite(userId, turnId, sentenceIndex, false);
    }
}

void AudioStore::recordRow(qint64 userId, qint64 turnId, int sentenceIndex, const QString &text, const QString &emotion, int durationMs,
                           const QString &relativePath, qint64 bytes, qint64 createdAtMs, bool asAsked)
{
    SentenceAudio row;
    row.index = sentenceIndex;
    row.text = text;
    row.emotion = emotion;
    row.relativePath = relativePath;
    row.durationMs = durationMs;
    row.bytes = bytes;
    row.createdAtMs = createdAtMs;
    m_db.write<bool>(this, [turnId, userId, row](SqlSession &s) {
        TurnRepository::addSentenceAudio(s, turnId, userId, row);
        return true;
    }, [this, userId, turnId, sentenceIndex, relativePath, bytes, asAsked](DbResult<bool> r) {
        if (!r.ok()) {
            qCWarning(lcDb).noquote() << "audio: cannot record sentence" << sentenceIndex << "of turn" << turnId << ":" << r.error;
            m_metrics.increment(kWritesDropped, {{QStringLiteral("reason"), QStringLiteral("error")}});
            // No row points at the file: remove it before reporting the sentence as not kept.
            const QString path = m_root + QLatin1Char('/') + relativePath;
            if (relativePath.isEmpty()
                || !m_workers.run<bool>(this, [path]() { return QFile::remove(path); },
                                        [this, userId, turnId, sentenceIndex](bool) { finishWrite(userId, turnId, sentenceIndex, false); }))
                finishWrite(userId, turnId, sentenceIndex, false);
            return;
        }
        if (!relativePath.isEmpty()) {
            m_bytesKept += bytes;
            m_metrics.increment(kFilesStored);
            publishBytes();
            if (m_bytesKept > m_settings.maxBytes)
                runRetention();
        }
        finishWrite(userId, turnId, sentenceIndex, asAsked);
    });
}

void AudioStore::finishWrite(qint64 userId, qint64 turnId, int sentenceIndex, bool ok)
{
    --m_pending;
    auto it = m_pendingByUser.find(userId);
    if (it != m_pendingByUser.end() && --*it <= 0)
        m_pendingByUser.erase(it);
    if (m_removing.contains(userId) && !m_pendingByUser.contains(userId))
        startUserRemoval(userId);
    emit stored(userId, turnId, sentenceIndex, ok);
}

void AudioStore::removeUser(qint64 userId, std::function<void(bool)> done)
{
    const bool alreadyRemoving = m_removing.contains(userId);
    m_removing[userId].append(done ? std::move(done) : [](bool) {});
    if (!alreadyRemoving && !m_pendingByUser.contains(userId))
        startUserRemoval(userId);
}

void AudioStore::startUserRemoval(qint64 userId)
{
    const QString dir = m_root + QLatin1Char('/') + QString::number(userId);
    auto finish = [this, userId](bool ok) {
        // Rows of the user (if the account still exists) no longer point at files; recount the total.
        m_db.write<qint64>(this, [userId](SqlSession &s) {
            TurnRepository::releaseUserAudio(s, userId);
            return TurnRepository::audioBytesKept(s);
        }, [this, userId, ok](DbResult<qint64> r) {
            if (r.ok()) {
                m_bytesKept = *r.value;
                publishBytes();
            }
            const QList<std::function<void(bool)>> callbacks = m_removing.take(userId);
            const bool allOk = ok && r.ok();
            if (!allOk)
                qCWarning(lcDb) << "audio: removing the audio of user" << userId << "failed" << r.error;
            for (const auto &cb : callbacks)
                cb(allOk);
            emit userRemoved(userId, allOk);
        });
    };
    const bool queued = m_workers.run<bool>(this, [dir]() { return QDir(dir).removeRecursively(); }, finish);
    if (!queued)
        finish(false);
}

void AudioStore::removeReleased(const QVector<ReleasedAudio> &released, std::function<void()> done)
{
    if (released.isEmpty()) {
        done();
        return;
    }
    qint64 bytes = 0;
    for (const ReleasedAudio &a : released)
        bytes += a.bytes;
    m_bytesKept = qMax<qint64>(0, m_bytesKept - bytes);
    publishBytes();
    m_filesRemoved += released.size();
    m_metrics.increment(kFilesRemoved, {{QStringLiteral("reason"), QStringLiteral("deleted")}}, int(released.size()));
    const QStringList paths = absolutePaths(m_root, released);
    if (!m_workers.run<int>(this, [paths]() { return removeFiles(paths); }, [done](int) { done(); })) {
        qCWarning(lcDb) << "audio: worker pool full;" << paths.size() << "files of a deleted conversation stay on disk until the next start";
        done();
    }
}

bool AudioStore::readFile(QObject *context, const QString &relativePath, std::function<void(std::optional<QByteArray>)> done)
{
    // Paths come from our own rows; anything that could leave the audio root is refused all the same.
    const QString path = fileUnder(m_root, relativePath);
    if (path.isEmpty()) {
        done(std::nullopt);
        return true;
    }
    return m_workers.run<std::optional<QByteArray>>(context, [path]() -> std::optional<QByteArray> {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return std::nullopt;
        return file.readAll();
    }, std::move(done));
}

void AudioStore::runRetention()
{
    if (m_retentionRunning) {
        m_retentionAgain = true;
        return;
    }
    m_retentionRunning = true;
    m_retentionAgain = false;
    const qint64 olderThan = m_settings.maxDays > 0 ? m_clock() - m_settings.maxDays * kDayMs : 0;
    const qint64 maxBytes = m_settings.maxBytes;
    auto finish = [this](int removed, bool more) {
        m_retentionRunning = false;
        if (m_sweepPending) { // once, after the first pass (so it does not race that pass's deletions)
            m_sweepPending = false;
            sweepOrphans();
        }
        emit retentionFinished(removed);
        if (more || m_retentionAgain)
            QTimer::singleShot(0, this, &AudioStore::runRetention);
    };
    m_db.write<RetentionPass>(this, [olderThan, maxBytes](SqlSession &s) {
        return TurnRepository::releaseForRetention(s, olderThan, maxBytes);
    }, [this, finish](DbResult<RetentionPass> r) {
        if (!r.ok()) {
            qCWarning(lcDb).noquote() << "audio retention failed:" << r.error;
            finish(0, false);
            return;
        }
        const RetentionPass pass = *r.value;
        m_bytesKept = pass.bytesKept;
        publishBytes();
        if (pass.released.isEmpty()) {
            finish(0, pass.more);
            return;
        }
        m_filesRemoved += pass.released.size();
        if (pass.byAge > 0)
            m_metrics.increment(kFilesRemoved, {{QStringLiteral("reason"), QStringLiteral("age")}}, pass.byAge);
        if (pass.byBytes > 0)
            m_metrics.increment(kFilesRemoved, {{QStringLiteral("reason"), QStringLiteral("bytes")}}, pass.byBytes);
        qCInfo(lcDb) << "audio retention: removing" << pass.released.size() << "files (" << pass.byAge << "by age," << pass.byBytes
                     << "by size);" << pass.bytesKept << "bytes kept";
        const QStringList paths = absolutePaths(m_root, pass.released);
        const int count = int(pass.released.size());
        const bool more = pass.more;
        const bool queued = m_workers.run<int>(this, [paths]() { return removeFiles(paths); }, [finish, count, more](int) { finish(count, more); });
        if (!queued) {
            qCWarning(lcDb) << "audio retention: worker pool full;" << count << "released files stay on disk";
            finish(count, more);
        }
    });
}

void AudioStore::publishBytes()
{
    m_metrics.setGauge(kBytesKept, {}, double(m_bytesKept));
}

} // namespace tianyi
