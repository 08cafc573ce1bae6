#pragma once
// A chat-socket test client that records every message of its socket, in order, plus helpers that
// check the protocol's per-turn guarantees on such a recording.

#include <tianyi/chatprotocol.h>

#include <algorithm>

#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QUrl>
#include <QUrlQuery>
#include <QWebSocket>
#include <QtTest>
#include <functional>

namespace tianyi::test {

struct ChatMessage {
    bool binary = false;
    QJsonObject json;                 // text messages
    chat::AudioFrameHeader audio;     // binary messages
    QByteArray pcm;

    QString type() const { return binary ? QStringLiteral("audio") : json.value(QStringLiteral("type")).toString(); }
    int turn() const { return binary ? int(audio.turn) : json.value(QStringLiteral("turn")).toInt(-1); }
    bool isAudio() const { return type() == QLatin1String("audio"); }
    int sentence() const { return binary ? int(audio.sentence) : json.value(QStringLiteral("sentence")).toInt(-1); }
    int seq() const { return binary ? int(audio.seq) : json.value(QStringLiteral("seq")).toInt(-1); }
    bool last() const { return binary ? audio.last : json.value(QStringLiteral("last")).toBool(); }
    QByteArray audioPcm() const
    {
        return binary ? pcm : QByteArray::fromBase64(json.value(QStringLiteral("pcm")).toString().toLatin1());
    }
    int sampleRate() const { return binary ? int(audio.sampleRate) : json.value(QStringLiteral("sample_rate")).toInt(); }
};

class ChatTestClient : public QObject
{
    Q_OBJECT
public:
    explicit ChatTestClient(QObject *parent = nullptr) : QObject(parent)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            ChatMessage m;
            m.json = QJsonDocument::fromJson(text.toUtf8()).object();
            messages.append(m);
        });
        connect(&socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &bytes) {
            ChatMessage m;
            m.binary = true;
            const auto header = chat::decodeAudioFrame(bytes, &m.pcm);
            if (header)
                m.audio = *header;
            else
                badFrames++;
            messages.append(m);
        });
        connect(&socket, &QWebSocket::disconnected, this, [this]() {
            closed = true;
            closeCode = int(socket.closeCode());
        });
    }

    // ws://127.0.0.1:PORT/ws with the given query items.
    void open(quint16 port, const QList<QPair<QString, QString>> &query = {})
    {
        QUrl url(QStringLiteral("ws://127.0.0.1:%1/ws").arg(port));
        QUrlQuery q;
        for (const auto &item : query)
            q.addQueryItem(item.first, item.second);
        url.setQuery(q);
        socket.open(url);
    }
    bool openAndHello(quint16 port, const QByteArray &token, bool jsonAudio = false)
    {
        QList<QPair<QString, QString>> q{{QStringLiteral("token"), QString::fromLatin1(token)}};
        if (jsonAudio)
            q.append({QStringLiteral("audio"), QStringLiteral("json")});
        open(port, q);
        return waitForType(chat::kHello);
    }
    void send(const QJsonObject &o) { socket.sendTextMessage(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact))); }
    void chat(const QString &text) { send({{QStringLiteral("type"), chat::kChat}, {QStringLiteral("text"), text}}); }

    int indexOf(const std::function<bool(const ChatMessage &)> &pred, int from = 0) const
    {
        for (int i = from; i < messages.size(); ++i) {
            if (pred(messages.at(i)))
                return i;
        }
        return -1;
    }
    int indexOfType(const QString &type, int turn = -1, int from = 0) const
    {
        return indexOf([&](const ChatMessage &m) { return m.type() == type && (turn < 0 || m.turn() == turn); }, from);
    }
    int countType(const QString &type) const
    {
        return int(std::count_if(messages.cbegin(), messages.cend(), [&](const ChatMessage &m) { return m.type() == type; }));
    }
    bool waitFor(const std::function<bool()> &pred, int timeoutMs = 20000) { return QTest::qWaitFor(pred, timeoutMs); }
    bool waitForType(const QString &type, int turn = -1, int timeoutMs = 20000)
    {
        return waitFor([&]() { return indexOfType(type, turn) >= 0; }, timeoutMs);
    }
    bool waitClosed(int timeoutMs = 20000) { return waitFor([&]() { return closed; }, timeoutMs); }
    QJsonObject first(const QString &type, int turn = -1) const
    {
        const int i = indexOfType(type, turn);
        return i >= 0 ? messages.at(i).json : QJsonObject();
    }
    QList<ChatMessage> ofTurn(int turn) const
    {
        QList<ChatMessage> out;
        for (const ChatMessage &m : messages) {
            if (m.turn() == turn)
                out.append(m);
        }
        return out;
    }
    QString deltaText(int turn) const
    {
        QString out;
        for (const ChatMessage &m : messages) {
            if (m.turn() == turn && m.type() == chat::kTextDelta)
                out += m.json.value(QStringLiteral("delta")).toString();
        }
        return out;
    }
    // PCM of one sentence of a turn, and its duration in ms.
    QByteArray sentencePcm(int turn, int sentence) const
    {
        QByteArray out;
        for (const ChatMessage &m : messages) {
            if (m.turn() == turn && m.isAudio() && m.sentence() == sentence)
                out += m.audioPcm();
        }
        return out;
    }
    bool sentenceAudioComplete(int turn, int sentence) const
    {
        return indexOf([&](const ChatMessage &m) { return m.turn() == turn && m.isAudio() && m.sentence() == sentence && m.last(); }) >= 0;
    }

    QWebSocket socket;
    QList<ChatMessage> messages;
    bool closed = false;
    int closeCode = -1;
    int badFrames = 0;
};

