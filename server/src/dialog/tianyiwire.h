#pragma once
// Tianyi's own chat protocol (docs/protocol.md) on "/ws": a first {"type":"auth"} message or
// ?token= for older clients, hello, chat / stop / audio_start + binary PCM + audio_end / ping /
// auth with a fresh token / listen_start + binary PCM + listen_stop (hands-free); turn events as
// JSON, turn audio as binary frames or, with ?audio=json, as JSON with base64 PCM and lip-sync volumes.

#include "dialog/chatwire.h"

namespace tianyi {

class TianyiWire : public ChatWire
{
public:
    void opened(const QWebSocket &socket) override;
    void text(const QString &message) override;
    void binary(const QByteArray &message) override;

    void hello() override;
    void authenticated(qint64 tokenExpiresAtS) override;
    void turnEvent(int turn, const QString &type, const QJsonObject &fields) override;
    void turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm) override;
    void transcript(const QString &text) override;
    void listenEvent(const QString &type, const QJsonObject &fields) override;
    void error(const QString &code, const QString &message, const QJsonObject &extra) override;

private:
    void handleMessage(const QJsonObject &message);
    void handleChat(const QJsonObject &message);
    void handleStop(const QJsonObject &message);

    bool m_jsonAudio = false;
};

} // namespace tianyi
