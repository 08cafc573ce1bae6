#include "knowledge/knowledgeindex.h"

#include "knowledge/knowledgegraph.h"
#include "storage/database.h"

#include <QSet>

namespace tianyi {

namespace {

// Letters and digits of alphabetic scripts form words; CJK ideographs, kana and hangul (all from
// U+2E80 up) do not, and neither do punctuation and spaces.
bool isWordChar(QChar c)
{
    return c.unicode() < 0x2E80 && c.isLetterOrNumber();
}

} // namespace

void KnowledgeIndex::addAlias(const QString &alias, const QString &entityId)
{
    const QString key = kgAliasKey(alias);
    if (key.isEmpty() || entityId.isEmpty())
        return;
    int node = 0;
    for (const QChar c : key) {
        const auto it = m_nodes[size_t(node)].next.find(c.unicode());
        if (it != m_nodes[size_t(node)].next.end()) {
            node = it->second;
        } else {
            m_nodes.push_back(Node());
            const int created = int(m_nodes.size()) - 1;
            m_nodes[size_t(node)].next.emplace(c.unicode(), created);
            node = created;
        }
    }
    if (m_nodes[size_t(node)].entity >= 0)
        return;
    int index = m_entityIndex.value(entityId, -1);
    if (index < 0) {
        m_entityIds.append(entityId);
        index = int(m_entityIds.size()) - 1;
        m_entityIndex.insert(entityId, index);
    }
    m_nodes[size_t(node)].entity = index;
    ++m_aliases;
}

QVector<KnowledgeIndex::Mention> KnowledgeIndex::find(const QString &input) const
{
    QVector<Mention> out;
    if (m_aliases == 0)
        return out;
    const QString t = input.normalized(QString::NormalizationForm_KC).toCaseFolded();
    const qsizetype n = t.size();
    QSet<int> reported;
    qsizetype i = 0;
    while (i < n) {
        // A word character right after another one is inside a word: no alias starts there.
        if (i > 0 && isWordChar(t[i]) && isWordChar(t[i - 1])) {
            ++i;
            continue;
        }
        int node = 0;
        int best = -1;
        qsizetype bestEnd = -1;
        for (qsizetype j = i; j < n; ++j) {
            const auto &next = m_nodes[size_t(node)].next;
            const auto it = next.find(t[j].unicode());
            if (it == next.end())
                break;
            node = it->second;
            const int entity = m_nodes[size_t(node)].entity;
            const qsizetype end = j + 1;
            if (entity >= 0 && !(isWordChar(t[j]) && end < n && isWordChar(t[end]))) {
                best = entity;
                bestEnd = end;
            }
        }
        if (best < 0) {
            ++i;
            continue;
        }
        if (!reported.contains(best)) {
            reported.insert(best);
            out.append({m_entityIds.at(best), t.mid(i, bestEnd - i)});
        }
        i = bestEnd;
    }
    return out;
}

KnowledgeIndex KnowledgeIndex::load(SqlSession &s)
{
    KnowledgeIndex index;
    QSqlQuery aliases = s.exec(QStringLiteral("SELECT alias, entity_id FROM kg_aliases ORDER BY alias_key"));
    while (aliases.next())
        index.addAlias(aliases.value(0).toString(), aliases.value(1).toString());
    QSqlQuery names = s.exec(QStringLiteral("SELECT name, id FROM kg_entities ORDER BY id"));
    while (names.next())
        index.addAlias(names.value(0).toString(), names.value(1).toString());
    return index;
}

} // namespace tianyi
