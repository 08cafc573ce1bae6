#pragma once
// A fake FunASR 2pass WebSocket server (the runtime's funasr-wss-server-2pass, with the Python demo
// server's and forks' quirks on demand). Speaks the wire of docs/asr.md: a first text frame with the
// configuration, binary PCM, {"is_speaking":false}; answers 2pass-online pieces while audio arrives
// and a 2pass-offline result at the end. Recognition is deterministic (README.md, "FunASR").

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QStringList>
#include <QWebSocketServer>
#include <memory>

class QWebSocket;

namespace tianyi::fake {

struct FakeFunAsrOptions {
    QStringList texts;                          // one per connection, in order; then defaultText
    QString defaultText = QStringLiteral("你好");
    int finalLatencyMs = 0;                     // delay of the answer to {"is_speaking":false}
    QStringList quirks;                         // applied to every connection, besides the path's /fault/NAME,...
    bool refuseHandshakes = false;              // answer every handshake with 403
};

// What one connection received; tests read it through FakeFunAsrServer::sessions().
struct FakeFunAsrSession {
    QString path;                               // the request path, e.g. "/" or "/fault/stall"
    QStringList quirks;
    QJsonObject config;                         // the first text frame
    QString protocolError;                      // what the client did wrong (empty: nothing)
    QByteArray pcm;                             // every binary byte, in order (capped at kMaxKeptPcm)
    qint64 pcmBytes = 0;
    int binaryMessages = 0;
    int textMessages = 0;
    bool endReceived = false;                   // {"is_speaking":false}
    bool finalSent = false;
    bool closed = false;                        // the connection ended
    bool closedByClient = false;                // ... and the client ended it
    int voicedMs = 0;                           // the fake's own energy measure
    QString text;                               // what it recognized ("" for a cough or noise)
};

class FakeFunAsrServer : public QObject
{
    Q_OBJECT
public:
    static constexpr qsizetype kMaxKeptPcm = 16 * 1024 * 1024;
    static constexpr int kMinVoicedMs = 350;    // shorter voiced audio recognizes as "" (a cough, noise)
    static constexpr int kVoicedRms = 500;      // a 20 ms frame with this RMS or more is voiced (about -36 dBFS)
    static constexpr qint64 kHugeMessageBytes = 1024 * 1024;

    // sslConfiguration: null for ws://, a certificate + key for wss://.
    explicit FakeFunAsrServer(FakeFunAsrOptions options, std::unique_ptr<QSslConfiguration> tls = {}, QObject *parent = nullptr);
    ~FakeFunAsrServer() override;

    // A wss:// configuration from PEM files (an RSA key); null with *error when they cannot be read.
    static std::unique_ptr<QSslConfiguration> tlsFromFiles(const QString &certFile, const QString &keyFile, QString *error);

    bool listen(const QHostAddress &address, quint16 port);
    QString url() const;                        // ws://127.0.0.1:PORT or wss://...
    quint16 port() const;
    FakeFunAsrOptions &options() { return m_options; }

    QList<FakeFunAsrSession> sessions() const;
    int connectionCount() const { return int(m_sessions.size()); }

signals:
    void sessionChanged();

private:
    struct Connection;
    void onNewConnection();
    void onText(Connection *c, const QString &message);
    void onBinary(Connection *c, const QByteArray &data);
    void onClosed(Connection *c);
    void sendPiece(Connection *c);
    void sendFinal(Connection *c);
    void send(Connection *c, const QJsonObject &o);
    void applyFault(Connection *c);
    bool has(const Connection *c, const char *quirk) const;

    FakeFunAsrOptions m_options;
    QWebSocketServer m_server;
    bool m_secure;
    int m_nextText = 0;
    QList<std::shared_ptr<Connection>> m_connections;
    QList<std::shared_ptr<FakeFunAsrSession>> m_sessions;
};

} // namespace tianyi::fake
