#pragma once
// A tiny stand-in for the server's /ws: a QWebSocketServer on 127.0.0.1 that says hello and answers
// every chat with a scripted two-sentence turn (binary or json audio, as the client asked).
// Used by the ChatClient and tianyi-cli tests, which need no real chat server.
//
// Listening (v1.1): listen_start is answered by `listening` (or asr_unavailable); the PCM that follows
// goes through a toy endpointer on the audio's own time (not the wall clock, so the same file always
// gives the same events): kSpeechMinMs of loud frames -> speech_start, a growing partial of
// heardText every kPartialEveryMs of loud audio, kEndpointingMs of quiet -> speech_end, the final
// transcript, and a turn answering it exactly as a chat would.

#include "tianyi/chatprotocol.h"
#include "tianyi/wav.h"

#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QTimer>
#include <QUrl>
#include <QUrlQuery>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtMath>
#include <memory>

namespace tianyi::test {

class ScriptedChatServer
{
public:
    static constexpr int kSampleRate = 32000;
    // The toy endpointer (audio time, 16 kHz s16le).
    static constexpr int kListenRate = 16000;
    static constexpr int kLoudPeak = 1000;          // a frame whose peak is above this is voiced
    static constexpr int kSpeechMinMs = 100;
    static constexpr int kPartialEveryMs = 200;
    static constexpr int kEndpointingMs = 600;
    static constexpr int kInterruptionMinMs = 500;

    // Sentences of the scripted reply: text, emotion id, label, number of audio chunks.
    struct Line {
        QString text;
        QString emotion;
        QString label;
        int chunks;
    };
    static QList<Line> script()
    {
        return {{QStringLiteral("你好呀！"), QStringLiteral("happy"), QStringLiteral("开心"), 2},
                {QStringLiteral("今天有点累。"), QStringLiteral("sad"), QStringLiteral("悲伤"), 1}};
    }
    static QString replyText()
    {
        QString all;
        for (const Line &l : script())
            all += l.text;
        return all;
    }
    // Deterministic PCM of chunk `seq` of sentence `sentence`: 20 ms of a sine.
    static QByteArray chunkPcm(int sentence, int seq)
    {
        const int samples = kSampleRate / 50;
        QByteArray pcm(samples * 2, '\0');
        for (int i = 0; i < samples; ++i) {
            const auto v = qint16(8000 * qSin(2 * M_PI * (220 + 110 * sentence + 55 * seq) * i / kSampleRate));
            pcm[2 * i] = char(v & 0xff);
            pcm[2 * i + 1] = char((v >> 8) & 0xff);
        }
        return pcm;
    }
    static QByteArray sentencePcm(int sentence)
    {
        QByteArray all;
        for (int seq = 0; seq < script().at(sentence).chunks; ++seq)
            all += chunkPcm(sentence, seq);
        return all;
    }

    ScriptedChatServer()
        : m_server(std::make_unique<QWebSocketServer>(QStringLiteral("scripted"), QWebSocketServer::NonSecureMode))
    {
        m_server->listen(QHostAddress::LocalHost, 0);
        QObject::connect(m_server.get(), &QWebSocketServer::newConnection, m_server.get(), [this]() {
            while (QWebSocket *socket = m_server->nextPendingConnection())
                accept(socket);
        });
    }
    ~ScriptedChatServer()
    {
        for (QWebSocket *s : std::as_const(m_sockets)) {
            s->disconnect();
            s->abort();
            delete s;
        }
    }

    bool listening() const { return m_server->isListening(); }
    QUrl baseUrl() const { return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server->serverPort())); }

    // Configuration.
    int rejectWithCode = 0;            // close every connection at once with this code
    bool holdAfterFirstSentence = false; // stop the turn after sentence 0 until a `stop` arrives
    int finishHeldTurnAfterMs = -1;    // >= 0: ...or until this long has passed, then complete it
    bool audioBeforeSentence = false;  // break guarantee 1 (audio of sentence 1 before its sentence event)
    bool asrAvailable = true;          // false: listen_start gets error asr_unavailable
    QString listenStartError;          // non-empty: listen_start is refused with this error code
    QString heardText = QStringLiteral("你好天依"); // what the toy recognizer hears in any speech

    // Sends raw messages to every connected client (malformed input tests).
    void broadcastBinary(const QByteArray &message)
    {
        for (QWebSocket *s : std::as_const(m_sockets))
            if (s->state() == QAbstractSocket::ConnectedState)
                s->sendBinaryMessage(message);
    }
    void broadcastText(const QString &message)
    {
        for (QWebSocket *s : std::as_const(m_sockets))
            if (s->state() == QAbstractSocket::ConnectedState)
                s->sendTextMessage(message);
    }

    // What arrived.
    QList<QUrl> requestUrls;
    QList<QString> userAgents;         // of each handshake
    QList<QJsonObject> received;       // every JSON message but auth
    QStringList authTokens;            // the tokens of auth messages, in order
    QList<QByteArray> receivedBinary;
    int turnsStarted = 0;

