#pragma once
// Client of the chat socket /ws (docs/protocol.md "Chat socket"). Parses every server event into a
// ChatEvent (one type, so that recorders and checkers see one ordered stream) and also emits typed
// signals for convenience. Used by tianyi-cli, bench and the tests.
//
// Bounded: incoming messages are capped in size (QWebSocket limits), the outgoing queue is capped
// (sends beyond it are refused with an error instead of buffered), and nothing is kept after it
// was emitted.

#include "tianyi/chatprotocol.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QUrl>
#include <QVector>

class QWebSocket;

namespace tianyi::client {

// Monotonic milliseconds (steady clock); every timestamp of the client library uses it.
qint64 monotonicMs();

enum class AudioMode { Binary, Json };

struct Hello {
    int protocol = 0;
    QString sessionId;
    qint64 userId = 0;
    QString username;
    QString nickname;
    QString personaName;
    QList<QPair<QString, QString>> emotions;   // {id, label}
    QString audioFormat;
    int sampleRate = 0;
    int channels = 0;
    bool speechInput = false;    // push-to-talk is accepted (audio_start)
    bool listening = false;      // hands-free listening is accepted (listen_start)
    QJsonObject raw;

    static Hello fromJson(const QJsonObject &json);
    QString labelFor(const QString &emotionId) const;
};

struct AudioChunk {
    qint64 turn = -1;
    int sentence = -1;
    int seq = -1;
    int sampleRate = 0;
    bool last = false;
    QByteArray pcm;              // s16le mono
    QVector<float> volumes;      // json mode only: 0..1 per 20 ms
    bool binary = true;          // arrived as a binary frame (false: json `audio` event)

    qint64 durationMs() const;
};

struct TurnStats {
    qint64 ttftMs = -1;
    qint64 firstAudioMs = -1;
    qint64 totalMs = -1;
    qint64 tokens = -1;
    qint64 sentences = -1;
    qint64 audioMs = -1;

    static TurnStats fromJson(const QJsonObject &stats);
};

// `listening {vad:{endpointing_ms, interruption_min_ms}}`: the server accepted listen_start.
struct ListeningInfo {
    qint64 endpointingMs = -1;       // -1: the server did not say
    qint64 interruptionMinMs = -1;

    static ListeningInfo fromJson(const QJsonObject &json);
};

// `transcript {utterance?, text, final}`: a partial (final false) or the final transcript of an
// utterance (hands-free), or of a push-to-talk recording (no utterance: -1).
struct Transcript {
    qint64 utterance = -1;
    QString text;
    bool final = false;

    static Transcript fromJson(const QJsonObject &json);
};

// One message from the server, in arrival order.
struct ChatEvent {
    enum class Kind { Hello, Pong, TurnStart, Emotion, TextDelta, Sentence, Audio, Transcript, TurnEnd, Stopped, Error,
                      Listening, SpeechStart, SpeechEnd, Duck, Unduck, Other };

    Kind kind = Kind::Other;
    QString type;                // the JSON "type" (for binary audio: "audio")
    qint64 turn = -1;            // -1 = the message carries no turn
    QJsonObject json;            // the whole JSON message (empty for binary audio)
    AudioChunk audio;            // Kind::Audio only
    qint64 receivedMs = 0;       // monotonicMs() at arrival

    // Convenience accessors for the JSON fields (defaults when absent).
    QString str(const QString &key) const { return json.value(key).toString(); }
    qint64 integer(const QString &key, qint64 fallback = -1) const;

    // A message of a turn's own stream (guarantees 1 and 2 apply to these). duck/unduck name the turn
    // she is speaking but belong to the listening stream: they may come after that turn ended.
    bool belongsToTurn() const { return turn >= 0 && !isListening() && kind != Kind::Hello && kind != Kind::Pong; }
    // A message of the hands-free listening stream (listening, speech_start/end, duck, unduck).
    bool isListening() const;
    // speech_start, transcript and speech_end of hands-free speech: the utterance number, else -1.
    qint64 utterance() const { return integer(QStringLiteral("utterance"), -1); }
    static QString kindName(Kind kind);
};

class ChatClient : public QObject
{
    Q_OBJECT

public:
    static constexpr qint64 kDefaultMaxIncomingMessageBytes = 8 << 20;
    static constexpr qint64 kDefaultMaxOutgoingQueueBytes = 4 << 20;

    explicit ChatClient(QObject *parent = nullptr);
    ~ChatClient() override;

    // Caps; call before open().
    void setMaxIncomingMessageBytes(qint64 bytes) { m_maxIncoming = bytes; }
    void setMaxOutgoingQueueBytes(qint64 bytes) { m_maxOutgoing = bytes; }
    // Authenticate with a first {"type":"auth"} message instead of ?token= (default: query).
    // The token goes in the first message (the default: URLs end up in proxy logs) or, for servers
    // that only read it there, in the URL's ?token=.
    void setAuthByMessage(bool byMessage) { m_authByMessage = byMessage; }
    // Sends a fresh access token of the same account on the open socket: the server then keeps it open
    // past the old token's expiry (tokenExpiry() tells when that is).
    void reauthenticate(const QString &accessToken);

