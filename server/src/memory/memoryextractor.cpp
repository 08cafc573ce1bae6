#include "memory/memoryextractor.h"

#include "memory/memoryindex.h"
#include "memory/memoryrepository.h"
#include "memory/memoryservice.h"
#include "storage/database.h"
#include "storage/turnrepository.h"
#include "upstream/embedder.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPointer>
#include <QRegularExpression>

namespace tianyi {

struct MemoryExtractor::Run {
    OutboxJob job;
    OutboxWorker::Done done;
    QString userText;
    QString replyText;
    int llmAttempts = 0;
    QString reply;
};

namespace {

struct StoreResult {
    int inserted = 0;
    int updated = 0;
};

QString clean(QString s)
{
    s = s.simplified();
    while (!s.isEmpty() && QStringLiteral("，,。.!！?？;；、~～ ").contains(s.back()))
        s.chop(1);
    return s;
}

} // namespace

MemoryExtractor::MemoryExtractor(Database &db, LlmProvider &llm, Embedder &embedder, MemoryIndex &index, QObject *parent)
    : QObject(parent)
    , m_db(db)
    , m_llm(llm)
    , m_embedder(embedder)
    , m_index(index)
{
}

LlmRequest MemoryExtractor::extractionRequest(const QString &userText, const QString &replyText)
{
    LlmRequest r;
    r.temperature = 0.0;
    r.maxTokens = kMaxTokens;
    r.messages.push_back({QStringLiteral("system"),
                          QStringLiteral("You extract durable facts about the USER from one exchange of a conversation. "
                                         "Reply with strict JSON only, no prose and no Markdown: an array of objects "
                                         "{\"text\": string, \"kind\": \"profile\"|\"preference\"|\"relationship\"|\"event\"|\"fact\", \"importance\": number 0..1}. "
                                         "Write each text as one short sentence in the user's language addressed to the user (e.g. \"你喜欢草莓\", \"Your name is Ann\"). "
                                         "Only facts that stay true (name, likes, dislikes, family, work, plans); nothing about the assistant; at most %1 items; "
                                         "[] when there is nothing durable.").arg(kMaxFacts)});
    r.messages.push_back({QStringLiteral("user"), QString::fromUtf8(kMarker) + QStringLiteral("\nUser: ") + userText
                                                      + QStringLiteral("\nAssistant: ") + replyText});
    return r;
}

QVector<ExtractedFact> MemoryExtractor::parseFacts(const QString &reply, bool *ok)
{
    *ok = false;
    QVector<ExtractedFact> out;
    QString text = reply.trimmed();
    // Tolerate a Markdown fence around the array; nothing else.
    if (text.startsWith(QLatin1String("```"))) {
        const qsizetype firstLine = text.indexOf(QLatin1Char('\n'));
        const qsizetype fenceEnd = text.lastIndexOf(QLatin1String("```"));
        if (firstLine < 0 || fenceEnd <= firstLine)
            return out;
        text = text.mid(firstLine + 1, fenceEnd - firstLine - 1).trimmed();
    }
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isArray())
        return out;
    for (const QJsonValue &v : doc.array()) {
        if (!v.isObject())
            return out;
        const QJsonObject o = v.toObject();
        if (!o.value(QStringLiteral("text")).isString())
            return out;
        ExtractedFact f;
        f.text = clean(o.value(QStringLiteral("text")).toString()).left(kMaxFactChars);
        if (f.text.isEmpty())
            continue;
        const QString kind = o.value(QStringLiteral("kind")).toString().trimmed().toLower();
        if (!kind.isEmpty())
            f.kind = kind.left(32);
        if (o.value(QStringLiteral("importance")).isDouble())
            f.importance = qBound(0.0, o.value(QStringLiteral("importance")).toDouble(), 1.0);
        if (out.size() < kMaxFacts)
            out.append(f);
    }
    *ok = true;
    return out;
}