private:
    struct Conn {
        bool jsonAudio = false;
        int runningTurn = 0;
        // listening
        bool listening = false;
        bool inSpeech = false;
        int utterances = 0;
        qint64 loudMs = 0;        // before speech_start: loud audio in a row
        qint64 speechMs = 0;      // the utterance's audio so far
        qint64 voicedMs = 0;      // its loud audio
        qint64 quietMs = 0;       // quiet audio in a row inside the utterance
        int partials = 0;
    };
public:
    QList<int> binarySizes;            // size of every binary message, in order
    qint64 listenAudioBytes = 0;       // PCM received while listening
private:

    void accept(QWebSocket *socket)
    {
        m_sockets.append(socket);
        requestUrls.append(socket->requestUrl());
        userAgents.append(QString::fromUtf8(socket->request().rawHeader("User-Agent")));
        if (rejectWithCode != 0) {
            socket->close(QWebSocketProtocol::CloseCode(rejectWithCode), QStringLiteral("bad or expired token"));
            return;
        }
        auto conn = std::make_shared<Conn>();
        conn->jsonAudio = QUrlQuery(socket->requestUrl()).queryItemValue(QStringLiteral("audio")) == QLatin1String("json");
        QObject::connect(socket, &QWebSocket::textMessageReceived, socket, [this, socket, conn](const QString &text) {
            const QJsonObject m = QJsonDocument::fromJson(text.toUtf8()).object();
            if (m.value(QStringLiteral("type")).toString() == chat::kAuth) { // kept apart: tests count the chat messages
                authTokens.append(m.value(QStringLiteral("token")).toString());
                return;
            }
            received.append(m);
            onMessage(socket, *conn, m);
        });
        QObject::connect(socket, &QWebSocket::binaryMessageReceived, socket, [this, socket, conn](const QByteArray &b) {
            binarySizes.append(int(b.size()));
            if (conn->listening) {
                listenAudioBytes += b.size();
                hear(socket, *conn, b);
            } else {
                receivedBinary.append(b);
            }
        });
        send(socket, QJsonObject{{QStringLiteral("type"), chat::kHello},
                                 {QStringLiteral("protocol"), 1},
                                 {QStringLiteral("session_id"), QStringLiteral("s-1")},
                                 {QStringLiteral("speech_input"), asrAvailable},
                                 {QStringLiteral("listening"), asrAvailable},
                                 {QStringLiteral("user"), QJsonObject{{QStringLiteral("id"), 7},
                                                                      {QStringLiteral("username"), QStringLiteral("alice")},
                                                                      {QStringLiteral("nickname"), QStringLiteral("Alice")}}},
                                 {QStringLiteral("persona"), QJsonObject{{QStringLiteral("name"), QStringLiteral("天依")},
                                                                         {QStringLiteral("emotions"),
                                                                          QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("happy")},
                                                                                                 {QStringLiteral("label"), QStringLiteral("开心")}},
                                                                                     QJsonObject{{QStringLiteral("id"), QStringLiteral("sad")},
                                                                                                 {QStringLiteral("label"), QStringLiteral("悲伤")}}}}}},
                                 {QStringLiteral("audio"), QJsonObject{{QStringLiteral("format"), QStringLiteral("pcm_s16le")},
                                                                       {QStringLiteral("sample_rate"), kSampleRate},
                                                                       {QStringLiteral("channels"), 1}}}});
    }

    static void send(QWebSocket *socket, const QJsonObject &m)
    {
        socket->sendTextMessage(QString::fromUtf8(QJsonDocument(m).toJson(QJsonDocument::Compact)));
    }

    void sendAudio(QWebSocket *socket, const Conn &conn, int turn, int sentence, int seq, bool last)
    {
        const QByteArray pcm = chunkPcm(sentence, seq);
        if (!conn.jsonAudio) {
            chat::AudioFrameHeader h;
            h.turn = quint32(turn);
            h.sentence = quint16(sentence);
            h.seq = quint16(seq);
            h.sampleRate = kSampleRate;
            h.last = last;
            socket->sendBinaryMessage(chat::encodeAudioFrame(h, pcm));
            return;
        }
        QJsonArray volumes;
        for (float v : wav::volumeEnvelope(pcm, kSampleRate))
            volumes.append(double(v));
        send(socket, QJsonObject{{QStringLiteral("type"), chat::kAudio},
                                 {QStringLiteral("turn"), turn},
                                 {QStringLiteral("sentence"), sentence},
                                 {QStringLiteral("seq"), seq},
                                 {QStringLiteral("sample_rate"), kSampleRate},
                                 {QStringLiteral("last"), last},
                                 {QStringLiteral("pcm"), QString::fromLatin1(pcm.toBase64())},
                                 {QStringLiteral("volumes"), volumes}});
    }

    void sendSentence(QWebSocket *socket, const Conn &conn, int turn, int index)
    {
        const Line l = script().at(index);
        auto obj = [turn](const QString &type, QJsonObject o) {
            o.insert(QStringLiteral("type"), type);
            o.insert(QStringLiteral("turn"), turn);
            return o;
        };
        send(socket, obj(chat::kEmotion, {{QStringLiteral("sentence"), index}, {QStringLiteral("emotion"), l.emotion}, {QStringLiteral("label"), l.label}}));
        send(socket, obj(chat::kTextDelta, {{QStringLiteral("delta"), l.text}}));
        if (audioBeforeSentence && index == 1)
            sendAudio(socket, conn, turn, index, 0, l.chunks == 1);
        send(socket, obj(chat::kSentence, {{QStringLiteral("index"), index}, {QStringLiteral("text"), l.text}, {QStringLiteral("emotion"), l.emotion}}));
        for (int seq = (audioBeforeSentence && index == 1) ? 1 : 0; seq < l.chunks; ++seq)
            sendAudio(socket, conn, turn, index, seq, seq == l.chunks - 1);
    }

    void endTurn(QWebSocket *socket, int turn, const QString &status, const QString &text, int sentences)
    {
        qint64 audioMs = 0;
        for (int i = 0; i < sentences; ++i)
            audioMs += wav::durationMs(sentencePcm(i).size(), kSampleRate);
        send(socket, QJsonObject{{QStringLiteral("type"), chat::kTurnEnd},
                                 {QStringLiteral("turn"), turn},
                                 {QStringLiteral("status"), status},
                                 {QStringLiteral("text"), text},
                                 {QStringLiteral("stats"), QJsonObject{{QStringLiteral("ttft_ms"), 12},
                                                                       {QStringLiteral("first_audio_ms"), 34},
                                                                       {QStringLiteral("total_ms"), 56},
                                                                       {QStringLiteral("tokens"), 7},
                                                                       {QStringLiteral("sentences"), sentences},
                                                                       {QStringLiteral("audio_ms"), audioMs}}}});
    }

    void startTurn(QWebSocket *socket, Conn &conn, const QString &userText)
    {
        const int turn = ++turnsStarted;
        send(socket, QJsonObject{{QStringLiteral("type"), chat::kTurnStart},
                                 {QStringLiteral("turn"), turn},
                                 {QStringLiteral("correlation_id"), QStringLiteral("c-%1").arg(turn)},
                                 {QStringLiteral("user_text"), userText}});
        sendSentence(socket, conn, turn, 0);
        if (holdAfterFirstSentence) {
            conn.runningTurn = turn;
            if (finishHeldTurnAfterMs >= 0)
                QTimer::singleShot(finishHeldTurnAfterMs, socket, [this, socket, &conn, turn]() {
                    if (conn.runningTurn != turn)
                        return; // stopped meanwhile
                    conn.runningTurn = 0;
                    sendSentence(socket, conn, turn, 1);
                    endTurn(socket, turn, chat::kCompleted, replyText(), 2);
                });
            return;
        }
        sendSentence(socket, conn, turn, 1);
        endTurn(socket, turn, chat::kCompleted, replyText(), 2);
    }

    // Every listening message also carries a field no client knows: clients must ignore it.
    static QJsonObject listeningMessage(const QString &type, QJsonObject fields)
    {
        fields.insert(QStringLiteral("type"), type);
        fields.insert(QStringLiteral("x_future_field"), QJsonObject{{QStringLiteral("any"), 1}});
        return fields;
    }

    void endUtterance(QWebSocket *socket, Conn &conn)
    {
        conn.inSpeech = false;
        const int utterance = conn.utterances;
        send(socket, listeningMessage(chat::kSpeechEnd, {{QStringLiteral("utterance"), utterance},
                                                         {QStringLiteral("duration_ms"), conn.speechMs - conn.quietMs}}));
        send(socket, listeningMessage(chat::kTranscript, {{QStringLiteral("utterance"), utterance},
                                                          {QStringLiteral("text"), heardText},
                                                          {QStringLiteral("final"), true}}));
        if (!heardText.isEmpty())
            startTurn(socket, conn, heardText);
    }

    void hear(QWebSocket *socket, Conn &conn, const QByteArray &pcm)
    {
        const qint64 ms = wav::durationMs(pcm.size(), kListenRate);
        const bool loud = wav::peakAmplitude(pcm) > kLoudPeak;
        if (!conn.inSpeech) {
            conn.loudMs = loud ? conn.loudMs + ms : 0;
            if (conn.loudMs < kSpeechMinMs)
                return;
            conn.inSpeech = true;
            conn.speechMs = conn.voicedMs = conn.loudMs;
            conn.quietMs = 0;
            conn.partials = 0;
            send(socket, listeningMessage(chat::kSpeechStart, {{QStringLiteral("utterance"), ++conn.utterances}}));
            return;
        }
        conn.speechMs += ms;
        if (!loud) {
            conn.quietMs += ms;
            if (conn.quietMs >= kEndpointingMs)
                endUtterance(socket, conn);
            return;
        }
        conn.quietMs = 0;
        conn.voicedMs += ms;
        if (conn.voicedMs / kPartialEveryMs > conn.partials && conn.partials + 1 < heardText.size()) {
            ++conn.partials;
            send(socket, listeningMessage(chat::kTranscript, {{QStringLiteral("utterance"), conn.utterances},
                                                              {QStringLiteral("text"), heardText.left(conn.partials)},
                                                              {QStringLiteral("final"), false}}));
        }
    }

    void onMessage(QWebSocket *socket, Conn &conn, const QJsonObject &m)
    {
        const QString type = m.value(QStringLiteral("type")).toString();
        if (type == chat::kListenStart) {
            if (!asrAvailable || !listenStartError.isEmpty()) {
                send(socket, QJsonObject{{QStringLiteral("type"), chat::kError},
                                         {QStringLiteral("code"), asrAvailable ? listenStartError : chat::kErrAsrUnavailable},
                                         {QStringLiteral("message"), QStringLiteral("listen_start refused")}});
                return;
            }
            conn.listening = true;
            send(socket, listeningMessage(chat::kListening, {{QStringLiteral("vad"), QJsonObject{{QStringLiteral("endpointing_ms"), kEndpointingMs},
                                                                                              {QStringLiteral("interruption_min_ms"), kInterruptionMinMs}}}}));
            return;
        }
        if (type == chat::kListenStop) {
            conn.listening = false;
            if (conn.inSpeech)
                endUtterance(socket, conn);
            return;
        }
        if (type == chat::kPing) {
            send(socket, QJsonObject{{QStringLiteral("type"), chat::kPong}});
        } else if (type == chat::kStop && conn.runningTurn > 0) {
            const int turn = conn.runningTurn;
            conn.runningTurn = 0;
            send(socket, QJsonObject{{QStringLiteral("type"), chat::kStopped}, {QStringLiteral("turn"), turn}, {QStringLiteral("stop_ms"), 3}});
            endTurn(socket, turn, chat::kInterrupted, script().at(0).text, 1);
        } else if (type == chat::kChat) {
            startTurn(socket, conn, m.value(QStringLiteral("text")).toString());
        }
    }

    std::unique_ptr<QWebSocketServer> m_server;
    QList<QWebSocket *> m_sockets;
};

} // namespace tianyi::test
