#include "knowledge/knowledgeimporter.h"

#include "storage/database.h"

#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <cmath>

namespace tianyi {

namespace {

// An id may be written as a string or an integer.
QString idValue(const QJsonValue &v)
{
    if (v.isString())
        return v.toString().trimmed();
    if (v.isDouble() && v.toDouble() == std::floor(v.toDouble()))
        return QString::number(v.toInteger());
    return {};
}

QString jsonText(const QJsonObject &o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

// A null QString binds as SQL NULL; the text columns are NOT NULL.
QString text(const QString &v)
{
    return v.isNull() ? QStringLiteral("") : v;
}

class Errors
{
public:
    explicit Errors(QStringList &out) : m_out(out) {}
    void add(const QString &e)
    {
        ++m_count;
        if (m_out.size() < KnowledgeImporter::kMaxReportedErrors)
            m_out << e;
    }
    void finish()
    {
        if (m_count > m_out.size())
            m_out << QStringLiteral("... and %1 more errors").arg(m_count - m_out.size());
    }

private:
    QStringList &m_out;
    int m_count = 0;
};

QJsonDocument parseJson(const QByteArray &bytes, const QString &what, Errors &errors)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error != QJsonParseError::NoError)
        errors.add(QStringLiteral("%1: invalid JSON at offset %2: %3").arg(what).arg(pe.offset).arg(pe.errorString()));
    else if (!doc.isObject())
        errors.add(QStringLiteral("%1: the top level must be a JSON object").arg(what));
    return doc;
}

void parseEntities(const QJsonArray &array, KnowledgeGraph &graph, Errors &errors)
{
    QSet<QString> seen;
    for (qsizetype i = 0; i < array.size(); ++i) {
        if (!array.at(i).isObject()) {
            errors.add(QStringLiteral("entity #%1: not a JSON object").arg(i));
            continue;
        }
        const QJsonObject o = array.at(i).toObject();
        KgEntity e;
        e.id = idValue(o.value(QStringLiteral("id")));
        if (e.id.isEmpty()) {
            errors.add(QStringLiteral("entity #%1: missing \"id\"").arg(i));
            continue;
        }
        const QString label = QStringLiteral("entity \"%1\"").arg(e.id);
        if (seen.contains(e.id)) {
            errors.add(label + QStringLiteral(": duplicate id"));
            continue;
        }
        seen.insert(e.id);
        e.name = o.value(QStringLiteral("name")).toString().trimmed();
        if (e.name.isEmpty())
            errors.add(label + QStringLiteral(": missing \"name\""));
        e.type = o.value(QStringLiteral("type")).toString().trimmed();
        if (!kgEntityTypes().contains(e.type))
            errors.add(label + QStringLiteral(": unknown type \"%1\" (expected one of %2)").arg(e.type, kgEntityTypes().join(QStringLiteral(", "))));
        const QJsonValue props = o.value(QStringLiteral("properties"));
        if (!props.isUndefined() && !props.isNull() && !props.isObject())
            errors.add(label + QStringLiteral(": \"properties\" must be an object"));
        e.properties = props.toObject();
        const QJsonValue summary = e.properties.value(QStringLiteral("summary"));
        if (!summary.isUndefined() && !summary.isString())
            errors.add(label + QStringLiteral(": properties.summary must be a string"));
        e.summary = summary.toString().trimmed();
        e.source = e.properties.value(QStringLiteral("source")).toString().trimmed();
        if (e.source.isEmpty())
            e.source = o.value(QStringLiteral("source")).toString().trimmed();
        graph.entities.append(e);
    }
}

void parseRelations(const QJsonArray &array, KnowledgeGraph &graph, Errors &errors)
{
    QSet<QString> seen;
    for (qsizetype i = 0; i < array.size(); ++i) {
        if (!array.at(i).isObject()) {
            errors.add(QStringLiteral("relation #%1: not a JSON object").arg(i));
            continue;
        }
        const QJsonObject o = array.at(i).toObject();
        KgRelation r;
        r.id = idValue(o.value(QStringLiteral("id")));
        if (r.id.isEmpty()) {
            errors.add(QStringLiteral("relation #%1: missing \"id\"").arg(i));
            continue;
        }
        const QString label = QStringLiteral("relation \"%1\"").arg(r.id);
        if (seen.contains(r.id)) {
            errors.add(label + QStringLiteral(": duplicate id"));
            continue;
        }
        seen.insert(r.id);
        r.sourceId = idValue(o.value(QStringLiteral("source")));
        r.targetId = idValue(o.value(QStringLiteral("target")));
        if (r.sourceId.isEmpty())
            errors.add(label + QStringLiteral(": missing \"source\""));
        if (r.targetId.isEmpty())
            errors.add(label + QStringLiteral(": missing \"target\""));
        r.type = o.value(QStringLiteral("type")).toString().trimmed();
        if (!kgRelationTypes().contains(r.type))
            errors.add(label + QStringLiteral(": unknown type \"%1\" (expected one of %2)").arg(r.type, kgRelationTypes().join(QStringLiteral(", "))));
        const QJsonValue props = o.value(QStringLiteral("properties"));
        if (!props.isUndefined() && !props.isNull() && !props.isObject())
            errors.add(label + QStringLiteral(": \"properties\" must be an object"));
        r.properties = props.toObject();
        r.source = r.properties.value(QStringLiteral("source")).toString().trimmed();
        const QJsonValue weight = o.value(QStringLiteral("weight"));
        if (!weight.isUndefined() && !weight.isNull()) {
            if (!weight.isDouble() || !std::isfinite(weight.toDouble()) || weight.toDouble() < 0)
                errors.add(label + QStringLiteral(": \"weight\" must be a number >= 0"));
            else
                r.weight = weight.toDouble();
        }
        graph.relations.append(r);
    }
}

void parseAliases(const QJsonObject &root, KnowledgeGraph &graph, Errors &errors)
{
    QHash<QString, QString> byKey; // alias key -> entity id
    for (auto it = root.constBegin(); it != root.constEnd(); ++it) {
        const QString alias = it.key().trimmed();
        const QString key = kgAliasKey(alias);
        const QString entityId = idValue(it.value());
        if (key.isEmpty()) {
            errors.add(QStringLiteral("alias \"%1\": empty alias").arg(it.key()));
            continue;
        }
        if (entityId.isEmpty()) {
            errors.add(QStringLiteral("alias \"%1\": the value must be an entity id").arg(alias));
            continue;
        }
        const auto prev = byKey.constFind(key);
        if (prev != byKey.constEnd()) {
            if (*prev != entityId)
                errors.add(QStringLiteral("alias \"%1\": names both entity \"%2\" and entity \"%3\"").arg(alias, *prev, entityId));
            continue;
        }
        byKey.insert(key, entityId);
        graph.aliases.append({alias, entityId});
    }
}

bool storedEntity(SqlSession &s, const QString &id)
{
    return s.scalar(QStringLiteral("SELECT 1 FROM kg_entities WHERE id = ?"), {id}).has_value();
}

} // namespace

