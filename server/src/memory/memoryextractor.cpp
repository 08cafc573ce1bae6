#include "memory/memoryextractor.h"

#include "memory/memoryindex.h"
#include "memory/memoryrepository.h"
#include "memory/memoryservice.h"
#include "storage/database.h"
#include "storage/turnrepository.h"
#include "upstream/embedder.h"
#include "upstream/promptsections.h"

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
    int evicted = 0;
};

QString clean(QString s)
{
    s = s.simplified();
    while (!s.isEmpty() && QStringLiteral("，,。.!！?？;；、~～ ").contains(s.back()))
        s.chop(1);
    return s;
}


// The clauses of a message that state something: questions ("我住在哪里？", "what do I like?") say
// nothing about the user, so their clauses are left out.
QStringList statementClauses(const QString &text)
{
    static const QRegularExpression clauses(QStringLiteral("([^，,。.!！?？;；\\n]+)([，,。.!！?？;；\\n]|$)"));
    static const QRegularExpression questionWords(QStringLiteral("什么|哪|谁|几|多少|怎么|为什么|吗|^(?:what|who|where|when|why|how|which|do|does|did|can|could)\\b"),
                                                  QRegularExpression::CaseInsensitiveOption);
    QStringList out;
    for (auto it = clauses.globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        const QString clause = m.captured(1).trimmed();
        const bool asked = m.captured(2) == QStringLiteral("？") || m.captured(2) == QStringLiteral("?");
        if (!clause.isEmpty() && !asked && !questionWords.match(clause).hasMatch())
            out << clause;
    }
    return out;
}

