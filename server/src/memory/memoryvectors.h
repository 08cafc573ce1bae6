#pragma once
// The vectors of one user's memories in one contiguous, row-major float array (L2-normalized, so
// cosine similarity is a dot product), with the metadata retrieval weighs. Pure and single-threaded:
// MemoryIndex owns one per loaded user; bench/memorybench.cpp measures it alone.

#include <QHash>
#include <QString>
#include <QVector>
#include <optional>
#include <vector>

namespace tianyi {

struct MemoryMeta {
    qint64 id = 0;
    float importance = 0.5f;   // 0..1
    qint64 createdAtMs = 0;
    qint64 lastUsedAtMs = 0;
    QString text;
};

struct MemoryHit {
    qint64 id = 0;
    QString text;
    float similarity = 0;  // cosine with the query
    float score = 0;       // similarity weighted by importance and recency (the ranking)
};

struct MemorySearchOptions {
    static constexpr float kDefaultMinSimilarity = 0.08f;   // below: unrelated (the built-in lexical embedder gives exactly 0 for no shared feature)
    static constexpr float kDefaultImportanceWeight = 0.15f;
    static constexpr float kDefaultRecencyWeight = 0.10f;
    static constexpr double kDefaultRecencyHalfLifeDays = 30.0;
    static constexpr float kDefaultDuplicateSimilarity = 0.95f; // hits this close to a better one are left out

    int k = 8;
    float minSimilarity = kDefaultMinSimilarity;
    float importanceWeight = kDefaultImportanceWeight;
    float recencyWeight = kDefaultRecencyWeight;
    double recencyHalfLifeDays = kDefaultRecencyHalfLifeDays;
    float duplicateSimilarity = kDefaultDuplicateSimilarity;
    qint64 nowMs = 0;   // recency reference; 0 = no recency weight
};

class MemoryVectors
{
public:
    explicit MemoryVectors(int dimensions) : m_dims(dimensions) {}

    int dimensions() const { return m_dims; }
    int size() const { return int(m_meta.size()); }
    size_t bytes() const;
    const MemoryMeta &meta(int row) const { return m_meta[size_t(row)]; }
    const float *row(int row) const { return m_data.data() + size_t(row) * size_t(m_dims); }
    void reserve(int n);

    // Adds or replaces (same id) a vector of dimensions() floats; it is normalized on the way in.
    // Returns false (nothing stored) for a wrong size or a zero vector.
    bool upsert(const MemoryMeta &meta, const float *vector, int size);
    bool remove(qint64 id);
    void setLastUsed(qint64 id, qint64 atMs);

    // The most similar stored vector to `query` (normalized by the caller or not): (id, cosine).
    std::optional<std::pair<qint64, float>> nearest(const float *query, int size) const;
    // Top-k by weighted score among vectors with cosine >= minSimilarity, near-duplicates removed.
    QVector<MemoryHit> search(const float *query, int size, const MemorySearchOptions &options) const;

    static float dot(const float *a, const float *b, int n);
    // In place; returns false for a zero vector.
    static bool normalize(float *v, int n);

private:
    int indexOf(qint64 id) const;

    int m_dims;
    std::vector<float> m_data;
    std::vector<MemoryMeta> m_meta;
    QHash<qint64, int> m_rows; // id -> row
};

} // namespace tianyi
