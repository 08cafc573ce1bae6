#pragma once
// One POST {base}/tts to a GPT-SoVITS api_v2 server (see shared/spec/upstreams.md).
//
// Streaming mode: the reply is chunked; it starts with a 44-byte WAV header whose sizes are wrong
// (data size 0), the sample rate is taken from it, then raw s16le mono PCM follows until EOF. PCM is
// handed on as it arrives, always a whole number of samples (an odd byte waits for its partner).
// Whole-file mode: the reply is a complete WAV, parsed at the end.
//
// Failures: HTTP errors are classified (400 {"message"[,"Exception"]}, 422 {"detail"}, plain-text 500);
// a stream cut after the 200 is Network; no complete answer within timeoutMs is Timeout.
// The known quirk: GPT-SoVITS answers a failed inference with 200 and one second of silence at
// 16 kHz. Audio whose samples all stay within wav::kSilenceThreshold is therefore a failure
// (Malformed, "silent audio"), logged as a warning. To make that decision before anything was
// played, leading silent PCM is held back until the first audible sample arrives.
//
// Signals: format once (just before the first pcm), pcm..., then exactly one of finished/failed.
// Nothing is emitted after abort() or once the object is being destroyed.

#include "upstream/tts.h"

#include <QElapsedTimer>
#include <QList>
#include <QNetworkReply>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QTimer>
#include <QUrl>

class QNetworkAccessManager;

namespace tianyi {

class GptSovitsRequest : public QObject
{
    Q_OBJECT
public:
    struct Options {
        bool streaming = true;
        int timeoutMs = 30000;
        QList<QPair<QByteArray, QByteArray>> extraHeaders; // tests (fake knobs)
    };

    GptSovitsRequest(QNetworkAccessManager *nam, const QUrl &baseUrl, const TtsRequest &request, const Options &options,
                     QObject *parent = nullptr);
    ~GptSovitsRequest() override;

    void start();
    // Aborts the HTTP request at once (the server sees the connection close); emits nothing more.
    void abort();

    bool audioDelivered() const { return m_formatSent; }
    // After failed(): true when the failure says something about this backend (transport, 5xx,
    // timeout, silent audio, an inference failure "tts failed"), false when the request itself was
    // refused (400 parameter checks, 422 validation): another backend would refuse it too.
    bool backendFault() const { return m_backendFault; }
    qint64 firstAudioMs() const { return m_firstAudioMs; }
    QUrl url() const { return m_url; }

    // The JSON body sent to /tts.
    static QByteArray body(const TtsRequest &request, bool streaming);

signals:
    void format(int sampleRate, int channels);
    void pcm(const QByteArray &samples);
    void finished();
    void failed(const tianyi::UpstreamError &error);

private:
    void onReadyRead();
    void onFinished();
    void onTimeout();
    bool consumeStreaming(const QByteArray &bytes);   // false when it failed
    bool deliver(const QByteArray &alignedPcm);       // false when this object went away
    void fail(const UpstreamError &error, bool backendFault);
    void detachReply();
    QString service() const;

    QNetworkAccessManager *m_nam;
    QUrl m_url;
    TtsRequest m_request;
    Options m_options;
    QPointer<QNetworkReply> m_reply;
    QTimer m_timer;
    QElapsedTimer m_clock;

    int m_status = 0;
    bool m_done = false;
    bool m_backendFault = true;
    bool m_formatSent = false;
    qint64 m_firstAudioMs = -1;

    // streaming state
    QByteArray m_headerBuf;   // bytes before the header was parsed (or the error body)
    bool m_headerParsed = false;
    int m_sampleRate = 0;
    int m_channels = 0;
    qint64 m_dataRemaining = -1; // -1: until EOF
    QByteArray m_odd;         // a byte waiting for its partner
    QByteArray m_held;        // leading silent PCM not yet delivered
    qint64 m_pcmBytes = 0;
};

} // namespace tianyi
