#pragma once
// Text embeddings: the OpenAI-compatible /embeddings client or the built-in hashing embedder.

#include "upstream/upstreamerror.h"

#include <QObject>
#include <QStringList>
#include <QVector>

namespace tianyi {

using Embedding = QVector<float>;

// Emits exactly one of finished (one vector per input, in input order) or failed; nothing after cancel().
class EmbeddingJob : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~EmbeddingJob() override = default;
    virtual void cancel() = 0;

signals:
    void finished(const QVector<tianyi::Embedding> &vectors);
    void failed(const tianyi::UpstreamError &error);
};

class Embedder
{
public:
    virtual ~Embedder() = default;
    virtual QString name() const = 0;   // model name, stored beside each vector
    virtual bool isBuiltIn() const = 0;
    virtual int dimensions() const = 0;
    virtual EmbeddingJob *embed(const QStringList &texts, QObject *parent) = 0;
};

} // namespace tianyi
