#pragma once
// The OpenAI-compatible embeddings client: POST {embedding.base_url}/embeddings
// {model, input:[...], encoding_format:"float"}. Splits the texts into embedding.batch_size batches
// (a few in flight per job), reassembles the vectors in input order by each item's `index`, and
// checks every vector has embedding.dimensions values. Empty texts are refused before sending
// (the APIs reject them). Failures are retried with the SDK policy (retrypolicy.h).

#include "base/config.h"
#include "upstream/embedder.h"
#include "upstream/retrypolicy.h"

#include <QObject>
#include <QUrl>

namespace tianyi {

class Metrics;
class RequestScheduler;
class OpenAiEmbeddingJob;

class OpenAiEmbedder : public QObject, public Embedder
{
    Q_OBJECT
public:
    static constexpr int kMaxConcurrent = 6;          // requests in flight, all jobs together
    static constexpr int kBatchesInFlightPerJob = 3;
    static constexpr int kMaxWaiting = 4096;

    OpenAiEmbedder(const EmbeddingSettings &settings, Metrics &metrics, QObject *parent = nullptr);
    ~OpenAiEmbedder() override;

    QString name() const override { return m_settings.model; }
    bool isBuiltIn() const override { return false; }
    int dimensions() const override { return m_settings.dimensions; }
    EmbeddingJob *embed(const QStringList &texts, QObject *parent) override;

    const EmbeddingSettings &settings() const { return m_settings; }
    QUrl endpoint() const { return m_endpoint; }
    RetryPolicy retryPolicy() const { return m_retryPolicy; }
    void setRetryPolicy(const RetryPolicy &policy) { m_retryPolicy = policy; }

private:
    friend class OpenAiEmbeddingJob;
    EmbeddingSettings m_settings;
    Metrics &m_metrics;
    QUrl m_endpoint;
    RetryPolicy m_retryPolicy;
    RequestScheduler *m_scheduler;
};

} // namespace tianyi
