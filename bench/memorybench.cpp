// Memory retrieval benchmark: top-8 (cosine, weighted by importance and recency, de-duplicated) over
// 1k / 10k / 100k memories of 1024 dimensions held by one user's MemoryVectors (the contiguous float
// array MemoryIndex keeps per user). Target: < 20 ms for 100k on the project's 2-core machine.
//   tianyi-memorybench [--dims 1024] [--queries 20] [--sizes 1000,10000,100000] [--json]
// Prints one line per size: median and p95 milliseconds per query, and the bytes held (--json: one
// JSON object {"sizes":[{memories, dims, k, median_ms, p95_ms, mib}]} for bench/run.sh).

#include "memory/memoryvectors.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QElapsedTimer>
#include <QStringList>
#include <QTextStream>
#include <algorithm>
#include <random>
#include <vector>

using namespace tianyi;

namespace {
std::vector<float> randomVector(std::mt19937 &rng, int dims)
{
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(dims));
    for (float &x : v)
        x = normal(rng);
    return v;
}
} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    auto option = [&](const QString &name, const QString &fallback) {
        const qsizetype i = args.indexOf(name);
        return i >= 0 && i + 1 < args.size() ? args.at(i + 1) : fallback;
    };
    const int dims = option(QStringLiteral("--dims"), QStringLiteral("1024")).toInt();
    const int queries = option(QStringLiteral("--queries"), QStringLiteral("20")).toInt();
    const QStringList sizes = option(QStringLiteral("--sizes"), QStringLiteral("1000,10000,100000")).split(QLatin1Char(','));
    const bool json = args.contains(QStringLiteral("--json"));
    QJsonArray results;
    QTextStream out(stdout);
    std::mt19937 rng(42);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (const QString &sizeText : sizes) {
        const int n = sizeText.toInt();
        MemoryVectors vectors(dims);
        vectors.reserve(n);
        std::uniform_real_distribution<float> unit(0.0f, 1.0f);
        for (int i = 0; i < n; ++i) {
            const std::vector<float> v = randomVector(rng, dims);
            MemoryMeta meta{i + 1, unit(rng), now - qint64(unit(rng) * 90 * 86400000.0), 0, QStringLiteral("memory %1").arg(i)};
            vectors.upsert(meta, v.data(), dims);
        }
        MemorySearchOptions options;
        options.k = 8;
        options.minSimilarity = -1.0f; // every vector is a candidate: the worst case
        options.nowMs = now;
        std::vector<double> ms;
        int found = 0;
        for (int q = 0; q < queries + 2; ++q) {
            const std::vector<float> query = randomVector(rng, dims);
            QElapsedTimer t;
            t.start();
            const QVector<MemoryHit> hits = vectors.search(query.data(), dims, options);
            const double elapsed = double(t.nsecsElapsed()) / 1e6;
            found = int(hits.size());
            if (q >= 2) // two warm-up queries
                ms.push_back(elapsed);
        }
        std::sort(ms.begin(), ms.end());
        const double median = ms[ms.size() / 2];
        const double p95 = ms[std::min(ms.size() - 1, size_t(double(ms.size()) * 0.95))];
        const double mib = double(vectors.bytes()) / 1048576.0;
        if (json) {
            results.append(QJsonObject{{QStringLiteral("memories"), n}, {QStringLiteral("dims"), dims}, {QStringLiteral("k"), found},
                                       {QStringLiteral("median_ms"), median}, {QStringLiteral("p95_ms"), p95}, {QStringLiteral("mib"), mib}});
            continue;
        }
        out << QStringLiteral("memories=%1 dims=%2 top-%3: median %4 ms, p95 %5 ms, %6 MiB held\n")
                   .arg(n).arg(dims).arg(found).arg(median, 0, 'f', 2).arg(p95, 0, 'f', 2).arg(mib, 0, 'f', 1);
        out.flush();
    }
    if (json)
        out << QJsonDocument(QJsonObject{{QStringLiteral("queries"), queries}, {QStringLiteral("sizes"), results}}).toJson(QJsonDocument::Compact) << "\n";
    return 0;
}