// "草莓呀" -> "草莓": a sentence-final particle is not part of the fact.
QString trimParticles(QString s)
{
    while (s.size() > 1 && QStringLiteral("呀啊哦呢啦吧嘛噢喔哟").contains(s.back()))
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
        QString format;   // %1, %2 = the captured words, said back to the user ("我住在上海" -> "你住在上海")
        QString kind;
        double importance;
    };
    // One clause at a time, so a capture never runs into the next statement.
    static const QString w = QStringLiteral("[^，,。.!！?？;；、\\s]");
    static const QString ci = QStringLiteral("(?i)");
    static const QString rest = QStringLiteral("([^,.!?;]{1,40})");
    static const QVector<Rule> rules = {
        // name ("我叫了外卖" is not one); a name stops where the next self-statement starts
        {QRegularExpression(QStringLiteral("我(?:叫|的名字是|的名字叫|名字叫|名字是)(?![了过着])([^我，,。.!！?？;；、\\s]{1,16})")), QStringLiteral("你叫%1"), QStringLiteral("profile"), 0.9},
        {QRegularExpression(QStringLiteral("(?:我(?:现在)?(?:住在|家在|生活在)|我家住在)(%1{1,20})").arg(w)), QStringLiteral("你住在%1"), QStringLiteral("profile"), 0.8},
        {QRegularExpression(QStringLiteral("我(?:来自|老家在|老家是)(%1{1,20})").arg(w)), QStringLiteral("你来自%1"), QStringLiteral("profile"), 0.8},
        {QRegularExpression(QStringLiteral("我(?:今年)?(\\d{1,3}|[一二三四五六七八九十两]{1,3})岁")), QStringLiteral("你%1岁"), QStringLiteral("profile"), 0.6},
        {QRegularExpression(QStringLiteral("我(?:的)?生日(?:是|在)(%1{1,16})").arg(w)), QStringLiteral("你的生日是%1"), QStringLiteral("profile"), 0.8},
        {QRegularExpression(QStringLiteral("我是(%1{1,20})的学生").arg(w)), QStringLiteral("你是%1的学生"), QStringLiteral("profile"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:现在)?在(%1{1,20})(上学|读书|念书|上班|工作)").arg(w)), QStringLiteral("你在%1%2"), QStringLiteral("profile"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:在)?(?:读|上)(小学|初中|高中|大学|研究生|博士|[初高大][一二三四]|研[一二三])")), QStringLiteral("你在读%1"), QStringLiteral("profile"), 0.6},
        {QRegularExpression(QStringLiteral("我是(?:一名|一位|一个)(%1{1,12}(?:师|员|生|家|手|者|工|医))").arg(w)), QStringLiteral("你是一名%1"), QStringLiteral("profile"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:的)?(?:工作|职业)是(%1{1,16})").arg(w)), QStringLiteral("你的工作是%1"), QStringLiteral("profile"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:家)?养(?:了|着)(%1{1,20})").arg(w)), QStringLiteral("你养了%1"), QStringLiteral("relationship"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:家)?的(猫|狗|小猫|小狗|猫咪|狗狗|宠物|兔子|仓鼠|鹦鹉)叫(%1{1,12})").arg(w)), QStringLiteral("你的%1叫%2"), QStringLiteral("relationship"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:很|最|非常|特别|超)?(?:喜欢|爱吃|爱)([^，,。.!！?？;；]{1,30})")), QStringLiteral("你喜欢%1"), QStringLiteral("preference"), 0.7},
        {QRegularExpression(QStringLiteral("我(?:不喜欢|讨厌|不爱吃)([^，,。.!！?？;；]{1,30})")), QStringLiteral("你不喜欢%1"), QStringLiteral("preference"), 0.7},
        {QRegularExpression(ci + QStringLiteral("\\b(?:my name is|i'm called|call me) ([a-z][\\w'\\-]*(?: (?!and\\b)[a-z][\\w'\\-]*){0,2})")),
         QStringLiteral("Your name is %1"), QStringLiteral("profile"), 0.9},
        {QRegularExpression(ci + QStringLiteral("\\bI live in ") + rest), QStringLiteral("You live in %1"), QStringLiteral("profile"), 0.8},
        {QRegularExpression(ci + QStringLiteral("\\bI(?:'m| am) from ") + rest), QStringLiteral("You are from %1"), QStringLiteral("profile"), 0.8},
        {QRegularExpression(ci + QStringLiteral("\\bI(?:'m| am) (\\d{1,3}) years? old")), QStringLiteral("You are %1 years old"), QStringLiteral("profile"), 0.6},
        {QRegularExpression(ci + QStringLiteral("\\bmy birthday is (?:on )?") + rest), QStringLiteral("Your birthday is %1"), QStringLiteral("profile"), 0.8},
        {QRegularExpression(ci + QStringLiteral("\\bI(?:'m| am) an? (student (?:at|of|in) [^,.!?;]{1,40})")), QStringLiteral("You are a %1"), QStringLiteral("profile"), 0.7},
        {QRegularExpression(ci + QStringLiteral("\\bI ((?:work|study) (?:at|in|for|as an?) [^,.!?;]{1,40})")), QStringLiteral("You %1"), QStringLiteral("profile"), 0.7},
        {QRegularExpression(ci + QStringLiteral("\\bI have an? ((?:cat|dog|kitten|puppy|rabbit|hamster|parrot|pet)\\b[^,.!?;]{0,30})")), QStringLiteral("You have a %1"),
         QStringLiteral("relationship"), 0.7},
        {QRegularExpression(ci + QStringLiteral("\\bI (?:really )?(?:like|love) ") + rest), QStringLiteral("You like %1"), QStringLiteral("preference"), 0.7},
        {QRegularExpression(ci + QStringLiteral("\\bI (?:don't|do not) like ") + rest), QStringLiteral("You don't like %1"), QStringLiteral("preference"), 0.7},
        {QRegularExpression(ci + QStringLiteral("\\bI hate ") + rest), QStringLiteral("You don't like %1"), QStringLiteral("preference"), 0.7},
    };
    QVector<ExtractedFact> out;
    for (const QString &clause : statementClauses(userText)) {
        for (const Rule &rule : rules) {
            auto it = rule.pattern.globalMatch(clause);
            while (it.hasNext() && out.size() < kMaxFacts) {
                const QRegularExpressionMatch m = it.next();
                QStringList words;
                for (int group = 1; group <= m.lastCapturedIndex(); ++group)
                    words << promptsections::swapPersons(trimParticles(clean(m.captured(group)))); // "听你唱歌" -> "听我唱歌"
                if (words.isEmpty() || words.contains(QString()))
                    continue;
                // One arg() call for all captures: a "%2" typed by the user is not filled in.
                const QString text = words.size() == 1 ? rule.format.arg(words.at(0)) : rule.format.arg(words.at(0), words.at(1));
                ExtractedFact f{text, rule.kind, rule.importance};
                bool seen = false;
                for (const ExtractedFact &e : std::as_const(out))
                    seen = seen || e.text == f.text;
                if (!seen)
                    out.append(f);
            }
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
                // Bounded per user: a new memory replaces the least valuable one beyond the cap.
                while (MemoryRepository::count(s, userId) >= kMaxMemoriesPerUser) {
                    const std::optional<qint64> victim = MemoryRepository::leastValuable(s, userId);
                    if (!victim || !MemoryRepository::remove(s, userId, *victim))
                        break;
                    index->remove(userId, *victim);
                    ++result.evicted;
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
            qCInfo(lcMemory) << "job" << run->job.id << "stored" << r.value->inserted << "new and" << r.value->updated << "updated memories"
                             << (r.value->evicted ? QStringLiteral("(%1 least valuable given up at the cap)").arg(r.value->evicted) : QString());
            emit factsStored(run->job.userId, r.value->inserted, r.value->updated);
            run->done(true, {});
        });
    });
}

} // namespace tianyi
