#include "knowledge/knowledgeretriever.h"

#include "knowledge/knowledgeindex.h"
#include "storage/database.h"

#include <QHash>
#include <QSet>

namespace tianyi {

namespace {

constexpr int kRelationRowsPerEntity = 64; // rows read per entity before picking (hubs have many)

struct RelationRow {
    QString id;
    QString sourceId;
    QString targetId;
    QString fact;
};

const QString kRelationSelect = QStringLiteral(
    "SELECT r.id, r.source_id, r.target_id, r.type, s.name, s.type, t.name, t.type FROM kg_relations r"
    " JOIN kg_entities s ON s.id = r.source_id JOIN kg_entities t ON t.id = r.target_id ");

RelationRow relationFromRow(QSqlQuery &q)
{
    RelationRow r;
    r.id = q.value(0).toString();
    r.sourceId = q.value(1).toString();
    r.targetId = q.value(2).toString();
    r.fact = KnowledgeRetriever::relationSentence(q.value(3).toString(),
                                                  KnowledgeRetriever::displayName(q.value(4).toString(), q.value(5).toString()),
                                                  KnowledgeRetriever::displayName(q.value(6).toString(), q.value(7).toString()));
    return r;
}

QString cut(const QString &fact, int maxChars)
{
    const QString t = fact.simplified();
    return t.size() > maxChars ? t.left(qMax(0, maxChars - 1)) + QStringLiteral("…") : t;
}

// Collects facts under the count and character caps; the first fact that does not fit ends it.
class Budget
{
public:
    explicit Budget(const KnowledgeLimits &limits) : m_limits(limits) {}
    bool add(const QString &fact)
    {
        if (full())
            return false;
        const QString f = cut(fact, m_limits.maxFactChars);
        if (m_chars + f.size() > m_limits.maxChars) {
            m_full = true;
            return false;
        }
        m_chars += int(f.size());
        m_facts << f;
        return true;
    }
    bool full() const { return m_full || m_facts.size() >= m_limits.maxFacts; }
    QStringList facts() const { return m_facts; }

private:
    const KnowledgeLimits &m_limits;
    QStringList m_facts;
    int m_chars = 0;
    bool m_full = false;
};

} // namespace

namespace KnowledgeRetriever {

QString displayName(const QString &name, const QString &type)
{
    if ((type == QLatin1String("Song") || type == QLatin1String("Album")) && !name.startsWith(QChar(0x300A)))
        return QChar(0x300A) + name + QChar(0x300B); // 《name》
    if (type == QLatin1String("Year") && !name.endsWith(QChar(0x5E74)))
        return name + QChar(0x5E74); // 2012 -> 2012年, so that "是2012年发布的" reads as Chinese
    return name;
}

QString relationSentence(const QString &type, const QString &source, const QString &target)
{
    // %1 = source, %2 = target. The sentences are what a person would say, so that the prompt (and the
    // offline demo responder, which reads them back aloud) never shows an identifier like "sung_by".
    static const QHash<QString, QString> sentences{
        {QStringLiteral("produced_by"), QStringLiteral("%1是%2推出的")},
        {QStringLiteral("lyrics_by"), QStringLiteral("%1的作词是%2")},
        {QStringLiteral("composed_by"), QStringLiteral("%1的作曲是%2")},
        {QStringLiteral("arranged_by"), QStringLiteral("%1的编曲是%2")},
        {QStringLiteral("sung_by"), QStringLiteral("%2唱过%1")},
        {QStringLiteral("in_album"), QStringLiteral("%1收录在%2里")},
        {QStringLiteral("released_in"), QStringLiteral("%1是%2发布的")},
        {QStringLiteral("win_award"), QStringLiteral("%1获得过%2")},
        {QStringLiteral("performed_at"), QStringLiteral("%1参加过%2")},
        {QStringLiteral("voiced_by"), QStringLiteral("%1的声源是%2")},
        {QStringLiteral("designed_by"), QStringLiteral("%1的形象是%2设计的")},
        {QStringLiteral("member_of"), QStringLiteral("%1是%2的成员")},
        {QStringLiteral("located_in"), QStringLiteral("%1位于%2")},
    };
    const auto it = sentences.constFind(type);
    // kgRelationTypes() all have a sentence (a test holds that); should one be added without its
    // sentence, the fact says that the two are linked rather than show the identifier.
    return (it == sentences.cend() ? QStringLiteral("%1和%2有关") : *it).arg(source, target);
}

QStringList mentionedIds(const KnowledgeIndex &index, const QString &userText, const KnowledgeLimits &limits)
{
    QStringList ids;
    for (const KnowledgeIndex::Mention &m : index.find(userText)) {
        if (ids.size() >= limits.maxEntities)
            break;
        ids << m.entityId;
    }
    return ids;
}

QStringList retrieve(SqlSession &s, const KnowledgeIndex &index, const QString &userText, const KnowledgeLimits &limits)
{
    return factsFor(s, mentionedIds(index, userText, limits), limits);
}

QStringList factsFor(SqlSession &s, const QStringList &entityIds, const KnowledgeLimits &limits)
{
    Budget budget(limits);
    QStringList found;
    for (const QString &id : entityIds) {
        QSqlQuery q = s.exec(QStringLiteral("SELECT name, type, summary FROM kg_entities WHERE id = ?"), {id});
        if (!q.next())
            continue;
        found << id;
        const QString name = displayName(q.value(0).toString(), q.value(1).toString());
        const QString summary = q.value(2).toString().trimmed();
        budget.add(summary.isEmpty() ? QStringLiteral("%1（%2）").arg(name, q.value(1).toString())
                                     : QStringLiteral("%1：%2").arg(name, summary));
    }

    QSet<QString> used;
    // Relations that link two mentioned entities say the most about this question (one query).
    if (found.size() > 1) {
        QStringList marks;
        QVariantList values;
        for (const QString &id : found) {
            marks << QStringLiteral("?");
            values << id;
        }
        const QString in = marks.join(QLatin1Char(','));
        QSqlQuery q = s.exec(kRelationSelect + QStringLiteral("WHERE r.source_id IN (%1) AND r.target_id IN (%1) AND r.source_id <> r.target_id"
                                                              " ORDER BY r.weight DESC, r.id").arg(in),
                             values + values);
        while (q.next()) {
            const RelationRow r = relationFromRow(q);
            if (!used.contains(r.id) && budget.add(r.fact))
                used.insert(r.id);
        }
    }
    for (const QString &id : found) {
        int taken = 0;
        QSqlQuery q = s.exec(kRelationSelect + QStringLiteral("WHERE r.source_id = ? OR r.target_id = ? ORDER BY r.weight DESC, r.id LIMIT ?"),
                             {id, id, kRelationRowsPerEntity});
        while (q.next() && taken < limits.relationsPerEntity && !budget.full()) {
            const RelationRow r = relationFromRow(q);
            if (used.contains(r.id))
                continue;
            if (!budget.add(r.fact))
                break;
            used.insert(r.id);
            ++taken;
        }
    }
    return budget.facts();
}

} // namespace KnowledgeRetriever
} // namespace tianyi
