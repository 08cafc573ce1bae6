#include "knowledge/knowledgebase.h"

#include "storage/database.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>

namespace tianyi {

KnowledgeBase::KnowledgeBase(Database &db, QObject *parent)
    : QObject(parent)
    , m_db(db)
    , m_index(std::make_shared<const KnowledgeIndex>())
{
}

QString KnowledgeBase::bundledVersion()
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (const char *path : {kBundledGraph, kBundledAliases}) {
        QFile f(QString::fromLatin1(path));
        if (f.open(QIODevice::ReadOnly))
            hash.addData(f.readAll());
    }
    return QString::fromLatin1(hash.result().toHex().left(16));
}

KnowledgeImportReport KnowledgeBase::importBundledIfNeeded(SqlSession &s)
{
    const QString version = bundledVersion();
    const QString key = QString::fromLatin1(kBundledVersionKey);
    if (KnowledgeImporter::entityCount(s) > 0 && KnowledgeImporter::metaValue(s, key) == version)
        return {};
    KnowledgeImportReport report = KnowledgeImporter::importFiles(s, QString::fromLatin1(kBundledGraph), QString::fromLatin1(kBundledAliases));
    if (report.ok())
        KnowledgeImporter::setMetaValue(s, key, version);
    return report;
}

void KnowledgeBase::start()
{
    struct Loaded {
        KnowledgeImportReport report;
        std::shared_ptr<const KnowledgeIndex> index;
        qint64 buildMs = 0;
    };
    m_db.write<Loaded>(
        this,
        [this](SqlSession &s) {
            Loaded loaded;
            loaded.report = importBundledIfNeeded(s);
            QElapsedTimer clock;
            clock.start();
            loaded.index = std::make_shared<const KnowledgeIndex>(KnowledgeIndex::load(s));
            loaded.buildMs = clock.elapsed();
            // Set here, on the storage thread, so the storage jobs queued after this one see it.
            setIndex(loaded.index);
            return loaded;
        },
        [this](DbResult<Loaded> result) {
            if (!result.ok()) {
                qCWarning(lcKnowledge) << "knowledge graph not loaded:" << result.error;
                return;
            }
            for (const QString &e : result.value->report.errors)
                qCWarning(lcKnowledge).noquote() << "bundled knowledge graph:" << e;
            if (result.value->report.entities > 0)
                qCInfo(lcKnowledge) << "imported the bundled knowledge graph:" << result.value->report.entities << "entities,"
                                    << result.value->report.relations << "relations," << result.value->report.aliases << "aliases";
            qCInfo(lcKnowledge) << "knowledge index:" << result.value->index->aliasCount() << "aliases, built in"
                                << result.value->buildMs << "ms";
            emit ready();
        });
}

void KnowledgeBase::importFiles(const QString &graphPath, const QString &aliasPath, std::function<void(KnowledgeImportReport)> done)
{
    m_db.write<KnowledgeImportReport>(
        this,
        [this, graphPath, aliasPath](SqlSession &s) {
            KnowledgeImportReport report = KnowledgeImporter::importFiles(s, graphPath, aliasPath);
            if (report.ok())
                setIndex(std::make_shared<const KnowledgeIndex>(KnowledgeIndex::load(s)));
            return report;
        },
        [this, done = std::move(done)](DbResult<KnowledgeImportReport> result) {
            KnowledgeImportReport report;
            if (result.ok())
                report = *result.value;
            else
                report.errors << result.error;
            if (report.ok())
                emit reloaded();
            if (done)
                done(report);
        });
}

std::shared_ptr<const KnowledgeIndex> KnowledgeBase::index() const
{
    QMutexLocker lock(&m_mutex);
    return m_index;
}

bool KnowledgeBase::isReady() const
{
    QMutexLocker lock(&m_mutex);
    return m_ready;
}

void KnowledgeBase::setIndex(std::shared_ptr<const KnowledgeIndex> index)
{
    QMutexLocker lock(&m_mutex);
    m_index = std::move(index);
    m_ready = true;
}

} // namespace tianyi