// Checks guarantees 1 and 2 on the messages of one turn; returns an empty string when they hold.
inline QString checkTurnOrder(const QList<ChatMessage> &all, int turn)
{
    QList<ChatMessage> msgs;
    for (const ChatMessage &m : all) {
        if (m.turn() == turn)
            msgs.append(m);
    }
    if (msgs.isEmpty())
        return QStringLiteral("no message of turn %1").arg(turn);
    if (msgs.first().type() != chat::kTurnStart)
        return QStringLiteral("first message is %1, not turn_start").arg(msgs.first().type());
    if (msgs.last().type() != chat::kTurnEnd)
        return QStringLiteral("last message is %1, not turn_end").arg(msgs.last().type());
    int sentencesSeen = 0;
    int audioSentence = -1;
    int audioSeq = -1;
    bool sentenceClosed = true;
    bool stopped = false;
    int turnEnds = 0;
    for (int i = 0; i < msgs.size(); ++i) {
        const ChatMessage &m = msgs.at(i);
        const QString type = m.type();
        if (stopped && type != chat::kTurnEnd)
            return QStringLiteral("%1 after stopped (message %2)").arg(type).arg(i);
        if (type == chat::kTurnStart && i != 0)
            return QStringLiteral("turn_start twice");
        if (type == chat::kTurnEnd)
            ++turnEnds;
        if (type == chat::kStopped)
            stopped = true;
        if (type == chat::kSentence) {
            if (m.json.value(QStringLiteral("index")).toInt() != sentencesSeen)
                return QStringLiteral("sentence index %1, expected %2").arg(m.json.value(QStringLiteral("index")).toInt()).arg(sentencesSeen);
            ++sentencesSeen;
        }
        if (m.isAudio()) {
            const int s = m.sentence();
            if (s >= sentencesSeen)
                return QStringLiteral("audio of sentence %1 before its sentence event").arg(s);
            if (s == audioSentence) {
                if (sentenceClosed)
                    return QStringLiteral("audio of sentence %1 after its last chunk").arg(s);
                if (m.seq() != audioSeq + 1)
                    return QStringLiteral("seq %1 after %2 in sentence %3").arg(m.seq()).arg(audioSeq).arg(s);
            } else {
                if (s < audioSentence)
                    return QStringLiteral("audio of sentence %1 after sentence %2").arg(s).arg(audioSentence);
                if (!sentenceClosed)
                    return QStringLiteral("sentence %1 started before sentence %2 ended").arg(s).arg(audioSentence);
                if (m.seq() != 0)
                    return QStringLiteral("sentence %1 starts with seq %2").arg(s).arg(m.seq());
                audioSentence = s;
            }
            audioSeq = m.seq();
            sentenceClosed = m.last();
        }
    }
    if (turnEnds != 1)
        return QStringLiteral("%1 turn_end messages").arg(turnEnds);
    return {};
}

} // namespace tianyi::test
