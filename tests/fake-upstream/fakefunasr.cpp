// The fake FunASR 2pass WebSocket server. See fakefunasr.h and README.md ("FunASR").
#include "fakefunasr.h"

#include <QFile>
#include <QJsonArray>
#include <QSslKey>
#include <QJsonDocument>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketCorsAuthenticator>
#include <QtEndian>
#include <cmath>

namespace tianyi::fake {

namespace {

bool latinLike(QChar c)
{
    return c.isLetterOrNumber() && c.unicode() < 0x2E80;
}

// Words of the text as FunASR's online pass emits them: one token per CJK character, one per Latin word.
QStringList tokens(const QString &text)
{
    QStringList out;
    QString word;
    for (const QChar c : text) {
        if (c.isPunct() || c.isSpace()) {
            if (!word.isEmpty())
                out << word;
            word.clear();
        } else if (latinLike(c)) {
            word += c;
        } else {
            if (!word.isEmpty())
                out << word;
            word.clear();
            out << QString(c);
        }
    }
    if (!word.isEmpty())
        out << word;
    return out;
}

QString render(const QStringList &toks)
{
    QString s;
    for (const QString &t : toks) {
        if (!s.isEmpty() && latinLike(s.back()) && latinLike(t.front()))
            s += QLatin1Char(' ');
        s += t;
    }
    return s;
}

} // namespace

struct FakeFunAsrServer::Connection {
    QPointer<QWebSocket> socket;
    std::shared_ptr<FakeFunAsrSession> s;
    int sampleRate = 16000;
    qint64 chunkBytes = 19200;     // 600 ms at 16 kHz
    qint64 sinceChunk = 0;
    int chunks = 0;
    QByteArray frameRest;          // bytes of an unfinished 20 ms frame
    int voicedFrames = 0;
    QString fullText;              // what this connection recognizes when the audio is voiced enough
    QStringList segmentTexts;      // fullText split where the fake's "VAD" cuts (quirk segments)
    int segment = 0;               // the segment being spoken
    int tokensSent = 0;            // online tokens of that segment already sent
    bool faultDone = false;
};

FakeFunAsrServer::FakeFunAsrServer(FakeFunAsrOptions options, std::unique_ptr<QSslConfiguration> tls, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_server(QStringLiteral("fake-funasr"), tls ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode)
    , m_secure(bool(tls))
{
    if (tls)
        m_server.setSslConfiguration(*tls);
    connect(&m_server, &QWebSocketServer::newConnection, this, &FakeFunAsrServer::onNewConnection);
    connect(&m_server, &QWebSocketServer::originAuthenticationRequired, this,
            [this](QWebSocketCorsAuthenticator *auth) { auth->setAllowed(!m_options.refuseHandshakes); }, Qt::DirectConnection);
}

FakeFunAsrServer::~FakeFunAsrServer()
{
    for (const auto &c : m_connections) {
        if (c->socket) {
            disconnect(c->socket, nullptr, this, nullptr);
            c->socket->abort();
            delete c->socket;
        }
    }
}

std::unique_ptr<QSslConfiguration> FakeFunAsrServer::tlsFromFiles(const QString &certFile, const QString &keyFile, QString *error)
{
    QFile cf(certFile), kf(keyFile);
    if (!cf.open(QIODevice::ReadOnly) || !kf.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1 or %2").arg(certFile, keyFile);
        return nullptr;
    }
    const QSslCertificate cert(cf.readAll(), QSsl::Pem);
    const QSslKey key(kf.readAll(), QSsl::Rsa, QSsl::Pem);
    if (cert.isNull() || key.isNull()) {
        *error = QStringLiteral("%1 / %2: not a PEM certificate and RSA key").arg(certFile, keyFile);
        return nullptr;
    }
    auto tls = std::make_unique<QSslConfiguration>(QSslConfiguration::defaultConfiguration());
    tls->setLocalCertificate(cert);
    tls->setPrivateKey(key);
    tls->setPeerVerifyMode(QSslSocket::VerifyNone);
    return tls;
}

bool FakeFunAsrServer::listen(const QHostAddress &address, quint16 port)
{
    return m_server.listen(address, port);
}

quint16 FakeFunAsrServer::port() const
{
    return m_server.serverPort();
}

QString FakeFunAsrServer::url() const
{
    return QStringLiteral("%1://127.0.0.1:%2").arg(m_secure ? QStringLiteral("wss") : QStringLiteral("ws")).arg(m_server.serverPort());
}

QList<FakeFunAsrSession> FakeFunAsrServer::sessions() const
{
    QList<FakeFunAsrSession> out;
    for (const auto &s : m_sessions)
        out << *s;
    return out;
}

bool FakeFunAsrServer::has(const Connection *c, const char *quirk) const
{
    return c->s->quirks.contains(QLatin1String(quirk));
}

void FakeFunAsrServer::onNewConnection()
{
    while (QWebSocket *socket = m_server.nextPendingConnection()) {
        auto c = std::make_shared<Connection>();
        c->socket = socket;
        c->s = std::make_shared<FakeFunAsrSession>();
        c->s->path = socket->requestUrl().path();
        c->s->quirks = m_options.quirks;
        const QStringList parts = c->s->path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
        if (parts.size() >= 2 && parts[0] == QLatin1String("fault"))
            c->s->quirks += parts[1].split(QLatin1Char(','), Qt::SkipEmptyParts);
        c->fullText = m_nextText < m_options.texts.size() ? m_options.texts.at(m_nextText) : m_options.defaultText;
        ++m_nextText;
        m_connections << c;
        m_sessions << c->s;
        Connection *raw = c.get();
        socket->setMaxAllowedIncomingMessageSize(4 * 1024 * 1024);
        connect(socket, &QWebSocket::textMessageReceived, this, [this, raw](const QString &m) { onText(raw, m); });
        connect(socket, &QWebSocket::binaryMessageReceived, this, [this, raw](const QByteArray &d) { onBinary(raw, d); });
        connect(socket, &QWebSocket::disconnected, this, [this, raw] { onClosed(raw); });
        emit sessionChanged();
    }
}

void FakeFunAsrServer::onText(Connection *c, const QString &message)
{
    FakeFunAsrSession &s = *c->s;
    ++s.textMessages;
    const QJsonObject o = QJsonDocument::fromJson(message.toUtf8()).object();
    if (s.textMessages == 1) {
        s.config = o;
        const QJsonArray chunk = o.value(QStringLiteral("chunk_size")).toArray();
        if (o.value(QStringLiteral("mode")).toString() != QLatin1String("2pass") || chunk.size() != 3 || chunk.at(1).toInt() <= 0
            || o.value(QStringLiteral("wav_format")).toString() != QLatin1String("pcm") || !o.value(QStringLiteral("is_speaking")).toBool()) {
            s.protocolError = QStringLiteral("the first frame is not a 2pass pcm configuration: %1").arg(message.left(200));
        } else {
            c->sampleRate = o.value(QStringLiteral("audio_fs")).toInt(16000);
            c->chunkBytes = qint64(c->sampleRate) * 2 * chunk.at(1).toInt() * 60 / 1000;
        }
        if (has(c, "segments")) {
            // Cut after the first sentence, else near the middle but never inside a word.
            const QString t = c->fullText;
            qsizetype cut = -1;
            for (qsizetype i = 0; i + 1 < t.size() && cut < 0; ++i) {
                if (QStringLiteral("。？！.?!").contains(t.at(i)))
                    cut = i + 1;
            }
            if (cut < 0) {
                cut = (t.size() + 1) / 2;
                while (cut < t.size() && latinLike(t.at(cut - 1)) && latinLike(t.at(cut)))
                    ++cut;
            }
            c->segmentTexts = {t.left(cut), t.mid(cut)};
        } else {
            c->segmentTexts = {c->fullText};
        }
        emit sessionChanged();
        return;
    }
    if (o.contains(QStringLiteral("is_speaking")) && !o.value(QStringLiteral("is_speaking")).toBool(true)) {
        if (s.endReceived)
            return;
        s.endReceived = true;
        emit sessionChanged();
        if (has(c, "stall"))
            return;
        QPointer<QWebSocket> guard(c->socket);
        QTimer::singleShot(m_options.finalLatencyMs, this, [this, c, guard] {
            if (guard && !c->s->closed)
                sendFinal(c);
        });
        return;
    }
    s.protocolError = QStringLiteral("unexpected text frame: %1").arg(message.left(200));
    emit sessionChanged();
}

void FakeFunAsrServer::onBinary(Connection *c, const QByteArray &data)
{
    FakeFunAsrSession &s = *c->s;
    if (s.textMessages == 0 && s.protocolError.isEmpty())
        s.protocolError = QStringLiteral("audio before the configuration frame");
    if (s.endReceived && s.protocolError.isEmpty())
        s.protocolError = QStringLiteral("audio after {\"is_speaking\":false}");
    ++s.binaryMessages;
    s.pcmBytes += data.size();
    if (s.pcm.size() + data.size() <= kMaxKeptPcm)
        s.pcm += data;

    // The fake's own voice measure: 20 ms frames whose RMS reaches kVoicedRms.
    c->frameRest += data;
    const qsizetype frameBytes = qsizetype(c->sampleRate / 50) * 2;
    qsizetype pos = 0;
    for (; pos + frameBytes <= c->frameRest.size(); pos += frameBytes) {
        double sum = 0;
        for (qsizetype i = 0; i < frameBytes; i += 2) {
            const double v = qFromLittleEndian<qint16>(c->frameRest.constData() + pos + i);
            sum += v * v;
        }
        if (std::sqrt(sum / double(frameBytes / 2)) >= kVoicedRms)
            ++c->voicedFrames;
    }
    c->frameRest.remove(0, pos);
    s.voicedMs = c->voicedFrames * 20;

    if (!c->faultDone) {
        c->faultDone = true;
        applyFault(c);
        if (!c->socket || c->s->closed)
            return;
    }
    c->sinceChunk += data.size();
    while (c->sinceChunk >= c->chunkBytes) {
        c->sinceChunk -= c->chunkBytes;
        ++c->chunks;
        sendPiece(c);
    }
    emit sessionChanged();
}

void FakeFunAsrServer::applyFault(Connection *c)
{
    if (has(c, "close")) {
        c->socket->close(QWebSocketProtocol::CloseCodeBadOperation, QStringLiteral("decoder error"));
    } else if (has(c, "reset")) {
        c->socket->abort();
    } else if (has(c, "malformed")) {
        c->socket->sendTextMessage(QStringLiteral("{\"mode\":\"2pass-online\",\"text\":"));
    } else if (has(c, "huge")) {
        c->socket->sendTextMessage(QStringLiteral("{\"mode\":\"2pass-online\",\"text\":\"%1\"}").arg(QString(kHugeMessageBytes, QLatin1Char('a'))));
    } else if (has(c, "flood")) {
        // Many messages each under any size cap, whose text adds up without end.
        for (int i = 0; i < 64; ++i)
            send(c, {{QStringLiteral("mode"), QStringLiteral("2pass-online")}, {QStringLiteral("text"), QString(1000, QChar(0x554A))}});
    }
}

void FakeFunAsrServer::send(Connection *c, const QJsonObject &fields)
{
    if (!c->socket || c->s->closed)
        return;
    QJsonObject o = fields;
    o.insert(QStringLiteral("wav_name"), c->s->config.value(QStringLiteral("wav_name")).toString(QStringLiteral("wav-default-id")));
    if (!o.contains(QStringLiteral("is_final")))
        o.insert(QStringLiteral("is_final"), has(c, "python")); // Python demo: is_final mirrors is_speaking
    c->socket->sendTextMessage(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)));
}

