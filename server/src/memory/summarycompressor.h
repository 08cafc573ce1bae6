#pragma once
// Outbox kind "summarize" (queued with every completed turn): when a user's finished turns that are
// not yet in their rolling summary pass kTurnBudget, the older ones (all but the newest
// kKeepRecentTurns) are folded into one per-user summary row (table summaries). The prompt then
// carries the summary (promptsections::kSummary) plus only the turns after it (PromptContext::foldSummary).
// With a real LLM the fold is written by it; with the built-in demo responder it is a plain,
// length-bounded digest of what the user said. Idempotent: a re-run finds nothing left to fold.

#include "outbox/outbox.h"

#include <QObject>
#include <QString>
#include <optional>

namespace tianyi {

class Database;
class LlmProvider;
class SqlSession;

class SummaryCompressor : public QObject
{
    Q_OBJECT
public:
    static constexpr const char *kKind = "summarize";
    static constexpr const char *kMarker = "[summarize]";
    static constexpr int kTurnBudget = 30;        // unsummarized finished turns before a fold
    static constexpr int kKeepRecentTurns = 10;   // the newest turns stay verbatim
    static constexpr int kMaxSummaryChars = 1500;
    static constexpr int kMaxTokens = 600;

    SummaryCompressor(Database &db, LlmProvider &llm, QObject *parent = nullptr);

    void handle(const OutboxJob &job, OutboxWorker::Done done);
    void setBudget(int turnBudget, int keepRecentTurns);

    // The demo fold: the old summary, then what the user said, cut from the front to kMaxSummaryChars.
    static QString digest(const QString &previous, const QStringList &userTexts);

signals:
    // A new summary of the user is stored (their prompt context changed).
    void summaryStored(qint64 userId);

private:
    Database &m_db;
    LlmProvider &m_llm;
    int m_turnBudget = kTurnBudget;
    int m_keepRecent = kKeepRecentTurns;
};

} // namespace tianyi