namespace KnowledgeImporter {

KnowledgeParseResult parse(const QByteArray &graphJson, const QByteArray &aliasJson)
{
    KnowledgeParseResult result;
    Errors errors(result.errors);
    const QJsonDocument graph = parseJson(graphJson, QStringLiteral("knowledge graph"), errors);
    if (graph.isObject()) {
        const QJsonObject root = graph.object();
        const QJsonValue entities = root.value(QStringLiteral("entities"));
        if (!entities.isArray())
            errors.add(QStringLiteral("knowledge graph: \"entities\" must be an array"));
        parseEntities(entities.toArray(), result.graph, errors);
        const QJsonValue relations = root.value(QStringLiteral("relations"));
        if (!relations.isUndefined() && !relations.isArray())
            errors.add(QStringLiteral("knowledge graph: \"relations\" must be an array"));
        parseRelations(relations.toArray(), result.graph, errors);
    }
    if (!aliasJson.isEmpty()) {
        const QJsonDocument aliases = parseJson(aliasJson, QStringLiteral("alias file"), errors);
        if (aliases.isObject())
            parseAliases(aliases.object(), result.graph, errors);
    }
    errors.finish();
    return result;
}

KnowledgeParseResult readFiles(const QString &graphPath, const QString &aliasPath)
{
    auto read = [](const QString &path, QByteArray *out) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return QStringLiteral("%1: cannot read: %2").arg(path, f.errorString());
        *out = f.readAll();
        return QString();
    };
    QByteArray graph;
    QByteArray aliases;
    KnowledgeParseResult failed;
    const QString graphError = read(graphPath, &graph);
    if (!graphError.isEmpty())
        failed.errors << graphError;
    if (!aliasPath.isEmpty()) {
        const QString aliasError = read(aliasPath, &aliases);
        if (!aliasError.isEmpty())
            failed.errors << aliasError;
        else if (aliases.trimmed().isEmpty())
            failed.errors << QStringLiteral("%1: empty alias file").arg(aliasPath);
    }
    if (!failed.ok())
        return failed;
    return parse(graph, aliases);
}

