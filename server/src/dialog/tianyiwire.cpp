#include "dialog/tianyiwire.h"

#include "base/config.h"
#include "dialog/chatsession.h"
#include "dialog/listeningsession.h"
#include "prompt/personacard.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QUrlQuery>
#include <QWebSocket>
#include <cmath>
#include <tianyi/chatprotocol.h>
#include <tianyi/wav.h>

namespace tianyi {

namespace {

// hello.persona: name, emotions and, when a Live2D model is configured, where the page finds it
// (relative URLs: they work behind a reverse proxy under a path prefix too).
QJsonObject personaHello(const PersonaCard &persona, const WebSettings &web)
{
    QJsonArray emotions;
    for (const PersonaEmotion &e : persona.emotions)
        emotions.append(QJsonObject{{QStringLiteral("id"), e.id}, {QStringLiteral("label"), e.label},
                                    {QStringLiteral("live2d_expression"), e.live2dExpression}});
    QJsonObject out{{QStringLiteral("name"), persona.name},
                    {QStringLiteral("default_emotion"), persona.defaultEmotion},
                    {QStringLiteral("emotions"), emotions}};
    if (!web.live2dModel.isEmpty())
        out.insert(QStringLiteral("live2d"), QJsonObject{{QStringLiteral("model_url"), QStringLiteral("live2d/") + web.live2dModel},
                                                         {QStringLiteral("libs_url"), QStringLiteral("live2d/lib/")}});
    return out;
}

QString typeOf(const QJsonObject &o)
{
    return o.value(QStringLiteral("type")).toString();
}

} // namespace

void TianyiWire::opened(const QWebSocket &socket)
{
    const QUrlQuery query(socket.requestUrl());
    m_jsonAudio = query.queryItemValue(QStringLiteral("audio")) == QLatin1String("json");
    const QString token = query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
    if (!token.isEmpty())
        session().authenticate(token);
    else
        session().startAuthDeadline();
}

void TianyiWire::text(const QString &message)
{
    ChatSession &s = session();
    if (s.phase() == ChatSession::Phase::Authenticating)
        return; // clients wait for hello: what comes before it is dropped
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        if (s.phase() == ChatSession::Phase::AwaitingAuth)
            s.close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
        else
            s.malformed(QStringLiteral("messages must be JSON objects"));
        return;
    }
    const QJsonObject object = doc.object();
    if (s.phase() == ChatSession::Phase::AwaitingAuth) {
        const QString token = object.value(QStringLiteral("token")).toString();
        if (typeOf(object) != chat::kAuth || token.isEmpty()) {
            s.close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
            return;
        }
        s.authenticate(token);
        return;
    }
    handleMessage(object);
}

void TianyiWire::binary(const QByteArray &message)
{
    if (session().phase() == ChatSession::Phase::Authenticating)
        return;
    if (session().phase() == ChatSession::Phase::AwaitingAuth) {
        session().close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
        return;
    }
    session().speechAppend(message);
}

void TianyiWire::handleMessage(const QJsonObject &message)
{
    ChatSession &s = session();
    const QString type = typeOf(message);
    if (type == chat::kPing) {
        s.sendJson({{QStringLiteral("type"), chat::kPong}});
    } else if (type == chat::kChat) {
        handleChat(message);
    } else if (type == chat::kStop) {
        handleStop(message);
    } else if (type == chat::kAudioStart) {
        s.speechStart(message);
    } else if (type == chat::kAudioEnd) {
        s.speechFinish();
    } else if (type == chat::kListenStart) {
        s.listenStart(message);
    } else if (type == chat::kListenStop) {
        s.listenStop();
    } else if (type == chat::kAuth) {
        const QJsonValue token = message.value(QStringLiteral("token"));
        if (!token.isString() || token.toString().isEmpty())
            s.malformed(QStringLiteral("auth needs a \"token\""));
        else
            s.reauthenticate(token.toString());
    } else {
        s.malformed(type.isEmpty() ? QStringLiteral("a message needs a \"type\"") : QStringLiteral("unknown message type \"%1\"").arg(type));
    }
}

void TianyiWire::handleChat(const QJsonObject &message)
{
    const QJsonValue textValue = message.value(QStringLiteral("text"));
    if (!textValue.isString() || textValue.toString().trimmed().isEmpty()) {
        session().malformed(QStringLiteral("chat needs a non-empty \"text\""));
        return;
    }
    const QJsonValue clientMsgId = message.value(QStringLiteral("client_msg_id"));
    session().chat(textValue.toString().trimmed(),
                   clientMsgId.isString() ? clientMsgId.toString() : clientMsgId.isDouble() ? QString::number(clientMsgId.toDouble()) : QString());
}

