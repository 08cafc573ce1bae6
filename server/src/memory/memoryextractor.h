#pragma once
// Outbox kind "extract_memories" (payload {"turn_id"}): after a completed turn, find durable facts
// about the user and keep them as memories. With a real LLM: asks it for strict JSON
// [{"text","kind","importance"}] (invalid JSON -> asked once more, then given up and logged; an
// unreachable LLM fails the job so the outbox retries it). With the built-in demo responder: patterns
// for everyday self-statements, each said back to the user ("我住在上海" -> "你住在上海"): name, where
// they live or come from, age, birthday, school and job, pets, likes and dislikes, in Chinese and
// simple English ("my name is X", "I live in X", "I like X"); clauses that ask something ("我住在
// 哪里？") are skipped. Facts are embedded and stored; a fact
// with the same text or a vector close to an existing memory (cosine >= kDuplicateSimilarity)
// updates that memory instead of adding one, so running a job twice adds nothing (idempotent).

#include "outbox/outbox.h"
#include "upstream/llm.h"

#include <QObject>
#include <QString>
#include <QVector>

namespace tianyi {

class Database;
class Embedder;
class MemoryIndex;

struct ExtractedFact {
    QString text;
    QString kind = QStringLiteral("fact");
    double importance = 0.5;
};

class MemoryExtractor : public QObject
{
    Q_OBJECT
public:
    static constexpr const char *kKind = "extract_memories";
    static constexpr const char *kMarker = "[extract_memories]"; // starts the user message of the extraction request
    static constexpr int kMaxFacts = 8;
    static constexpr int kMaxFactChars = 200;
    static constexpr int kJsonRetries = 1;                  // invalid JSON: ask this many more times
    static constexpr float kDuplicateSimilarity = 0.90f;    // update instead of insert at or above this cosine
    static constexpr int kMaxTokens = 400;
    // Memories kept per user (bounds the table, the in-memory index and a listing); beyond it a new
    // memory replaces the least important, longest unused one.
    static constexpr int kMaxMemoriesPerUser = 500;

    MemoryExtractor(Database &db, LlmProvider &llm, Embedder &embedder, MemoryIndex &index, QObject *parent = nullptr);

    // The outbox handler.
    void handle(const OutboxJob &job, OutboxWorker::Done done);

    static LlmRequest extractionRequest(const QString &userText, const QString &replyText);
    // Strict JSON array of objects with a non-empty "text"; ok=false when the reply is not that.
    static QVector<ExtractedFact> parseFacts(const QString &reply, bool *ok);
    // The demo path: facts from the user's own words, no LLM.
    static QVector<ExtractedFact> ruleBasedFacts(const QString &userText);

signals:
    void factsStored(qint64 userId, int inserted, int updated);

private:
    struct Run;
    void askLlm(const std::shared_ptr<Run> &run);
    void embedAndStore(const std::shared_ptr<Run> &run, QVector<ExtractedFact> facts);

    Database &m_db;
    LlmProvider &m_llm;
    Embedder &m_embedder;
    MemoryIndex &m_index;
};

} // namespace tianyi