KnowledgeImportReport importGraph(SqlSession &s, const KnowledgeGraph &graph)
{
    KnowledgeImportReport report;
    Errors errors(report.errors);
    QSet<QString> defined;
    for (const KgEntity &e : graph.entities)
        defined.insert(e.id);
    // Relation ends and alias targets outside this graph must already be stored.
    auto known = [&](const QString &id) { return defined.contains(id) || storedEntity(s, id); };
    for (const KgRelation &r : graph.relations) {
        if (!r.sourceId.isEmpty() && !known(r.sourceId))
            errors.add(QStringLiteral("relation \"%1\": unknown source entity \"%2\"").arg(r.id, r.sourceId));
        if (!r.targetId.isEmpty() && !known(r.targetId))
            errors.add(QStringLiteral("relation \"%1\": unknown target entity \"%2\"").arg(r.id, r.targetId));
    }
    for (const KgAlias &a : graph.aliases) {
        if (!known(a.entityId))
            errors.add(QStringLiteral("alias \"%1\": unknown entity \"%2\"").arg(a.alias, a.entityId));
    }
    errors.finish();
    if (!report.ok())
        return report;

    for (const KgEntity &e : graph.entities) {
        s.exec(QStringLiteral("INSERT INTO kg_entities(id, name, type, summary, properties, source) VALUES (?, ?, ?, ?, ?, ?)"
                              " ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type, summary = excluded.summary,"
                              " properties = excluded.properties, source = excluded.source"),
               {e.id, e.name, e.type, text(e.summary), jsonText(e.properties), text(e.source)});
        ++report.entities;
    }
    for (const KgRelation &r : graph.relations) {
        s.exec(QStringLiteral("INSERT INTO kg_relations(id, source_id, target_id, type, properties, weight, source) VALUES (?, ?, ?, ?, ?, ?, ?)"
                              " ON CONFLICT(id) DO UPDATE SET source_id = excluded.source_id, target_id = excluded.target_id,"
                              " type = excluded.type, properties = excluded.properties, weight = excluded.weight, source = excluded.source"),
               {r.id, r.sourceId, r.targetId, r.type, jsonText(r.properties), r.weight, text(r.source)});
        ++report.relations;
    }
    for (const KgAlias &a : graph.aliases) {
        s.exec(QStringLiteral("INSERT INTO kg_aliases(alias_key, entity_id, alias) VALUES (?, ?, ?)"
                              " ON CONFLICT(alias_key) DO UPDATE SET entity_id = excluded.entity_id, alias = excluded.alias"),
               {kgAliasKey(a.alias), a.entityId, a.alias});
        ++report.aliases;
    }
    return report;
}

KnowledgeImportReport importFiles(SqlSession &s, const QString &graphPath, const QString &aliasPath)
{
    const KnowledgeParseResult parsed = readFiles(graphPath, aliasPath);
    if (!parsed.ok()) {
        KnowledgeImportReport report;
        report.errors = parsed.errors;
        return report;
    }
    return importGraph(s, parsed.graph);
}

QString metaValue(SqlSession &s, const QString &key)
{
    const auto v = s.scalar(QStringLiteral("SELECT value FROM kg_meta WHERE key = ?"), {key});
    return v ? v->toString() : QString();
}

void setMetaValue(SqlSession &s, const QString &key, const QString &value)
{
    s.exec(QStringLiteral("INSERT INTO kg_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
           {key, text(value)});
}

int entityCount(SqlSession &s)
{
    return s.scalar(QStringLiteral("SELECT COUNT(*) FROM kg_entities"))->toInt();
}

} // namespace KnowledgeImporter
} // namespace tianyi