QVector<ExtractedFact> MemoryExtractor::ruleBasedFacts(const QString &userText)
{
    struct Rule {
        QRegularExpression pattern;
        QString format;   // %1 = the captured words
        QString kind;
        double importance;
    };
    static const QString stop = QStringLiteral("[^，,。.!！?？;；、\\s]");
    static const QVector<Rule> rules = {
        {QRegularExpression(QStringLiteral("我(?:叫|的名字是|名字叫)(%1{1,16})").arg(stop)), QStringLiteral("你叫%1"), QStringLiteral("profile"), 0.9},
        {QRegularExpression(QStringLiteral("我(?:很|最|非常|特别|超)?(?:喜欢|爱吃|爱)([^，,。.!！?？;；]{1,30})")), QStringLiteral("你喜欢%1"), QStringLiteral("preference"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:不喜欢|讨厌)([^，,。.!！?？;；]{1,30})")), QStringLiteral("你不喜欢%1"), QStringLiteral("preference"), 0.7},
        {QRegularExpression(QStringLiteral("\\bmy name is ([A-Za-z][A-Za-z\\-' ]{0,30}?)(?=[,.!?;]|$)"), QRegularExpression::CaseInsensitiveOption),
         QStringLiteral("Your name is %1"), QStringLiteral("profile"), 0.9},
        {QRegularExpression(QStringLiteral("\\bI (?:really )?(?:like|love) ([^,.!?;]{1,40})"), QRegularExpression::CaseInsensitiveOption),
         QStringLiteral("You like %1"), QStringLiteral("preference"), 0.7},
    };
    QVector<ExtractedFact> out;
    for (const Rule &rule : rules) {
        auto it = rule.pattern.globalMatch(userText);
        while (it.hasNext() && out.size() < kMaxFacts) {
            const QString words = clean(it.next().captured(1));
            if (words.isEmpty())
                continue;
            ExtractedFact f{rule.format.arg(words), rule.kind, rule.importance};
            bool seen = false;
            for (const ExtractedFact &e : std::as_const(out))
                seen = seen || e.text == f.text;
            if (!seen)
                out.append(f);
        }
    }
    return out;
}

void MemoryExtractor::handle(const OutboxJob &job, OutboxWorker::Done done)
{
    auto run = std::make_shared<Run>();
    run->job = job;
    run->done = std::move(done);
    const qint64 userId = job.userId;
    const qint64 turnId = job.payload.value(QStringLiteral("turn_id")).toInteger();
    m_db.read<std::optional<StoredTurn>>(this, [userId, turnId](SqlSession &s) { return TurnRepository::turn(s, userId, turnId); },
                                         [this, run](DbResult<std::optional<StoredTurn>> r) {
        if (!r.ok()) {
            run->done(false, QStringLiteral("cannot read the turn: ") + r.error);
            return;
        }
        const std::optional<StoredTurn> &turn = *r.value;
        if (!turn || turn->status != QLatin1String("completed")) {
            run->done(true, {}); // gone (account deleted) or not a completed turn: nothing to do
            return;
        }
        run->userText = turn->userText;
        run->replyText = turn->replyText;
        if (m_llm.isBuiltIn()) {
            embedAndStore(run, ruleBasedFacts(run->userText));
            return;
        }
        askLlm(run);
    });
}

void MemoryExtractor::askLlm(const std::shared_ptr<Run> &run)
{
    ++run->llmAttempts;
    run->reply.clear();
    LlmRequest request = extractionRequest(run->userText, run->replyText);
    request.correlationId = QStringLiteral("%1#outbox#%2").arg(run->job.userId).arg(run->job.id);
    LlmStream *stream = m_llm.stream(request, this);
    connect(stream, &LlmStream::delta, this, [run](const QString &text) { run->reply += text; });
    connect(stream, &LlmStream::failed, this, [run, stream](const UpstreamError &error) {
        stream->deleteLater();
        run->done(false, QStringLiteral("llm: %1 %2").arg(UpstreamError::kindName(error.kind), error.message));
    });
    connect(stream, &LlmStream::finished, this, [this, run, stream](const QString &) {
        stream->deleteLater();
        bool ok = false;
        const QVector<ExtractedFact> facts = parseFacts(run->reply, &ok);
        if (!ok) {
            if (run->llmAttempts <= kJsonRetries) {
                qCInfo(lcMemory) << "extraction reply of job" << run->job.id << "is not the JSON asked for; asking again";
                askLlm(run);
                return;
            }
            qCWarning(lcMemory).noquote() << "extraction of job" << run->job.id << "gave up: invalid JSON twice:" << run->reply.left(200);
            run->done(true, {});
            return;
        }
        embedAndStore(run, facts);
    });
}

void MemoryExtractor::embedAndStore(const std::shared_ptr<Run> &run, QVector<ExtractedFact> facts)
{
    if (facts.isEmpty()) {
        run->done(true, {});
        return;
    }
    QStringList texts;
    for (const ExtractedFact &f : std::as_const(facts))
        texts << f.text;
    EmbeddingJob *job = m_embedder.embed(texts, this);
    const QString model = m_embedder.name();
    MemoryIndex *index = &m_index;
    connect(job, &EmbeddingJob::failed, this, [run, job](const UpstreamError &error) {
        job->deleteLater();
        run->done(false, QStringLiteral("embedding: %1 %2").arg(UpstreamError::kindName(error.kind), error.message));
    });
    connect(job, &EmbeddingJob::finished, this, [this, run, job, facts, model, index](const QVector<Embedding> &vectors) {
        job->deleteLater();
        if (vectors.size() != facts.size()) {
            run->done(false, QStringLiteral("embedding: %1 vectors for %2 texts").arg(vectors.size()).arg(facts.size()));
            return;
        }
        const qint64 userId = run->job.userId;
        m_db.write<StoreResult>(this, [userId, facts, vectors, model, index](SqlSession &s) {
            StoreResult result;
            const qint64 now = QDateTime::currentMSecsSinceEpoch();
            if (!s.scalar(QStringLiteral("SELECT 1 FROM users WHERE id = ?"), {userId}))
                return result; // the account is gone
            try {
            for (qsizetype i = 0; i < facts.size(); ++i) {
                const ExtractedFact &f = facts.at(i);
                MemoryRecord m;
                m.userId = userId;
                m.text = f.text;
                m.kind = f.kind;
                m.importance = f.importance;
                m.createdAtMs = now;
                m.embedding = vectors.at(i);
                m.embeddingModel = model;
                std::optional<qint64> existing;
                if (const auto same = s.scalar(QStringLiteral("SELECT id FROM memories WHERE user_id = ? AND text = ? ORDER BY id LIMIT 1"), {userId, f.text}))
                    existing = same->toLongLong();
                if (!existing) {
                    const auto near = index->nearest(s, userId, m.embedding);
                    if (near && near->second >= kDuplicateSimilarity)
                        existing = near->first;
                }
                if (existing) {
                    if (const auto old = MemoryRepository::find(s, userId, *existing)) {
                        m.id = old->id;
                        m.createdAtMs = old->createdAtMs;
                        m.lastUsedAtMs = old->lastUsedAtMs;
                        m.importance = qMax(old->importance, f.importance);
                        MemoryRepository::update(s, m);
                        index->upsert(m);
                        ++result.updated;
                        continue;
                    }
                }
                m.id = MemoryRepository::insert(s, m);
                index->upsert(m);
                ++result.inserted;
            }
            } catch (...) {
                index->dropUser(userId); // the transaction rolls back: reload from the table next time
                throw;
            }
            return result;
        }, [this, run](DbResult<StoreResult> r) {
            if (!r.ok()) {
                run->done(false, QStringLiteral("cannot store memories: ") + r.error);
                return;
            }
            qCInfo(lcMemory) << "job" << run->job.id << "stored" << r.value->inserted << "new and" << r.value->updated << "updated memories";
            emit factsStored(run->job.userId, r.value->inserted, r.value->updated);
            run->done(true, {});
        });
    });
}

} // namespace tianyi
