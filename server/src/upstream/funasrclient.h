#pragma once
// AsrProvider over FunASR's streaming WebSocket server (the C++ runtime funasr-wss-server-2pass, or
// the Python demo funasr_wss_server.py), mode "2pass": partial transcripts while the user speaks,
// a corrected transcript at the end. One WebSocket connection per utterance, opened at once:
//   -> text  {"mode":"2pass","chunk_size":[5,10,5],"chunk_interval":10,"encoder_chunk_look_back":4,
//             "decoder_chunk_look_back":0,"wav_name":"tianyi","wav_format":"pcm","audio_fs":RATE,
//             "is_speaking":true,"itn":true}
//   -> binary s16le mono PCM in 60 ms messages (600 ms / chunk_interval: the Python server decodes
//             every chunk_interval messages, so the size of a message matters)
//   -> text  {"is_speaking":false} when the utterance ended
//   <- text  {"mode":"2pass-online"|"2pass-offline", "text", "is_final", "wav_name", [timestamp, stamp_sents]}
// How pieces add up and when the utterance is complete: FunAsrTranscript. Wire facts and their
// sources: docs/asr.md.
// Failures: Network (refused, reset, TLS), Timeout (not connected, or no final transcript, within
// asr.timeout_ms), Malformed (not JSON, a message over kMaxMessageBytes, a transcript over
// FunAsrTranscript::kMaxChars), Server (FunASR closed the connection before the final transcript),
// BadRequest (more audio than a stream buffers). wss:// trusts the system's CAs plus asr.ca_file, and
// accepts a self-signed certificate only when asr.ca_file lists exactly that certificate.

#include "base/config.h"
#include "upstream/asr.h"
#include "upstream/funasrtranscript.h"

#include <QList>
#include <QObject>
#include <QSslCertificate>
#include <QSslError>
#include <QTimer>
#include <QUrl>

class QWebSocket;

namespace tianyi {

struct FunAsrEndpoint {
    QUrl url;
    int timeoutMs = 30000;
    QList<QSslCertificate> trusted;  // asr.ca_file
};

class FunAsrStream : public AsrStream
{
    Q_OBJECT
public:
    // The largest message accepted from FunASR (a transcript with timestamps is a few KiB).
    static constexpr qint64 kMaxMessageBytes = 256 * 1024;
    // Audio held while connecting, and queued on the socket while FunASR does not read.
    static constexpr int kMaxUnsentSeconds = 60;
    // One audio message: 60 ms (chunk_size[1] * 60 ms / chunk_interval).
    static constexpr int kChunkMs = 60;
    // After a result that may be the last (FunAsrTranscript::Outcome::MaybeComplete), how long no
    // further message must come before it is taken as the final transcript.
    static constexpr int kSettleMs = 1000;
    // How long a close handshake may take before the connection is dropped.
    static constexpr int kCloseGraceMs = 1000;

    // maxUnsentBytes: 0 = kMaxUnsentSeconds of audio; transcribe() passes the size of a recording it
    // already holds (bounded by chat.max_audio_input_seconds).
    FunAsrStream(const FunAsrEndpoint &endpoint, int sampleRate, const QString &correlationId, QObject *parent,
                 qsizetype maxUnsentBytes = 0);
    ~FunAsrStream() override;

    void feed(const QByteArray &pcm) override;
    void finish() override;
    void cancel() override;

    // The first text frame sent on connecting (exposed for tests).
    static QByteArray configFrame(int sampleRate);

private:
    void onConnected();
    void onTextMessage(const QString &message);
    void onDisconnected();
    void onSslErrors(const QList<QSslError> &errors);
    void onTimeout();
    void complete();
    void emitPartial();
    void sendAudio(bool all);
    void sendEnd();
    void fail(const UpstreamError &error);
    void release();
    QString where() const;

    FunAsrEndpoint m_endpoint;
    int m_sampleRate;
    QString m_correlationId;
    qsizetype m_chunkBytes;
    qsizetype m_maxUnsentBytes;
    QWebSocket *m_socket = nullptr;
    QTimer m_timer;                 // connecting, then waiting for the final transcript
    QTimer m_settle;                // a possible final transcript becomes the final one
    QByteArray m_unsent;            // PCM not yet handed to the socket
    FunAsrTranscript m_transcript;
    QString m_lastPartial;
    bool m_connected = false;
    bool m_endRequested = false;    // finish() was called
    bool m_endSent = false;         // {"is_speaking":false} went out
    bool m_serverClosing = false;   // FunASR began a close handshake
    bool m_done = false;            // final, failed or cancelled: no further signal
    QString m_socketErrorText;
    QList<QSslError> m_sslErrors;
};

class FunAsrClient : public QObject, public AsrProvider
{
    Q_OBJECT
public:
    explicit FunAsrClient(const AsrSettings &settings, QObject *parent = nullptr);
    ~FunAsrClient() override;

    // Reads asr.ca_file; false with *error naming the key when it is unreadable or holds no certificate.
    bool initialize(QString *error);

    QString name() const override;
    AsrJob *transcribe(const QByteArray &pcm, int sampleRate, const QString &correlationId, QObject *parent) override;
    AsrStream *openStream(int sampleRate, const QString &correlationId, QObject *parent) override;
    bool streamsPartials() const override { return true; }

private:
    AsrSettings m_settings;
    FunAsrEndpoint m_endpoint;
};

} // namespace tianyi