void FakeFunAsrServer::sendPiece(Connection *c)
{
    if (has(c, "stall") || c->s->endReceived)
        return;
    if (c->s->voicedMs < kMinVoicedMs)
        return; // a cough or noise: no words
    if (c->segmentTexts.size() > 1 && c->segment == 0 && c->chunks >= 3) {
        // The server's own VAD cut a segment mid-stream: its corrected text replaces its pieces.
        QJsonObject o{{QStringLiteral("mode"), QStringLiteral("2pass-offline")}, {QStringLiteral("text"), c->segmentTexts.at(0)}};
        if (has(c, "extras")) {
            o.insert(QStringLiteral("timestamp"), QStringLiteral("[[100,200],[200,500]]"));
            o.insert(QStringLiteral("stamp_sents"), QJsonArray{QJsonObject{{QStringLiteral("text_seg"), c->segmentTexts.at(0)}, {QStringLiteral("start"), 100}}});
        }
        send(c, o);
        c->segment = 1;
        c->tokensSent = 0;
        return;
    }
    const QStringList toks = tokens(c->segmentTexts.at(c->segment));
    if (c->tokensSent >= toks.size())
        return;
    const QStringList piece = toks.mid(c->tokensSent, 2);
    c->tokensSent += int(piece.size());
    QJsonObject o{{QStringLiteral("mode"), QStringLiteral("2pass-online")}, {QStringLiteral("text"), render(piece)}};
    if (has(c, "extras"))
        o.insert(QStringLiteral("spk_name"), QStringLiteral("unknown"));
    send(c, o);
}

