#pragma once
// Speech to text. Two shapes of recognition:
// - AsrJob: one finished recording (push-to-talk) in one request;
// - AsrStream: one utterance fed while it is spoken (hands-free listening). A streaming backend
//   (FunASR) recognizes as the audio arrives and reports partial transcripts; a batch backend
//   (OpenAI-compatible) gets the default stream, which keeps the PCM and makes one request at finish().

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

// One utterance. Signals come in this order: any number of partialTranscript, then exactly one of
// finalTranscript / failed (never both, never after cancel()).
class AsrStream : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~AsrStream() override = default;

    // PCM s16le mono at the rate the stream was opened with, in order, any chunking. The stream
    // bounds what it buffers (a backend that is slow to connect must not grow it without end).
    virtual void feed(const QByteArray &pcm) = 0;
    // The utterance ended: the final transcript follows (within asr.timeout_ms, else failed Timeout).
    virtual void finish() = 0;
    // No signal after this; the backend connection is released.
    virtual void cancel() = 0;

signals:
    // The whole partial text so far (a client that receives pieces joins them before emitting).
    void partialTranscript(const QString &text);
    // The final text of the utterance; empty when the backend heard no words.
    void finalTranscript(const QString &text);
    void failed(const tianyi::UpstreamError &error);
};

class AsrProvider
{
public:
    virtual ~AsrProvider() = default;
    virtual QString name() const = 0;
    // pcm: s16le mono at sampleRate; the client wraps it in a WAV file.
    virtual AsrJob *transcribe(const QByteArray &pcm, int sampleRate, const QString &correlationId, QObject *parent) = 0;
    // A stream for one utterance. The default keeps the fed PCM (up to maxBufferedBytes; beyond it
    // the stream fails BadRequest) and calls transcribe() at finish().
    virtual AsrStream *openStream(int sampleRate, const QString &correlationId, QObject *parent);
    // True when openStream() reports partial transcripts while the user speaks.
    virtual bool streamsPartials() const { return false; }

    // What the default stream keeps at most: 10 minutes of 16 kHz audio.
    static constexpr qsizetype kMaxBufferedBytes = qsizetype(16000) * 2 * 600;
};

} // namespace tianyi
