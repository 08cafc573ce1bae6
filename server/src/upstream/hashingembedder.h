#pragma once
// The built-in lexical embedder ("builtin-hashing-v1"), used when embedding.base_url is empty.
// Not a semantic model: it makes texts that share characters and words close, which is enough for
// memory retrieval on a machine with no network, and it is labelled as such everywhere.
//
// Features (after NFKC normalization and case folding):
//   - runs of CJK characters (Han, kana, Hangul): every character (weight 1) and every pair of
//     neighbouring characters (weight 1.5);
//   - runs of other letters/digits (Latin words): the word (weight 1) and, for words of 4+
//     characters, its character trigrams with boundary marks (weight 0.5 each).
// Each feature is hashed (64-bit FNV-1a of its UTF-8 with a kind prefix) into one of `dimensions`
// buckets with a sign taken from another hash bit; the vector is then L2-normalized. A text with
// no features (empty, punctuation only) gives the zero vector. Deterministic across runs and
// machines. Batches of up to kInlineMaxChars characters in total are computed inline (a few
// microseconds) and delivered from the event loop; bigger ones run on the WorkerPool.

#include "upstream/embedder.h"

#include <QObject>

namespace tianyi {

class WorkerPool;

class HashingEmbedder : public QObject, public Embedder
{
    Q_OBJECT
public:
    static constexpr int kInlineMaxChars = 8192;

    HashingEmbedder(int dimensions, WorkerPool *workers, QObject *parent = nullptr);

    QString name() const override { return QStringLiteral("builtin-hashing-v1"); }
    bool isBuiltIn() const override { return true; }
    int dimensions() const override { return m_dimensions; }
    EmbeddingJob *embed(const QStringList &texts, QObject *parent) override;

    // The vector of one text (thread-safe, pure).
    static Embedding embedText(const QString &text, int dimensions);

private:
    int m_dimensions;
    WorkerPool *m_workers;
};

} // namespace tianyi
