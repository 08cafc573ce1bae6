#include "memory/memoryservice.h"

#include "history/audiostore.h"
#include "memory/memoryextractor.h"
#include "memory/memoryrepository.h"
#include "memory/summarycompressor.h"
#include "metrics/metrics.h"
#include "outbox/outbox.h"
#include "storage/database.h"
#include "upstream/embedder.h"
#include "upstream/llm.h"
#include "core/workerpool.h"

#include <QDateTime>
#include <QPointer>
#include <QTimer>

Q_LOGGING_CATEGORY(lcMemory, "tianyi.memory")

namespace tianyi {

namespace {

struct Retrieved {
    QStringList texts;
};

QStringList textsOf(const QVector<MemoryHit> &hits, QVector<qint64> &ids)
{
    QStringList texts;
    for (const MemoryHit &h : hits) {
        texts << h.text;
        ids << h.id;
    }
    return texts;
}

} // namespace

MemoryService::MemoryService(const Deps &deps, QObject *parent)
    : QObject(parent)
    , m_deps(deps)
    , m_index(std::make_unique<MemoryIndex>(deps.embedder->name(), deps.embedder->dimensions()))
    , m_outbox(std::make_unique<OutboxWorker>(*deps.db, *deps.metrics))
    , m_extractor(std::make_unique<MemoryExtractor>(*deps.db, *deps.llm, *deps.embedder, *m_index))
    , m_summaries(std::make_unique<SummaryCompressor>(*deps.db, *deps.llm))
{
    m_search.k = kPromptMemories;
    MemoryExtractor *extractor = m_extractor.get();
    m_outbox->registerHandler(QString::fromLatin1(MemoryExtractor::kKind),
                              [extractor](const OutboxJob &job, OutboxWorker::Done done) { extractor->handle(job, std::move(done)); });
    SummaryCompressor *summaries = m_summaries.get();
    m_outbox->registerHandler(QString::fromLatin1(SummaryCompressor::kKind),
                              [summaries](const OutboxJob &job, OutboxWorker::Done done) { summaries->handle(job, std::move(done)); });
    m_deps.metrics->declareGaugeCallback(QStringLiteral("tianyi_memory_index_bytes"), QStringLiteral("Bytes of memory vectors held in RAM."),
                                         [index = m_index.get(), self = QPointer<MemoryService>(this)]() {
                                             return QList<QPair<Labels, double>>{{{}, self ? double(index->bytes()) : 0.0}};
                                         });
}

MemoryService::~MemoryService()
{
    m_outbox->stop();
}

void MemoryService::start()
{
    qCInfo(lcMemory).noquote() << "memories: embeddings by" << m_deps.embedder->name() << "," << m_deps.embedder->dimensions()
                               << "dimensions; extraction by" << (m_deps.llm->isBuiltIn() ? QStringLiteral("built-in patterns") : m_deps.llm->name());
    m_outbox->start();
}

void MemoryService::enqueueTurnJobs(SqlSession &s, qint64 userId, qint64 turnId)
{
    Outbox::enqueue(s, QString::fromLatin1(MemoryExtractor::kKind), userId, QJsonObject{{QStringLiteral("turn_id"), turnId}});
    Outbox::enqueue(s, QString::fromLatin1(SummaryCompressor::kKind), userId, QJsonObject{{QStringLiteral("turn_id"), turnId}});
}

void MemoryService::retrieve(QObject *context, qint64 userId, const QString &text, std::function<void(QStringList)> done)
{
    QPointer<QObject> guard(context);
    if (text.trimmed().isEmpty()) {
        done({});
        return;
    }
    EmbeddingJob *job = m_deps.embedder->embed({text}, this);
    auto once = std::make_shared<bool>(false);
    auto finish = std::make_shared<std::function<void(QStringList)>>([once, done = std::move(done)](QStringList texts) {
        if (*once)
            return;
        *once = true;
        done(std::move(texts));
    });
    QTimer::singleShot(kRetrievalTimeoutMs, job, [job, guard, finish]() {
        qCWarning(lcMemory) << "no memories for this turn: retrieval took longer than" << kRetrievalTimeoutMs << "ms";
        job->cancel();
        job->deleteLater();
        if (guard)
            (*finish)({});
    });
    connect(job, &EmbeddingJob::failed, this, [job, guard, finish](const UpstreamError &error) {
        job->deleteLater();
        qCInfo(lcMemory).noquote() << "no memories for this turn: embedding failed:" << error.message;
        if (guard)
            (*finish)({});
    });
    connect(job, &EmbeddingJob::finished, this, [this, job, guard, finish, userId](const QVector<Embedding> &vectors) {
        job->deleteLater();
        if (!guard)
            return;
        if (vectors.size() != 1) {
            (*finish)({});
            return;
        }
        search(guard.data(), userId, vectors.first(), [finish](QStringList texts) { (*finish)(std::move(texts)); });
    });
}

// A user with an open session is normally loaded (preload): the search runs on the worker pool and
// the turn does not queue behind other storage work. Otherwise it runs on the storage thread, which
// loads the user first. Either way the hits are noted as used, in memory at once and in the table
// by a write nobody waits for.
void MemoryService::search(QObject *context, qint64 userId, const Embedding &query, std::function<void(QStringList)> done)
{
    MemoryIndex *index = m_index.get();
    MemorySearchOptions options = m_search;
    options.nowMs = QDateTime::currentMSecsSinceEpoch();
    Database *db = m_deps.db;
    auto noteUsed = [index, db, userId, nowMs = options.nowMs](const QVector<MemoryHit> &hits) {
        QVector<qint64> ids;
        const QStringList texts = textsOf(hits, ids);
        if (!ids.isEmpty()) {
            index->setLastUsed(userId, ids, nowMs);
            db->write<bool>(db, [userId, ids, nowMs](SqlSession &s) {
                MemoryRepository::touch(s, userId, ids, nowMs);
                return true;
            }, [](DbResult<bool>) {});
        }
        return texts;
    };
    if (m_deps.cpu && index->isLoaded(userId)) {
        using Hits = std::optional<QVector<MemoryHit>>;
        const bool queued = m_deps.cpu->run<Hits>(
            context, [index, userId, query, options]() { return index->searchLoaded(userId, query, options); },
            [this, context, userId, query, done, noteUsed](Hits hits) {
                if (hits) // else evicted meanwhile: the storage thread loads it again
                    done(noteUsed(*hits));
                else
                    searchInStorage(context, userId, query, done);
            });
        if (queued)
            return;
    }
    searchInStorage(context, userId, query, std::move(done));
}

void MemoryService::searchInStorage(QObject *context, qint64 userId, const Embedding &query, std::function<void(QStringList)> done)
{
    MemoryIndex *index = m_index.get();
    MemorySearchOptions options = m_search;
    options.nowMs = QDateTime::currentMSecsSinceEpoch();
    m_deps.db->write<Retrieved>(context, [index, options, userId, query](SqlSession &s) {
        Retrieved r;
        QVector<qint64> ids;
        r.texts = textsOf(index->search(s, userId, query, options), ids);
        if (!ids.isEmpty()) {
            MemoryRepository::touch(s, userId, ids, options.nowMs);
            index->setLastUsed(userId, ids, options.nowMs);
        }
        return r;
    }, [done](DbResult<Retrieved> r) {
        if (!r.ok())
            qCWarning(lcMemory) << "memory retrieval failed:" << r.error;
        done(r.ok() ? r.value->texts : QStringList());
    });
}

void MemoryService::preload(qint64 userId)
{
    MemoryIndex *index = m_index.get();
    m_deps.db->read<bool>(this, [index, userId](SqlSession &s) {
        index->preload(s, userId);
        return true;
    }, [](DbResult<bool> r) {
        if (!r.ok())
            qCInfo(lcMemory) << "memories not preloaded:" << r.error;
    });
}

void MemoryService::deleteAccount(qint64 userId, std::function<void(bool, const QString &)> done)
{
    MemoryIndex *index = m_index.get();
    QPointer<AudioStore> audio(m_deps.audio);
    m_deps.db->write<bool>(this, [userId, index](SqlSession &s) {
        Outbox::removeUser(s, userId);
        // Every table with a user_id references users ON DELETE CASCADE.
        QSqlQuery q = s.exec(QStringLiteral("DELETE FROM users WHERE id = ?"), {userId});
        index->dropUser(userId);
        return q.numRowsAffected() > 0;
    }, [this, userId, audio, done](DbResult<bool> r) {
        if (!r.ok()) {
            done(false, r.error);
            return;
        }
        qCInfo(lcMemory) << "account" << userId << "deleted";
        emit accountDeleted(userId);
        if (!audio) {
            done(true, {});
            return;
        }
        audio->removeUser(userId, [done](bool ok) { done(ok, ok ? QString() : QStringLiteral("the audio directory could not be removed")); });
    });
}

} // namespace tianyi
