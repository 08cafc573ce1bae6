#include "upstream/bufferedasrstream.h"

namespace tianyi {

AsrStream *AsrProvider::openStream(int sampleRate, const QString &correlationId, QObject *parent)
{
    return new BufferedAsrStream(*this, sampleRate, correlationId, parent);
}

BufferedAsrStream::BufferedAsrStream(AsrProvider &provider, int sampleRate, const QString &correlationId, QObject *parent)
    : AsrStream(parent)
    , m_provider(provider)
    , m_sampleRate(sampleRate)
    , m_correlationId(correlationId)
{
}

void BufferedAsrStream::feed(const QByteArray &pcm)
{
    if (m_done || m_job)
        return;
    if (m_pcm.size() + pcm.size() > AsrProvider::kMaxBufferedBytes) {
        fail({UpstreamErrorKind::BadRequest, QStringLiteral("the utterance is longer than a transcription request may be"), 0, -1});
        return;
    }
    m_pcm += pcm;
}

void BufferedAsrStream::finish()
{
    if (m_done || m_job)
        return;
    m_job = m_provider.transcribe(m_pcm, m_sampleRate, m_correlationId, this);
    m_pcm.clear();
    m_pcm.squeeze();
    connect(m_job, &AsrJob::finished, this, [this](const QString &text) {
        m_done = true;
        emit finalTranscript(text);
    });
    connect(m_job, &AsrJob::failed, this, [this](const UpstreamError &error) { fail(error); });
}

void BufferedAsrStream::cancel()
{
    m_done = true;
    if (m_job)
        m_job->cancel();
    m_pcm.clear();
}

void BufferedAsrStream::fail(const UpstreamError &error)
{
    if (m_done)
        return;
    m_done = true;
    m_pcm.clear();
    emit failed(error);
}

} // namespace tianyi
