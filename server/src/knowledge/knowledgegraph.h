#pragma once
// The shared knowledge graph as data: entities, typed relations between them and aliases that name
// them in user text. The same for every user (no user data here). Stored in kg_entities,
// kg_relations and kg_aliases (migration 3); imported by KnowledgeImporter, matched by
// KnowledgeIndex, rendered into prompt facts by KnowledgeRetriever.

#include <QJsonObject>
#include <QLoggingCategory>
#include <QString>
#include <QStringList>
#include <QVector>

Q_DECLARE_LOGGING_CATEGORY(lcKnowledge)

namespace tianyi {

struct KgEntity {
    QString id;
    QString name;
    QString type;          // one of kgEntityTypes()
    QString summary;       // properties.summary
    QJsonObject properties;
    QString source;        // where the facts of this entity come from
};

struct KgRelation {
    QString id;            // conventionally "src_type_dst"
    QString sourceId;
    QString targetId;
    QString type;          // one of kgRelationTypes()
    QJsonObject properties;
    double weight = 1.0;
    QString source;
};

struct KgAlias {
    QString alias;         // as written in the alias file
    QString entityId;
};

struct KnowledgeGraph {
    QVector<KgEntity> entities;
    QVector<KgRelation> relations;
    QVector<KgAlias> aliases;
};

// The types of the seed project's format.
const QStringList &kgEntityTypes();
const QStringList &kgRelationTypes();

// The matching key of an alias or of user text: NFKC (full-width letters become ASCII), then
// case-folded (Latin matches case-insensitively), surrounding whitespace removed.
QString kgAliasKey(const QString &text);

} // namespace tianyi
