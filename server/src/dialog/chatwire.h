#pragma once
// The wire format of a chat socket, apart from what a chat session IS. A ChatSession keeps
// authentication, admission, the turn lifecycle, queued chats, speech input and the sender's
// guarantee ("nothing of a turn after its stopped / turn_end"); its ChatWire turns the client's
// messages into the session's verbs and encodes what the session sends. "/ws" speaks tianyi's own
// protocol (TianyiWire); other clients' protocols are other wires on other paths, and every
// guarantee of a session holds for them unchanged because the session is the same class.

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <functional>
#include <memory>

class QWebSocket;

namespace tianyi {

class ChatSession;

class ChatWire
{
public:
    virtual ~ChatWire() = default;

    // Once, by the session, before opened().
    void bind(ChatSession &session) { m_session = &session; }

    // What the operator sees as the session's device when the client names none (?device=).
    virtual QString clientName() const { return {}; }
    // Device tokens (long-lived, for clients that cannot log in) are accepted on this wire.
    virtual bool acceptsDeviceTokens() const { return false; }
    // The client says when it has played a turn's audio: turns stay open until
    // ChatSession::playbackComplete (see TurnPipeline::holdUntilPlayback).
    virtual bool holdsTurnsUntilPlayback() const { return false; }

    // The socket is handshaken: read what the handshake carries (a token in the URL, options) and
    // start authentication or its deadline.
    virtual void opened(const QWebSocket &socket) = 0;

    // Client -> session. Called in every phase but Closed: while a token is being checked too (a
    // wire decides whether such early messages wait for hello or are dropped).
    virtual void text(const QString &message) = 0;
    virtual void binary(const QByteArray &message) = 0;

    // Session -> client.
    virtual void hello() = 0;                                  // authenticated and admitted
    virtual void authenticated(qint64 tokenExpiresAtS) = 0;   // a fresh token on an open socket
    // Events of a turn that passed the session's guarantee filter (the wire adds what it needs).
    virtual void turnEvent(int turn, const QString &type, const QJsonObject &fields) = 0;
    virtual void turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm) = 0;
    virtual void turnSynthesized(int turn) { Q_UNUSED(turn) } // only when holdsTurnsUntilPlayback()
    virtual void transcript(const QString &text) = 0;         // the recognized speech input
    // Hands-free listening (listening, speech_start, transcript with its utterance, speech_end): only
    // wires whose clients can listen_start send them; the others never see one.
    virtual void listenEvent(const QString &type, const QJsonObject &fields) { Q_UNUSED(type) Q_UNUSED(fields) }
    virtual void error(const QString &code, const QString &message, const QJsonObject &extra) = 0;

protected:
    ChatSession &session() const { return *m_session; }

private:
    ChatSession *m_session = nullptr;
};

using ChatWireFactory = std::function<std::unique_ptr<ChatWire>()>;

} // namespace tianyi
