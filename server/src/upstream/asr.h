#pragma once
// Speech to text: the OpenAI-compatible /audio/transcriptions client.

#include "upstream/upstreamerror.h"

#include <QByteArray>
#include <QObject>

namespace tianyi {

class AsrJob : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~AsrJob() override = default;
    virtual void cancel() = 0;

signals:
    void finished(const QString &text);
    void failed(const tianyi::UpstreamError &error);
};

class AsrProvider
{
public:
    virtual ~AsrProvider() = default;
    virtual QString name() const = 0;
    // pcm: s16le mono at sampleRate; the client wraps it in a WAV file.
    virtual AsrJob *transcribe(const QByteArray &pcm, int sampleRate, const QString &correlationId, QObject *parent) = 0;
};

} // namespace tianyi
