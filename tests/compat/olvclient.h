#pragma once
// A scripted Open-LLM-VTuber frontend: sends exactly what OLV's web page and desktop pet send and
// records everything the server answers, in order. The message shapes are those of
// Open-LLM-VTuber-Web: src/renderer/src/services/websocket-service.tsx (on open: fetch-backgrounds,
// fetch-configs, fetch-history-list, create-new-history), hooks/utils/use-send-audio.ts
// (mic-audio-data {audio: Array.from(Float32Array chunk of 4096)} ... then mic-audio-end),
// hooks/utils/use-interrupt.ts (interrupt-signal {text: the display texts played so far}),
// hooks/utils/use-audio-task.ts (frontend-playback-complete once the backend's synthesis is
// complete and the audio queue is empty), components/sidebar/... (text-input {text, images}).

#include <QJsonArray>
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

class OlvClient : public QObject
{
    Q_OBJECT
public:
    static constexpr int kMicChunkSamples = 4096; // use-send-audio.ts chunkSize

    explicit OlvClient(QObject *parent = nullptr) : QObject(parent)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this,
                [this](const QString &text) { messages.append(QJsonDocument::fromJson(text.toUtf8()).object()); });
        connect(&socket, &QWebSocket::disconnected, this, [this]() {
            closed = true;
            closeCode = int(socket.closeCode());
        });
    }

    void open(quint16 port, const QByteArray &token, const QString &path = QStringLiteral("/client-ws"))
    {
        QUrl url(QStringLiteral("ws://127.0.0.1:%1%2").arg(port).arg(path));
        if (!token.isEmpty()) {
            QUrlQuery q;
            q.addQueryItem(QStringLiteral("token"), QString::fromLatin1(token));
            url.setQuery(q);
        }
        socket.open(url);
    }
    bool waitConnected(int timeoutMs = 20000)
    {
        return QTest::qWaitFor([&]() { return socket.state() == QAbstractSocket::ConnectedState || closed; }, timeoutMs) && !closed;
    }
    // What OLV's frontend sends as soon as its socket opens.
    void sendOpeningMessages()
    {
        send({{QStringLiteral("type"), QStringLiteral("fetch-backgrounds")}});
        send({{QStringLiteral("type"), QStringLiteral("fetch-configs")}});
        send({{QStringLiteral("type"), QStringLiteral("fetch-history-list")}});
        send({{QStringLiteral("type"), QStringLiteral("create-new-history")}});
    }
    void send(const QJsonObject &o) { socket.sendTextMessage(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact))); }
    void sendType(const QString &type) { send({{QStringLiteral("type"), type}}); }
    void textInput(const QString &text) { send({{QStringLiteral("type"), QStringLiteral("text-input")}, {QStringLiteral("text"), text}, {QStringLiteral("images"), QJsonArray()}}); }
    // One recorded utterance as use-send-audio.ts sends it: chunks of 4096 samples, then the end.
    void speak(const QVector<float> &samples)
    {
        for (int i = 0; i < samples.size(); i += kMicChunkSamples) {
            QJsonArray chunk;
            for (int j = i; j < std::min<int>(i + kMicChunkSamples, samples.size()); ++j)
                chunk.append(double(samples.at(j)));
            send({{QStringLiteral("type"), QStringLiteral("mic-audio-data")}, {QStringLiteral("audio"), chunk}});
        }
        sendType(QStringLiteral("mic-audio-end"));
    }

    static QString typeOf(const QJsonObject &m)
    {
        const QString type = m.value(QStringLiteral("type")).toString();
        return type == QLatin1String("control") ? QStringLiteral("control:") + m.value(QStringLiteral("text")).toString() : type;
    }
    // "control:conversation-chain-start" names a control message by its text.
    int indexOf(const QString &type, int from = 0) const
    {
        for (int i = from; i < messages.size(); ++i)
            if (typeOf(messages.at(i)) == type)
                return i;
        return -1;
    }
    int count(const QString &type, int from = 0) const
    {
        int n = 0;
        for (int i = from; i < messages.size(); ++i)
            n += typeOf(messages.at(i)) == type ? 1 : 0;
        return n;
    }
    QJsonObject first(const QString &type, int from = 0) const
    {
        const int i = indexOf(type, from);
        return i >= 0 ? messages.at(i) : QJsonObject();
    }
    QStringList types(int from = 0) const
    {
        QStringList out;
        for (int i = from; i < messages.size(); ++i)
            out << typeOf(messages.at(i));
        return out;
    }
    bool waitFor(const std::function<bool()> &pred, int timeoutMs = 20000) { return QTest::qWaitFor(pred, timeoutMs); }
    bool waitForType(const QString &type, int from = 0, int timeoutMs = 20000)
    {
        return waitFor([&]() { return indexOf(type, from) >= 0; }, timeoutMs);
    }
    bool waitClosed(int timeoutMs = 20000) { return waitFor([&]() { return closed; }, timeoutMs); }

    QWebSocket socket;
    QList<QJsonObject> messages;
    bool closed = false;
    int closeCode = -1;
};

} // namespace tianyi::test