    // The socket URL for an HTTP base URL: http->ws, https->wss, path + "/ws", ?token=&audio=.
    static QUrl socketUrl(const QUrl &baseUrl, const QString &token, AudioMode mode, bool tokenInQuery = true);

    // Opens the socket. Results: connected() then helloReceived(), or disconnected(code, reason).
    void open(const QUrl &baseUrl, const QString &accessToken, AudioMode mode = AudioMode::Binary);
    void close(int code = 1000, const QString &reason = {});

    bool isOpen() const;
    bool hasHello() const { return m_hasHello; }
    const Hello &hello() const { return m_hello; }
    AudioMode audioMode() const { return m_mode; }

    // Starts a turn (the server numbers it). Emits chatSent() with the send time.
    void chat(const QString &text, const QString &clientMsgId = {});
    // Barge-in. turn < 0 / playedMs < 0: the field is left out.
    void stop(qint64 turn = -1, qint64 playedMs = -1);
    void ping();
    // Speech input: audio_start, raw PCM frames, audio_end. Each returns false (and emits
    // errorOccurred) when the socket is not open or the outgoing queue is over its cap.
    bool startAudio(int sampleRate = 16000);
    bool sendAudioFrame(const QByteArray &pcm);
    bool endAudio();
    // All three at once, cut into frames of frameBytes.
    bool sendAudio(const QByteArray &pcm, int sampleRate = 16000, int frameBytes = 3200);
    // Hands-free: listen_start (answered by listening() or an asr_unavailable serverError), then
    // microphone PCM with sendListenAudio() as it is recorded, then listen_stop. The same caps as
    // sendAudioFrame: false (and errorOccurred) when the socket is closed or its queue is full.
    bool startListening(int sampleRate = chat::kListenSampleRate);
    bool sendListenAudio(const QByteArray &pcm);
    bool stopListening();
    // listen_start was sent and listen_stop not yet.
    bool isListening() const { return m_listening; }
    // Any JSON message (for tests of malformed input and future types).
    bool sendJson(const QJsonObject &message);

    qint64 bytesQueued() const;
    int closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }

    // Human text for a close code ("unauthorized", "slow consumer", ...).
    static QString closeCodeName(int code);

signals:
    void connected();
    void helloReceived(const tianyi::client::Hello &hello);
    // Every server message, in order (also the ones with a typed signal below).
    void event(const tianyi::client::ChatEvent &event);
    void turnStarted(const tianyi::client::ChatEvent &event);
    void emotion(const tianyi::client::ChatEvent &event);
    void textDelta(qint64 turn, const QString &delta);
    void sentence(const tianyi::client::ChatEvent &event);
    void audio(const tianyi::client::AudioChunk &chunk);
    void transcript(const tianyi::client::ChatEvent &event);
    void turnEnded(const tianyi::client::ChatEvent &event);
    // reason: empty for a stop or a new chat, chat::kStopReasonVoice for a barge-in by voice.
    void stopped(qint64 turn, qint64 stopMs, const QString &reason);
    // Hands-free listening.
    void listening(const tianyi::client::ListeningInfo &info);
    void speechStarted(qint64 utterance);
    void transcriptReceived(const tianyi::client::Transcript &transcript);   // partial or final
    void speechEnded(qint64 utterance, qint64 durationMs);
    void ducked(qint64 turn);
    void unducked(qint64 turn);
    void serverError(const tianyi::client::ChatEvent &event);
    void pong();
    // A chat message left the client (sentMs: monotonicMs()).
    void chatSent(const QString &text, const QString &clientMsgId, qint64 sentMs);
    // The server sent something that breaks the protocol (bad JSON, bad audio frame, ...).
    void protocolViolation(const QString &what);
    // Transport problems and refused sends.
    void errorOccurred(const QString &message);
    // Once per open(): the close code (1006 when the connection failed or dropped) and reason.
    void disconnected(int closeCode, const QString &reason);
    // When the server will close the socket unless it gets a fresh token (hello, then each accepted auth).
    void tokenExpiry(qint64 expiresAtSecs);

private:
    void onText(const QString &message);
    void onBinary(const QByteArray &message);
    void onDisconnected();
    void dispatch(ChatEvent &event);
    bool sendText(const QJsonObject &message);
    bool canSend(qint64 extraBytes);
    void resetSocket();

    QWebSocket *m_socket = nullptr;
    AudioMode m_mode = AudioMode::Binary;
    QString m_token;
    bool m_authByMessage = true;
    bool m_hasHello = false;
    bool m_listening = false;
    bool m_disconnectReported = true;
    Hello m_hello;
    int m_closeCode = 0;
    QString m_closeReason;
    QString m_lastError;
    qint64 m_maxIncoming = kDefaultMaxIncomingMessageBytes;
    qint64 m_maxOutgoing = kDefaultMaxOutgoingQueueBytes;
};

} // namespace tianyi::client
