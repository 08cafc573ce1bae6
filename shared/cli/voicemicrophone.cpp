#include "voicemicrophone.h"

namespace tianyi::cli {

using namespace tianyi::client;

namespace {
QJsonValue msOrNull(qint64 v)
{
    return v >= 0 ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}
} // namespace

QJsonObject VoiceTiming::toJson() const
{
    return {{QStringLiteral("utterance"), utterance},
            {QStringLiteral("turn"), turn},
            {QStringLiteral("outcome"), outcome},
            {QStringLiteral("partials"), partials},
            {QStringLiteral("speech_end_after_voice_ms"), msOrNull(speechEndAfterVoiceMs)},
            {QStringLiteral("final_after_speech_end_ms"), msOrNull(finalAfterSpeechEndMs)},
            {QStringLiteral("turn_start_after_speech_end_ms"), msOrNull(turnStartAfterSpeechEndMs)},
            {QStringLiteral("first_text_after_speech_end_ms"), msOrNull(firstTextAfterSpeechEndMs)},
            {QStringLiteral("first_audio_after_speech_end_ms"), msOrNull(firstAudioAfterSpeechEndMs)},
            {QStringLiteral("turn_end_after_speech_end_ms"), msOrNull(turnEndAfterSpeechEndMs)}};
}

VoiceMicrophone::VoiceMicrophone(ChatClient *chat, QByteArray recording, qint64 lastVoicedMs, double roomDbfs, quint32 seed,
                                 QObject *parent)
    : QObject(parent)
    , m_chat(chat)
    , m_pacer(chat)
    , m_recording(std::move(recording))
    , m_lastVoicedMs(lastVoicedMs)
{
    m_pacer.setRoomSound(roomDbfs, seed);
    connect(m_chat, &ChatClient::event, this, &VoiceMicrophone::onEvent);
    connect(&m_pacer, &PcmPacer::sendFailed, this, [this]() { emit failed(QStringLiteral("the microphone stream could not be sent")); });
}

void VoiceMicrophone::open()
{
    m_chat->startListening();
}

void VoiceMicrophone::close()
{
    m_pacer.stop();
    if (m_chat->isListening() && m_chat->isOpen())
        m_chat->stopListening();
}

bool VoiceMicrophone::speak()
{
    if (!m_ready || m_speaking)
        return false;
    const qint64 startsAt = m_pacer.enqueue(m_recording);
    if (startsAt < 0)
        return false;
    m_speaking = true;
    m_t = VoiceTiming();
    m_voiceEndAt = m_pacer.spokenAtMs(startsAt + m_lastVoicedMs);
    m_speechEndAt = m_finalAt = m_turnStartAt = m_firstTextAt = m_firstAudioAt = -1;
    return true;
}

void VoiceMicrophone::over(const QString &outcome)
{
    if (!m_speaking)
        return;
    m_speaking = false;
    m_t.outcome = outcome;
    m_t.speechEndAfterVoiceMs = m_speechEndAt >= 0 ? m_speechEndAt - m_voiceEndAt : -1;
    m_t.finalAfterSpeechEndMs = sinceSpeechEnd(m_finalAt);
    m_t.turnStartAfterSpeechEndMs = sinceSpeechEnd(m_turnStartAt);
    m_t.firstTextAfterSpeechEndMs = sinceSpeechEnd(m_firstTextAt);
    m_t.firstAudioAfterSpeechEndMs = sinceSpeechEnd(m_firstAudioAt);
    m_t.turnEndAfterSpeechEndMs = sinceSpeechEnd(monotonicMs());
    emit turnOver(m_t);
}

void VoiceMicrophone::onEvent(const ChatEvent &e)
{
    using K = ChatEvent::Kind;
    if (e.kind == K::Listening && !m_ready) {
        m_ready = true;
        m_pacer.start(false);
        emit ready();
        return;
    }
    if (e.kind == K::Error && e.turn < 0) {
        const QString code = e.str(QStringLiteral("code"));
        // Before `listening` every refusal means listen_start failed; afterwards listening:false says the stream ended.
        const bool stopped = !m_ready || code == chat::kErrAsrUnavailable || e.json.value(QStringLiteral("listening")).toBool(true) == false;
        if (stopped) {
            m_pacer.stop();
            if (!m_ready)
                emit failed(QStringLiteral("listen_start refused: %1: %2").arg(code, e.str(QStringLiteral("message"))));
            over(QStringLiteral("stream_stopped"));
        } else if ((code == chat::kErrAsrFailed || code == chat::kErrAsrBusy) && m_speaking && e.utterance() == m_t.utterance) {
            over(QStringLiteral("asr_failed"));
        }
        return;
    }
    if (!m_speaking)
        return;
    switch (e.kind) {
    case K::SpeechStart:
        if (m_t.utterance < 0)
            m_t.utterance = e.utterance();
        break;
    case K::Transcript:
        if (e.utterance() != m_t.utterance || m_t.utterance < 0)
            break;
        if (!e.json.value(QStringLiteral("final")).toBool()) {
            ++m_t.partials;
            break;
        }
        m_finalAt = e.receivedMs;
        if (e.str(QStringLiteral("text")).trimmed().isEmpty())
            over(QStringLiteral("no_turn"));
        break;
    case K::SpeechEnd:
        if (e.utterance() == m_t.utterance && m_speechEndAt < 0)
            m_speechEndAt = e.receivedMs;
        break;
    case K::TurnStart:
        if (m_t.utterance >= 0 && m_t.turn < 0) {
            m_t.turn = e.turn;
            m_turnStartAt = e.receivedMs;
        }
        break;
    case K::TextDelta:
        if (e.turn == m_t.turn && m_firstTextAt < 0)
            m_firstTextAt = e.receivedMs;
        break;
    case K::Audio:
        if (e.turn == m_t.turn && m_firstAudioAt < 0)
            m_firstAudioAt = e.receivedMs;
        break;
    case K::TurnEnd:
        if (e.turn == m_t.turn)
            over(e.str(QStringLiteral("status")));
        break;
    default:
        break;
    }
}

} // namespace tianyi::cli
