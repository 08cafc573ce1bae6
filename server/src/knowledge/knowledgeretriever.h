#pragma once
// Knowledge-graph facts for the prompt: the entities the user text mentions (KnowledgeIndex), each
// with its summary, then up to N one-hop relations each rendered as a short Chinese sentence
// ("洛天依唱过《普通DISCO》", "洛天依的形象是MOTH设计的"); capped by fact count and characters.
//
// Order: every mentioned entity's summary first (in order of mention), then relations between two
// mentioned entities, then each entity's other relations (highest weight first).

#include <QString>
#include <QStringList>

namespace tianyi {

class KnowledgeIndex;
class SqlSession;

struct KnowledgeLimits {
    static constexpr int kMaxEntities = 5;          // mentions looked up per turn
    static constexpr int kRelationsPerEntity = 4;   // one-hop facts per mentioned entity
    static constexpr int kMaxFacts = 12;            // facts in the prompt
    static constexpr int kMaxChars = 1200;          // the prompt's knowledge budget (about 600-1200 tokens of Chinese)
    static constexpr int kMaxFactChars = 240;       // one fact (a long summary is cut)

    int maxEntities = kMaxEntities;
    int relationsPerEntity = kRelationsPerEntity;
    int maxFacts = kMaxFacts;
    int maxChars = kMaxChars;
    int maxFactChars = kMaxFactChars;
};

namespace KnowledgeRetriever {

// Any thread (the index is in memory): the entities the user text mentions, in order, capped.
QStringList mentionedIds(const KnowledgeIndex &index, const QString &userText, const KnowledgeLimits &limits = {});
// Storage thread. Empty when nothing known is mentioned.
QStringList retrieve(SqlSession &s, const KnowledgeIndex &index, const QString &userText, const KnowledgeLimits &limits = {});
// The facts of these entities (ids in order of mention).
QStringList factsFor(SqlSession &s, const QStringList &entityIds, const KnowledgeLimits &limits = {});

// How an entity is named in a fact: songs and albums in 《》, years with 年.
QString displayName(const QString &name, const QString &type);
// One relation as a Chinese sentence ("designed_by", "洛天依", "MOTH" -> "洛天依的形象是MOTH设计的");
// a type without a wording of its own reads "A和B有关", never the identifier.
QString relationSentence(const QString &type, const QString &source, const QString &target);

} // namespace KnowledgeRetriever
} // namespace tianyi