void FakeFunAsrServer::sendFinal(Connection *c)
{
    FakeFunAsrSession &s = *c->s;
    const bool voiced = s.voicedMs >= kMinVoicedMs;
    const bool python = has(c, "python");
    const bool finalFlag = !python && !has(c, "no-final-flag");
    QStringList recognized;
    if (voiced) {
        // A segment the VAD had not cut yet ends now (the last one is the answer to the end).
        for (int i = c->segment; i + 1 < c->segmentTexts.size(); ++i)
            send(c, {{QStringLiteral("mode"), QStringLiteral("2pass-offline")}, {QStringLiteral("text"), c->segmentTexts.at(i)}});
        recognized = c->segmentTexts;
    }
    const QString last = voiced ? c->segmentTexts.constLast() : QString();
    QJsonObject o{{QStringLiteral("text"), last}, {QStringLiteral("is_final"), finalFlag}};
    // The C++ runtime leaves "mode" out when the last segment held no words.
    if (!last.isEmpty() || !finalFlag)
        o.insert(QStringLiteral("mode"), QStringLiteral("2pass-offline"));
    if (has(c, "extras") && !last.isEmpty()) {
        o.insert(QStringLiteral("timestamp"), QStringLiteral("[[100,200],[200,500]]"));
        o.insert(QStringLiteral("stamp_sents"), QJsonArray{QJsonObject{{QStringLiteral("text_seg"), last}, {QStringLiteral("start"), 100}}});
    }
    send(c, o);
    s.text = voiced ? recognized.join(QString()) : QString();
    s.finalSent = true;
    emit sessionChanged();
}

void FakeFunAsrServer::onClosed(Connection *c)
{
    FakeFunAsrSession &s = *c->s;
    if (s.closed)
        return;
    s.closed = true;
    // A close frame from the client, or its TCP connection going away, while this side had not closed.
    s.closedByClient = c->socket && !has(c, "close") && !has(c, "reset");
    if (c->socket)
        c->socket->deleteLater();
    emit sessionChanged();
}

} // namespace tianyi::fake
