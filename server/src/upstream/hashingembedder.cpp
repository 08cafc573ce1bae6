#include "upstream/hashingembedder.h"

#include "core/workerpool.h"

#include <QPointer>
#include <cmath>

namespace tianyi {

namespace {

bool isCjk(char32_t u)
{
    return (u >= 0x3400 && u <= 0x4DBF) || (u >= 0x4E00 && u <= 0x9FFF) || (u >= 0xF900 && u <= 0xFAFF) || (u >= 0x20000 && u <= 0x2FA1F)
           || (u >= 0x3040 && u <= 0x30FF) || (u >= 0xAC00 && u <= 0xD7AF);
}

quint64 fnv1a(char kind, const QByteArray &bytes)
{
    quint64 h = 14695981039346656037ULL;
    auto mix = [&h](unsigned char c) {
        h ^= c;
        h *= 1099511628211ULL;
    };
    mix(static_cast<unsigned char>(kind));
    mix(':');
    for (const char c : bytes)
        mix(static_cast<unsigned char>(c));
    return h;
}

void add(QVector<float> &v, char kind, const QString &feature, float weight)
{
    const quint64 h = fnv1a(kind, feature.toUtf8());
    const int index = int(h % quint64(v.size()));
    const float sign = (h >> 63) ? -1.f : 1.f;
    v[index] += sign * weight;
}

class HashingJob : public EmbeddingJob
{
public:
    using EmbeddingJob::EmbeddingJob;
    void cancel() override { m_cancelled = true; }
    void deliver(const QVector<Embedding> &vectors)
    {
        if (!m_cancelled)
            emit finished(vectors);
    }
    void fail(const UpstreamError &e)
    {
        if (!m_cancelled)
            emit failed(e);
    }

private:
    bool m_cancelled = false;
};

QVector<Embedding> embedAll(const QStringList &texts, int dimensions)
{
    QVector<Embedding> out;
    out.reserve(texts.size());
    for (const QString &t : texts)
        out.append(HashingEmbedder::embedText(t, dimensions));
    return out;
}

} // namespace

HashingEmbedder::HashingEmbedder(int dimensions, WorkerPool *workers, QObject *parent)
    : QObject(parent)
    , m_dimensions(qMax(1, dimensions))
    , m_workers(workers)
{
}

Embedding HashingEmbedder::embedText(const QString &text, int dimensions)
{
    Embedding v(qMax(1, dimensions), 0.f);
    const QList<uint> cps = text.normalized(QString::NormalizationForm_KC).toCaseFolded().toUcs4();
    qsizetype i = 0;
    const qsizetype n = cps.size();
    while (i < n) {
        const char32_t c = cps[i];
        if (isCjk(c)) {
            qsizetype j = i;
            while (j < n && isCjk(cps[j]))
                ++j;
            for (qsizetype k = i; k < j; ++k) {
                const QString uni = QString::fromUcs4(reinterpret_cast<const char32_t *>(&cps[k]), 1);
                add(v, 'u', uni, 1.0f);
                if (k + 1 < j)
                    add(v, 'b', uni + QString::fromUcs4(reinterpret_cast<const char32_t *>(&cps[k + 1]), 1), 1.5f);
            }
            i = j;
            continue;
        }
        if (QChar::isLetterOrNumber(c)) {
            qsizetype j = i;
            while (j < n && QChar::isLetterOrNumber(cps[j]) && !isCjk(cps[j]))
                ++j;
            const QString word = QString::fromUcs4(reinterpret_cast<const char32_t *>(cps.constData() + i), j - i);
            add(v, 'w', word, 1.0f);
            if (word.size() >= 4) {
                const QString padded = QLatin1Char('^') + word + QLatin1Char('$');
                for (qsizetype k = 0; k + 3 <= padded.size(); ++k)
                    add(v, 't', padded.mid(k, 3), 0.5f);
            }
            i = j;
            continue;
        }
        ++i;
    }
    double norm = 0;
    for (const float x : v)
        norm += double(x) * x;
    if (norm > 0) {
        const float inv = float(1.0 / std::sqrt(norm));
        for (float &x : v)
            x *= inv;
    }
    return v;
}

EmbeddingJob *HashingEmbedder::embed(const QStringList &texts, QObject *parent)
{
    auto *job = new HashingJob(parent);
    qsizetype chars = 0;
    for (const QString &t : texts)
        chars += t.size();
    const int dims = m_dimensions;
    if (chars <= kInlineMaxChars || !m_workers) {
        // Cheap: compute now, deliver from the event loop (never inside embed()).
        const QVector<Embedding> vectors = embedAll(texts, dims);
        QMetaObject::invokeMethod(job, [job, vectors] { job->deliver(vectors); }, Qt::QueuedConnection);
        return job;
    }
    QPointer<HashingJob> guard(job);
    const bool queued = m_workers->run<QVector<Embedding>>(
        job, [texts, dims] { return embedAll(texts, dims); },
        [guard](QVector<Embedding> vectors) {
            if (guard)
                guard->deliver(vectors);
        });
    if (!queued) {
        QMetaObject::invokeMethod(job, [job] {
            job->fail({UpstreamErrorKind::Unavailable, QStringLiteral("the worker pool is busy"), 0});
        }, Qt::QueuedConnection);
    }
    return job;
}

} // namespace tianyi
