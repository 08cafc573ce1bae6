#pragma once
// tianyi-fake-upstream: a small HTTP/1.1 server speaking the real wire formats of the upstream AI
// services (OpenAI-compatible chat/embeddings, GPT-SoVITS api_v2, /audio/transcriptions), with
// per-request faults. Used in-process by tests (tianyi_fake_upstream_lib) and as an executable.

#include <QByteArray>
#include <QJsonArray>
#include <QList>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QString>
#include <QTcpServer>
#include <QUrlQuery>
#include <functional>

class QTcpSocket;

namespace tianyi::fake {

struct FakeRequest {
    QByteArray method;
    QString path;                                    // after the "/fault/NAME" prefix was stripped
    QUrlQuery query;
    QList<QPair<QByteArray, QByteArray>> headers;    // names lower-case
    QByteArray body;
    QByteArray header(const QByteArray &lowerName) const;
};

struct FakeOptions {
    // OpenAI-compatible routes
    int ttftMs = 50;                 // delay before the first content chunk
    double tokensPerSecond = 100;    // one "token" = one chunk of a few characters
    QString replyText;               // empty = a built-in default reply
    bool usageChunk = true;          // send usage (when the request asks for it)
    QString variant;                 // openai (default) | vllm | ollama | llamacpp
    int embeddingDimensions = 1024;
    QList<QPair<QString, QString>> script; // substring of the last user message -> reply (first match wins)
    // GPT-SoVITS / transcription routes
    int ttsFirstChunkMs = 100;
    double ttsRealTimeFactor = 0.2;
    int ttsSampleRate = 32000;
    int asrLatencyMs = 50;
    QString asrText = QStringLiteral("你好");
};

class FakeServer;

// One request and its reply. Owned by the server; deleted some time after the reply ended or the
// client went away. Handlers that answer later must hold it through a QPointer.
class FakeExchange : public QObject
{
    Q_OBJECT
public:
    FakeExchange(FakeServer *server, QTcpSocket *socket, FakeRequest request, QString fault);
    ~FakeExchange() override;

    const FakeRequest &request() const { return m_request; }
    // From header "x-fake-fault: NAME" or a path prefix "/fault/NAME/..." (stripped before routing).
    QString fault() const { return m_fault; }
    // A per-request knob from a header, e.g. "x-fake-ttft-ms"; fallback when absent or not a number.
    int intOption(const QByteArray &headerName, int fallback) const;
    FakeServer *server() const { return m_server; }

    void reply(int status, const QByteArray &contentType, const QByteArray &body,
               const QList<QPair<QByteArray, QByteArray>> &headers = {});
    void beginChunked(int status, const QByteArray &contentType, const QList<QPair<QByteArray, QByteArray>> &headers = {});
    void writeChunk(const QByteArray &data);
    void endChunked();
    void writeRaw(const QByteArray &bytes);   // as-is on the socket, for malformed replies
    void cut();                                // drop the TCP connection mid-reply
    bool clientGone() const;
    bool replyEnded() const { return m_ended; }

signals:
    void clientDisconnected();

private:
    friend class FakeServer;
    void onSocketGone();
    void finishReply(bool keepAlive);

    FakeServer *m_server;
    QPointer<QTcpSocket> m_socket;
    FakeRequest m_request;
    QString m_fault;
    bool m_started = false;
    bool m_ended = false;
    bool m_gone = false;
};

class FakeServer : public QTcpServer
{
    Q_OBJECT
public:
    explicit FakeServer(FakeOptions options, QObject *parent = nullptr);
    ~FakeServer() override;

    using Handler = std::function<void(FakeExchange *)>;
    void route(const QByteArray &method, const QString &path, Handler handler);
    const FakeOptions &options() const { return m_options; }
    FakeOptions &mutableOptions() { return m_options; }

    QJsonArray recorded() const;   // every request received: method, path, query, fault, headers, body (parsed JSON when JSON)
    void clearRecorded();
    int recordedCount(const QString &path = {}) const;  // convenience for tests
    int disconnectsSeen() const { return m_disconnectsSeen; }
    QString baseUrl() const;       // http://127.0.0.1:PORT

signals:
    void requestRecorded();
    void clientClosedEarly();

protected:
    void incomingConnection(qintptr handle) override;

private:
    friend class FakeExchange;
    struct Connection;
    void onReadyRead(QTcpSocket *socket);
    void dispatch(QTcpSocket *socket, FakeRequest request, QString fault);
    void noteEarlyClose();
    void exchangeEnded(QTcpSocket *socket, bool keepAlive);

    FakeOptions m_options;
    QList<QPair<QPair<QByteArray, QString>, Handler>> m_routes;
    QJsonArray m_recorded;
    int m_disconnectsSeen = 0;
};

void registerOpenAiRoutes(FakeServer &server);          // /chat/completions, /embeddings, /models (any prefix such as /v1)
void registerGptSovitsRoutes(FakeServer &server);       // /tts, /set_*_weights, /set_refer_audio, /control
void registerTranscriptionRoutes(FakeServer &server);   // /audio/transcriptions
void registerControlRoutes(FakeServer &server);         // GET/DELETE /_fake/requests

} // namespace tianyi::fake
