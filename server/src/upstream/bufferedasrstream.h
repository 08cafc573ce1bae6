#pragma once
// The AsrStream of a batch backend: keeps the utterance's PCM (bounded) and transcribes it in one
// request at finish(). No partial transcripts.

#include "upstream/asr.h"

#include <QPointer>

namespace tianyi {

class BufferedAsrStream : public AsrStream
{
    Q_OBJECT
public:
    BufferedAsrStream(AsrProvider &provider, int sampleRate, const QString &correlationId, QObject *parent);

    void feed(const QByteArray &pcm) override;
    void finish() override;
    void cancel() override;

private:
    void fail(const UpstreamError &error);

    AsrProvider &m_provider;
    int m_sampleRate;
    QString m_correlationId;
    QByteArray m_pcm;
    bool m_done = false;          // finished, failed or cancelled: further calls do nothing
    QPointer<AsrJob> m_job;
};

} // namespace tianyi
