#include "prompt/promptcontextcache.h"

#include "metrics/metrics.h"
#include "storage/database.h"
#include "storage/turnrepository.h"
#include "storage/userrepository.h"

namespace tianyi {

namespace {
const QString kCacheCounter = QStringLiteral("tianyi_prompt_context_cache_total");
}

PromptContextCache::PromptContextCache(Database &db, Metrics *metrics, int recentTurns, QObject *parent)
    : QObject(parent)
    , m_db(db)
    , m_metrics(metrics)
    , m_recentTurns(recentTurns)
{
    if (m_metrics)
        m_metrics->declareCounter(kCacheCounter, QStringLiteral("Turns whose per-user prompt context was in memory (hit) or read from storage (miss)."));
}

PromptContext PromptContextCache::load(SqlSession &s, qint64 userId, int recentTurns)
{
    PromptContext c;
    c.recentTurns = TurnRepository::recentForPrompt(s, userId, recentTurns);
    UserRepository users(s);
    if (const auto profile = users.profile(userId)) {
        c.nickname = profile->nickname;
        c.description = profile->description;
    }
    if (const auto rolling = SummaryRepository::find(s, userId))
        c.foldSummary(*rolling);
    return c;
}

void PromptContextCache::acquire(qint64 userId)
{
    Entry &entry = m_entries[userId];
    if (++entry.sessions == 1)
        reload(userId, entry);
}

void PromptContextCache::release(qint64 userId)
{
    const auto it = m_entries.find(userId);
    if (it != m_entries.end() && --it->sessions <= 0)
        m_entries.erase(it);
}

void PromptContextCache::changed(qint64 userId)
{
    const auto it = m_entries.find(userId);
    if (it == m_entries.end())
        return; // no session: nothing cached
    it->context.reset();
    ++it->generation;
    reload(userId, *it);
}

std::optional<PromptContext> PromptContextCache::find(qint64 userId)
{
    const auto it = m_entries.constFind(userId);
    const bool hit = it != m_entries.constEnd() && it->context.has_value();
    if (m_metrics)
        m_metrics->increment(kCacheCounter, {{QStringLiteral("result"), hit ? QStringLiteral("hit") : QStringLiteral("miss")}});
    if (!hit)
        return std::nullopt;
    return it->context;
}

void PromptContextCache::reload(qint64 userId, Entry &entry)
{
    const quint64 generation = entry.generation;
    const int recent = m_recentTurns;
    m_db.read<PromptContext>(
        this, [userId, recent](SqlSession &s) { return load(s, userId, recent); },
        [this, userId, generation](DbResult<PromptContext> result) {
            const auto it = m_entries.find(userId);
            // Gone (last session ended), or changed since this read was posted: a newer reload follows.
            if (it == m_entries.end() || it->generation != generation || !result.ok())
                return;
            it->context = std::move(*result.value);
        });
}

} // namespace tianyi
