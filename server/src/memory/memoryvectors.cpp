#include "memory/memoryvectors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

namespace tianyi {

namespace {
// Candidates kept for de-duplication: this many times k are ranked fully.
constexpr int kCandidateFactor = 4;
constexpr double kMsPerDay = 86400000.0;
// Large sets are scanned by two threads: the scan is bound by memory bandwidth, which one core
// does not saturate. Below this many floats, a thread costs more than it saves.
constexpr size_t kParallelFloats = size_t(4) << 20;
constexpr int kScanThreads = 2;

#if defined(__GNUC__) || defined(__clang__)
typedef float Float4 __attribute__((vector_size(16)));
inline Float4 load4(const float *p)
{
    Float4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
#endif
} // namespace

size_t MemoryVectors::bytes() const
{
    size_t total = m_data.capacity() * sizeof(float) + m_meta.capacity() * sizeof(MemoryMeta) + size_t(m_rows.size()) * 2 * sizeof(qint64);
    for (const MemoryMeta &m : m_meta)
        total += size_t(m.text.size()) * sizeof(QChar);
    return total;
}

void MemoryVectors::reserve(int n)
{
    m_data.reserve(size_t(n) * size_t(m_dims));
    m_meta.reserve(size_t(n));
    m_rows.reserve(n);
}

float MemoryVectors::dot(const float *a, const float *b, int n)
{
    int i = 0;
#if defined(__GNUC__) || defined(__clang__)
    // Four independent 4-lane accumulators: the loads pipeline and no reassociation is needed.
    Float4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
    for (; i + 16 <= n; i += 16) {
        s0 += load4(a + i) * load4(b + i);
        s1 += load4(a + i + 4) * load4(b + i + 4);
        s2 += load4(a + i + 8) * load4(b + i + 8);
        s3 += load4(a + i + 12) * load4(b + i + 12);
    }
    const Float4 s = (s0 + s1) + (s2 + s3);
    float total = (s[0] + s[1]) + (s[2] + s[3]);
#else
    float total = 0;
#endif
    for (; i < n; ++i)
        total += a[i] * b[i];
    return total;
}

bool MemoryVectors::normalize(float *v, int n)
{
    const float norm = std::sqrt(dot(v, v, n));
    if (!(norm > 0) || !std::isfinite(norm))
        return false;
    for (int i = 0; i < n; ++i)
        v[i] /= norm;
    return true;
}

int MemoryVectors::indexOf(qint64 id) const
{
    return m_rows.value(id, -1);
}

bool MemoryVectors::upsert(const MemoryMeta &meta, const float *vector, int size)
{
    if (size != m_dims || m_dims <= 0)
        return false;
    std::vector<float> v(vector, vector + size);
    if (!normalize(v.data(), size))
        return false;
    const int existing = indexOf(meta.id);
    if (existing >= 0) {
        std::copy(v.begin(), v.end(), m_data.begin() + std::ptrdiff_t(existing) * m_dims);
        m_meta[size_t(existing)] = meta;
        return true;
    }
    m_data.insert(m_data.end(), v.begin(), v.end());
    m_rows.insert(meta.id, int(m_meta.size()));
    m_meta.push_back(meta);
    return true;
}

bool MemoryVectors::remove(qint64 id)
{
    const int at = indexOf(id);
    if (at < 0)
        return false;
    const int last = size() - 1;
    if (at != last) {
        std::copy(row(last), row(last) + m_dims, m_data.begin() + std::ptrdiff_t(at) * m_dims);
        m_meta[size_t(at)] = std::move(m_meta[size_t(last)]);
        m_rows.insert(m_meta[size_t(at)].id, at);
    }
    m_rows.remove(id);
    m_data.resize(size_t(last) * size_t(m_dims));
    m_meta.pop_back();
    return true;
}

void MemoryVectors::setLastUsed(qint64 id, qint64 atMs)
{
    const int at = indexOf(id);
    if (at >= 0)
        m_meta[size_t(at)].lastUsedAtMs = atMs;
}

std::optional<std::pair<qint64, float>> MemoryVectors::nearest(const float *query, int size) const
{
    if (size != m_dims || m_meta.empty())
        return std::nullopt;
    std::vector<float> q(query, query + size);
    if (!normalize(q.data(), size))
        return std::nullopt;
    int best = -1;
    float bestSim = -2;
    for (int i = 0; i < this->size(); ++i) {
        const float sim = dot(q.data(), row(i), m_dims);
        if (sim > bestSim) {
            bestSim = sim;
            best = i;
        }
    }
    return std::make_pair(m_meta[size_t(best)].id, bestSim);
}

QVector<MemoryHit> MemoryVectors::search(const float *query, int size, const MemorySearchOptions &options) const
{
    QVector<MemoryHit> out;
    if (size != m_dims || m_meta.empty() || options.k <= 0)
        return out;
    std::vector<float> q(query, query + size);
    if (!normalize(q.data(), size))
        return out;
    struct Candidate {
        float score;
        float similarity;
        int row;
    };
    std::vector<Candidate> candidates;
    const double halfLifeMs = options.recencyHalfLifeDays * kMsPerDay;
    const int n = this->size();
    std::vector<float> sims(size_t(n), 0.0f);
    auto scan = [&](int from, int to) {
        for (int i = from; i < to; ++i)
            sims[size_t(i)] = dot(q.data(), row(i), m_dims);
    };
    if (m_data.size() >= kParallelFloats && std::thread::hardware_concurrency() > 1) {
        const int half = n / kScanThreads;
        std::thread helper(scan, half, n);
        scan(0, half);
        helper.join();
    } else {
        scan(0, n);
    }
    for (int i = 0; i < n; ++i) {
        const float sim = sims[size_t(i)];
        if (sim < options.minSimilarity)
            continue;
        const MemoryMeta &m = m_meta[size_t(i)];
        float score = sim + options.importanceWeight * std::clamp(m.importance, 0.0f, 1.0f);
        if (options.nowMs > 0 && halfLifeMs > 0) {
            const qint64 last = std::max(m.createdAtMs, m.lastUsedAtMs);
            const double ageMs = std::max<double>(0.0, double(options.nowMs - last));
            score += options.recencyWeight * float(std::exp2(-ageMs / halfLifeMs));
        }
        candidates.push_back({score, sim, i});
    }
    auto better = [](const Candidate &a, const Candidate &b) { return a.score > b.score || (a.score == b.score && a.row < b.row); };
    const size_t keep = std::min(candidates.size(), size_t(options.k) * kCandidateFactor);
    std::partial_sort(candidates.begin(), candidates.begin() + std::ptrdiff_t(keep), candidates.end(), better);
    std::vector<int> chosen;
    for (size_t c = 0; c < keep && int(chosen.size()) < options.k; ++c) {
        const Candidate &cand = candidates[c];
        const MemoryMeta &m = m_meta[size_t(cand.row)];
        const QString text = m.text.simplified();
        bool duplicate = false;
        for (int other : chosen) {
            if (m_meta[size_t(other)].text.simplified().compare(text, Qt::CaseInsensitive) == 0
                || dot(row(other), row(cand.row), m_dims) >= options.duplicateSimilarity) {
                duplicate = true;
                break;
            }
        }
        if (duplicate)
            continue;
        chosen.push_back(cand.row);
        out.append(MemoryHit{m.id, m.text, cand.similarity, cand.score});
    }
    return out;
}

} // namespace tianyi