void TianyiWire::handleStop(const QJsonObject &message)
{
    std::optional<qint64> played;
    const QJsonValue playedValue = message.value(QStringLiteral("played_ms"));
    if (!playedValue.isUndefined() && !playedValue.isNull()) {
        if (!playedValue.isDouble() || playedValue.toDouble() < 0) {
            session().malformed(QStringLiteral("played_ms must be a non-negative number"));
            return;
        }
        played = qint64(playedValue.toDouble());
    }
    const QJsonValue turnValue = message.value(QStringLiteral("turn"));
    if (!turnValue.isUndefined() && !turnValue.isNull() && !turnValue.isDouble()) {
        session().malformed(QStringLiteral("turn must be a number"));
        return;
    }
    session().stop(played, turnValue.isDouble() ? std::optional<int>(turnValue.toInt()) : std::nullopt);
}

void TianyiWire::hello()
{
    ChatSession &s = session();
    const TurnServices &services = s.services();
    s.sendJson({{QStringLiteral("type"), chat::kHello},
                {QStringLiteral("protocol"), chat::kProtocolVersion},
                {QStringLiteral("session_id"), s.sessionId()},
                {QStringLiteral("user"), QJsonObject{{QStringLiteral("id"), s.userId()},
                                                     {QStringLiteral("username"), s.username()},
                                                     {QStringLiteral("nickname"), s.nickname()}}},
                {QStringLiteral("token_expires_at"), s.tokenExpiresAt()},
                {QStringLiteral("persona"), personaHello(*services.persona, services.config->web)},
                {QStringLiteral("speech_input"), services.asr != nullptr},
                {QStringLiteral("listening"), services.asr != nullptr}, // listen_start is accepted
                {QStringLiteral("audio"), QJsonObject{{QStringLiteral("format"), QStringLiteral("pcm_s16le")},
                                                      {QStringLiteral("sample_rate"), s.ttsSampleRate()},
                                                      {QStringLiteral("mode"), m_jsonAudio ? QStringLiteral("json") : QStringLiteral("binary")},
                                                      {QStringLiteral("channels"), 1}}}});
}

void TianyiWire::authenticated(qint64 tokenExpiresAtS)
{
    session().sendJson({{QStringLiteral("type"), chat::kAuthenticated}, {QStringLiteral("token_expires_at"), tokenExpiresAtS}});
}

void TianyiWire::turnEvent(int turn, const QString &type, const QJsonObject &fields)
{
    QJsonObject out = fields;
    out.insert(QStringLiteral("type"), type);
    out.insert(QStringLiteral("turn"), turn);
    session().sendJson(out);
}

void TianyiWire::turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm)
{
    if (m_jsonAudio) {
        QJsonArray volumes;
        for (float v : wav::volumeEnvelope(pcm, sampleRate))
            volumes.append(std::round(double(v) * 1000.0) / 1000.0);
        session().sendJson({{QStringLiteral("type"), chat::kAudio},
                            {QStringLiteral("turn"), turn},
                            {QStringLiteral("sentence"), sentence},
                            {QStringLiteral("seq"), seq},
                            {QStringLiteral("sample_rate"), sampleRate},
                            {QStringLiteral("last"), last},
                            {QStringLiteral("pcm"), QString::fromLatin1(pcm.toBase64())},
                            {QStringLiteral("volumes"), volumes}});
        return;
    }
    chat::AudioFrameHeader header;
    header.turn = quint32(turn);
    header.sentence = quint16(sentence);
    header.seq = quint16(seq);
    header.sampleRate = quint32(sampleRate);
    header.last = last;
    session().sendBinary(chat::encodeAudioFrame(header, pcm));
}

void TianyiWire::transcript(const QString &text)
{
    session().sendJson({{QStringLiteral("type"), chat::kTranscript}, {QStringLiteral("text"), text}, {QStringLiteral("final"), true}});
}

void TianyiWire::listenEvent(const QString &type, const QJsonObject &fields)
{
    QJsonObject out = fields;
    out.insert(QStringLiteral("type"), type);
    session().sendJson(out);
}

void TianyiWire::error(const QString &code, const QString &message, const QJsonObject &extra)
{
    QJsonObject o = extra;
    o.insert(QStringLiteral("type"), chat::kError);
    o.insert(QStringLiteral("code"), code);
    o.insert(QStringLiteral("message"), message);
    session().sendJson(o);
}

} // namespace tianyi
