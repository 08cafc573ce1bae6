#pragma once
// Finds mentions of knowledge-graph entities in user text: an in-memory trie of alias keys
// (kgAliasKey: NFKC, case-folded), built from kg_aliases plus every entity's own name.
//
// Matching rules: leftmost, then LONGEST alias wins ("洛天依" is one mention, not also "天依");
// an alias that starts or ends with a Latin letter or digit must sit on a word boundary there
// ("Tianyi" does not match inside "Tianyixyz"); CJK text has no boundaries; each entity is
// reported once, in order of first mention.
//
// Immutable once built: share it as std::shared_ptr<const KnowledgeIndex> between threads.

#include <QHash>
#include <QString>
#include <QVector>
#include <unordered_map>
#include <vector>

namespace tianyi {

class SqlSession;

class KnowledgeIndex
{
public:
    struct Mention {
        QString entityId;
        QString matched;   // the alias key that matched
    };

    // Later additions of an alias key that is already present are ignored (first wins).
    void addAlias(const QString &alias, const QString &entityId);
    QVector<Mention> find(const QString &text) const;

    int aliasCount() const { return m_aliases; }
    bool isEmpty() const { return m_aliases == 0; }

    // Storage thread: every alias of kg_aliases, then the entities' names.
    static KnowledgeIndex load(SqlSession &s);

private:
    struct Node {
        std::unordered_map<char16_t, int> next;
        int entity = -1;   // index into m_entityIds, -1: no alias ends here
    };

    std::vector<Node> m_nodes{Node()};
    QVector<QString> m_entityIds;
    QHash<QString, int> m_entityIndex; // entity id -> position in m_entityIds
    int m_aliases = 0;
};

} // namespace tianyi
