#include "compat/olvwire.h"

#include "base/config.h"
#include "base/logging.h"
#include "compat/floatpcm.h"
#include "dialog/chatsession.h"
#include "history/conversationeraser.h"
#include "prompt/personacard.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QUrlQuery>
#include <QWebSocket>
#include <cmath>
#include <utility>
#include <tianyi/chatprotocol.h>

namespace tianyi::olv {

namespace {

// Message types of OLV's frontend (Open-LLM-VTuber-Web src/renderer/src/services/websocket-handler.tsx
// and hooks; server side src/open_llm_vtuber/websocket_handler.py and conversations/).
const QString kControl = QStringLiteral("control");
const QString kFullText = QStringLiteral("full-text");
const QString kThinking = QStringLiteral("Thinking...");

QString removeWhitespace(const QString &s)
{
    QString out;
    out.reserve(s.size());
    for (const QChar c : s)
        if (!c.isSpace())
            out += c;
    return out;
}

} // namespace

QJsonValue modelInfo(const PersonaCard &persona, const WebSettings &web)
{
    if (web.live2dModel.isEmpty())
        return QJsonValue::Null;
    QJsonObject emotionMap;
    for (const PersonaEmotion &e : persona.emotions) {
        emotionMap.insert(e.id, e.live2dExpression);
        emotionMap.insert(e.label, e.live2dExpression);
    }
    // OLV's frontend prepends its "base URL" setting to a url that does not start with http, so
    // the path is absolute on this server: the user sets the base URL to the server's address.
    return QJsonObject{{QStringLiteral("name"), persona.nameEn.isEmpty() ? persona.id : persona.nameEn},
                       {QStringLiteral("description"), persona.name},
                       {QStringLiteral("url"), QStringLiteral("/live2d/") + web.live2dModel},
                       {QStringLiteral("kScale"), 0.5},
                       {QStringLiteral("initialXshift"), 0},
                       {QStringLiteral("initialYshift"), 0},
                       {QStringLiteral("idleMotionGroupName"), QStringLiteral("Idle")},
                       {QStringLiteral("emotionMap"), emotionMap},
                       {QStringLiteral("tapMotions"), QJsonObject()}};
}

int sentencesCovered(const QString &heard, const QStringList &sentences)
{
    const QString heardText = removeWhitespace(heard);
    QString covered;
    int count = 0;
    for (const QString &sentence : sentences) {
        const QString next = covered + removeWhitespace(sentence);
        if (!heardText.startsWith(next))
            break;
        covered = next;
        ++count;
    }
    return count;
}

OlvWire::OlvWire(const CompatSettings &settings)
    : m_settings(settings)
{
    m_playbackTimer.setSingleShot(true);
    QObject::connect(&m_playbackTimer, &QTimer::timeout, &m_playbackTimer, [this]() {
        CorrelationScope scope(QStringLiteral("%1#%2").arg(session().userId()).arg(session().sessionId()));
        qCInfo(lcWs) << "no frontend-playback-complete within" << m_settings.olvPlaybackTimeoutMs << "ms: the turn ends";
        playbackComplete();
    });
}

void OlvWire::send(const QString &type, QJsonObject fields)
{
    fields.insert(QStringLiteral("type"), type);
    session().sendJson(fields);
}

void OlvWire::opened(const QWebSocket &socket)
{
    const QString token = QUrlQuery(socket.requestUrl()).queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
    if (token.isEmpty()) {
        session().close(chat::kCloseUnauthorized, QStringLiteral("a token is required: add ?token=... to the server URL"));
        return;
    }
    session().authenticate(token);
}

void OlvWire::text(const QString &message)
{
    ChatSession &s = session();
    if (s.phase() == ChatSession::Phase::AwaitingAuth) { // not reached: the token comes with the URL
        s.close(chat::kCloseUnauthorized, QStringLiteral("authenticate first"));
        return;
    }
    if (s.phase() == ChatSession::Phase::Authenticating) {
        if (m_earlyBytes + message.size() <= kMaxEarlyBytes) {
            m_earlyBytes += message.size();
            m_early << message;
        }
        return;
    }
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(message.toUtf8(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
        s.malformed(QStringLiteral("messages must be JSON objects"));
        return;
    }
    const QJsonObject object = doc.object();
    handle(object.value(QStringLiteral("type")).toString(), object);
}

void OlvWire::binary(const QByteArray &)
{
    session().malformed(QStringLiteral("binary messages are not part of this protocol"));
}

void OlvWire::handle(const QString &type, const QJsonObject &message)
{
    ChatSession &s = session();
    const PersonaCard &persona = *s.services().persona;
    if (type == QLatin1String("text-input")) {
        // images (OLV's camera and screen capture) are ignored: the language model gets text only
        const QString text = message.value(QStringLiteral("text")).toString().trimmed();
        if (text.isEmpty())
            s.malformed(QStringLiteral("text-input needs a non-empty \"text\""));
        else
            s.chat(text, QString());
    } else if (type == QLatin1String("mic-audio-data")) {
        micData(message);
    } else if (type == QLatin1String("mic-audio-end")) {
        micEnd();
    } else if (type == QLatin1String("interrupt-signal")) {
        interrupt(message);
    } else if (type == QLatin1String("frontend-playback-complete")) {
        if (m_awaitingPlayback)
            playbackComplete();
    } else if (type == QLatin1String("heartbeat")) {
        send(QStringLiteral("heartbeat-ack"));
    } else if (type == QLatin1String("audio-play-start") || type == QLatin1String("ai-speak-signal")) {
        // Group forwarding and proactive speech: not offered; the client carries on without them.
    } else if (type == QLatin1String("fetch-history-list")) {
        fetchHistoryList();
    } else if (type == QLatin1String("fetch-and-set-history")) {
        fetchHistory(message);
    } else if (type == QLatin1String("create-new-history")) {
        s.startNewConversation();
        send(QStringLiteral("new-history-created"), {{QStringLiteral("history_uid"), s.conversationId()}});
    } else if (type == QLatin1String("delete-history")) {
        deleteHistory(message);
    } else if (type == QLatin1String("fetch-configs")) {
        send(QStringLiteral("config-files"),
             {{QStringLiteral("configs"), QJsonArray{QJsonObject{{QStringLiteral("filename"), persona.id + QStringLiteral(".yaml")},
                                                                 {QStringLiteral("name"), persona.name}}}}});
    } else if (type == QLatin1String("switch-config")) {
        if (message.value(QStringLiteral("file")).toString() != persona.id + QStringLiteral(".yaml")) {
            s.sendError(chat::kErrBadRequest, QStringLiteral("this server has one character"));
            return;
        }
        sendModelAndConf();
        send(QStringLiteral("config-switched"), {{QStringLiteral("message"), persona.name}});
    } else if (type == QLatin1String("request-init-config")) {
        sendModelAndConf();
    } else if (type == QLatin1String("fetch-backgrounds")) {
        send(QStringLiteral("background-files"), {{QStringLiteral("files"), QJsonArray()}});
    } else if (type == QLatin1String("request-group-info")) {
        send(QStringLiteral("group-update"), {{QStringLiteral("members"), QJsonArray()}, {QStringLiteral("is_owner"), false}});
    } else if (type == QLatin1String("add-client-to-group") || type == QLatin1String("remove-client-from-group")) {
        s.sendError(chat::kErrBadRequest, QStringLiteral("groups are not supported: each account talks on its own"));
    } else if (type == QLatin1String("raw-audio-data")) {
        s.malformed(QStringLiteral("raw-audio-data (voice detection on the server) is not supported: use the client's own voice detection"));
    } else {
        s.malformed(type.isEmpty() ? QStringLiteral("a message needs a \"type\"") : QStringLiteral("unknown message type \"%1\"").arg(type));
    }
}

void OlvWire::micData(const QJsonObject &message)
{
    const QJsonValue audio = message.value(QStringLiteral("audio"));
    if (!audio.isArray()) {
        session().malformed(QStringLiteral("mic-audio-data needs an \"audio\" array of samples"));
        return;
    }
    const std::optional<QByteArray> pcm = floatSamplesToPcm(audio.toArray());
    if (!pcm) {
        session().malformed(QStringLiteral("mic-audio-data carries at most %1 samples per message").arg(kMaxSamplesPerChunk));
        return;
    }
    if (!m_micOpen) {
        m_micOpen = true;
        session().speechStart({{QStringLiteral("format"), QStringLiteral("pcm_s16le")}, {QStringLiteral("sample_rate"), kMicSampleRate}});
    }
    if (!pcm->isEmpty())
        session().speechAppend(*pcm);
}

void OlvWire::micEnd()
{
    if (!m_micOpen) {
        session().malformed(QStringLiteral("mic-audio-end without mic-audio-data"));
        return;
    }
    m_micOpen = false;
    session().speechFinish();
}

void OlvWire::interrupt(const QJsonObject &message)
{
    ChatSession &s = session();
    if (m_turn.number == 0 || s.currentTurn() != m_turn.number)
        return; // the turn is over (it was stored): nothing to stop
    QStringList sent;
    for (int i = 0; i < m_turn.nextToSend; ++i)
        sent << m_turn.sentences.at(i).text;
    const int heard = sentencesCovered(message.value(QStringLiteral("text")).toString(), sent);
    qint64 playedMs = 0;
    for (int i = 0; i < heard; ++i)
        playedMs += m_turn.sentences.at(i).durationMs;
    s.stop(playedMs, m_turn.number);
}

bool OlvWire::startHistoryRead()
{
    if (m_historyReads >= kMaxHistoryReadsInFlight) {
        session().sendError(chat::kErrRateLimited, QStringLiteral("a history request is still running"));
        return false;
    }
    ++m_historyReads;
    return true;
}

void OlvWire::fetchHistoryList()
{
    ChatSession &s = session();
    if (!startHistoryRead())
        return;
    m_history->list(&s, s.userId(), [this](std::optional<QJsonArray> histories) {
        --m_historyReads;
        if (!histories)
            session().sendError(chat::kErrInternal, QStringLiteral("the histories could not be read"));
        else
            send(QStringLiteral("history-list"), {{QStringLiteral("histories"), *histories}});
    });
}

void OlvWire::fetchHistory(const QJsonObject &message)
{
    ChatSession &s = session();
    const QString uid = message.value(QStringLiteral("history_uid")).toString();
    if (uid.isEmpty()) {
        s.malformed(QStringLiteral("fetch-and-set-history needs a \"history_uid\""));
        return;
    }
    if (!startHistoryRead())
        return;
    m_history->messages(&s, s.userId(), uid, [this, uid](std::optional<QJsonArray> messages) {
        --m_historyReads;
        if (!messages) {
            session().sendError(chat::kErrInternal, QStringLiteral("the history could not be read"));
        } else if (messages->isEmpty() && uid != session().conversationId()) {
            session().sendError(QStringLiteral("not_found"), QStringLiteral("no such history"));
        } else {
            send(QStringLiteral("history-data"), {{QStringLiteral("messages"), *messages}});
        }
    });
}

void OlvWire::deleteHistory(const QJsonObject &message)
{
    ChatSession &s = session();
    const QString uid = message.value(QStringLiteral("history_uid")).toString();
    if (uid.isEmpty()) {
        s.malformed(QStringLiteral("delete-history needs a \"history_uid\""));
        return;
    }
    if (!startHistoryRead())
        return;
    const TurnServices &services = s.services();
    ConversationEraser(*services.db, services.audio, *services.contexts)
        .erase(s.userId(), uid, &s, [this, uid](const ConversationDeletion &deletion) {
            --m_historyReads;
            ChatSession &session = this->session();
            const bool deleted = deletion.status == ConversationDeletion::Status::Deleted;
            if (deleted && uid == session.conversationId())
                session.startNewConversation(); // later turns must not bring the deleted history back
            switch (deletion.status) {
            case ConversationDeletion::Status::Deleted:
                break;
            case ConversationDeletion::Status::NotFound:
            case ConversationDeletion::Status::Denied:
                session.sendError(QStringLiteral("not_found"), QStringLiteral("no such history"));
                break;
            case ConversationDeletion::Status::InProgress:
                session.sendError(QStringLiteral("conversation_in_progress"),
                                  QStringLiteral("that conversation is still in progress: try again when she has finished"));
                break;
            case ConversationDeletion::Status::StorageBusy:
            case ConversationDeletion::Status::StorageError:
                session.sendError(chat::kErrInternal, QStringLiteral("the history could not be deleted; try again"));
                break;
            }
            send(QStringLiteral("history-deleted"), {{QStringLiteral("success"), deleted}, {QStringLiteral("history_uid"), uid}});
        });
}

void OlvWire::hello()
{
    ChatSession &s = session();
    m_history = std::make_unique<OlvHistory>(*s.services().db, s.services().persona->name);
    send(kFullText, {{QStringLiteral("text"), QStringLiteral("Connection established")}});
    sendModelAndConf();
    if (s.services().asr)
        send(kControl, {{QStringLiteral("text"), QStringLiteral("start-mic")}});
    // The early messages after the session is announced as opened (the admin feed sees it before its turns).
    QTimer::singleShot(0, &s, [this]() {
        const QStringList early = std::exchange(m_early, QStringList());
        m_earlyBytes = 0;
        for (const QString &message : early) {
            if (session().phase() != ChatSession::Phase::Ready)
                break; // closed by one of them (malformed)
            CorrelationScope scope(QStringLiteral("%1#%2").arg(session().userId()).arg(session().sessionId()));
            text(message);
        }
    });
}

void OlvWire::sendModelAndConf()
{
    ChatSession &s = session();
    const PersonaCard &persona = *s.services().persona;
    send(QStringLiteral("set-model-and-conf"), {{QStringLiteral("model_info"), modelInfo(persona, s.services().config->web)},
                                                {QStringLiteral("conf_name"), persona.name},
                                                {QStringLiteral("conf_uid"), persona.id},
                                                {QStringLiteral("client_uid"), s.sessionId()}});
}

void OlvWire::authenticated(qint64)
{
    // OLV's clients cannot renew a token on an open socket: nothing asks for this.
}

void OlvWire::turnEvent(int turn, const QString &type, const QJsonObject &fields)
{
    if (type == chat::kTurnStart) {
        beginChain(turn, fields.value(QStringLiteral("user_text")).toString());
    } else if (turn != m_turn.number) {
        return;
    } else if (type == chat::kSentence) {
        if (fields.value(QStringLiteral("index")).toInt(-1) == m_turn.sentences.size() && m_turn.sentences.size() < kMaxSentencesPerTurn)
            m_turn.sentences.push_back({fields.value(QStringLiteral("text")).toString(), fields.value(QStringLiteral("emotion")).toString()});
    } else if (type == chat::kError) {
        send(QStringLiteral("error"), {{QStringLiteral("message"), fields.value(QStringLiteral("message")).toString()}});
    } else if (type == chat::kTurnEnd) {
        endChain();
    }
    // text_delta and emotion: OLV shows a sentence with its audio; stopped: the client stopped itself.
}

void OlvWire::turnAudio(int turn, int sentence, int, int sampleRate, bool last, const QByteArray &pcm)
{
    if (turn != m_turn.number)
        return;
    const std::optional<AssembledSentence> whole = m_assembler.add(sentence, sampleRate, pcm, last);
    if (!whole)
        return;
    // The pipeline delivers sentences in order: those before this one that sent no audio failed.
    sendTextOnlyUpTo(sentence);
    sendAudio(sentence, &*whole);
}

void OlvWire::sendTextOnlyUpTo(int index)
{
    for (int i = m_turn.nextToSend; i < index && i < m_turn.sentences.size(); ++i)
        sendAudio(i, nullptr);
}

void OlvWire::sendAudio(int index, const AssembledSentence *audio)
{
    if (index < 0 || index >= m_turn.sentences.size())
        return; // beyond kMaxSentencesPerTurn
    Sentence &sentence = m_turn.sentences[index];
    sentence.durationMs = audio ? audio->durationMs : 0;
    m_turn.nextToSend = index + 1;
    m_turn.audioSent = true;
    const PersonaCard &persona = *session().services().persona;
    QJsonArray volumes;
    if (audio)
        for (float v : audio->volumes)
            volumes.append(std::round(double(v) * 1000.0) / 1000.0);
    const PersonaEmotion *emotion = persona.emotionById(sentence.emotion);
    QJsonValue actions = QJsonValue::Null;
    if (emotion && !emotion->live2dExpression.isEmpty())
        actions = QJsonObject{{QStringLiteral("expressions"), QJsonArray{emotion->live2dExpression}}};
    const bool hasAudio = audio && !audio->wav.isEmpty();
    send(QStringLiteral("audio"), {{QStringLiteral("audio"), hasAudio ? QJsonValue(QString::fromLatin1(audio->wav.toBase64())) : QJsonValue()},
                                   {QStringLiteral("volumes"), volumes},
                                   {QStringLiteral("slice_length"), kSliceLengthMs},
                                   {QStringLiteral("display_text"), QJsonObject{{QStringLiteral("text"), sentence.text},
                                                                                {QStringLiteral("name"), persona.name},
                                                                                {QStringLiteral("avatar"), QString()}}},
                                   {QStringLiteral("actions"), actions},
                                   {QStringLiteral("forwarded"), false}});
}

void OlvWire::beginChain(int turn, const QString &userText)
{
    endChain(); // a previous turn still waiting for its playback ends first
    m_turn = Turn();
    m_turn.number = turn;
    m_assembler.reset();
    m_chainOpen = true;
    send(kControl, {{QStringLiteral("text"), QStringLiteral("conversation-chain-start")}});
    send(kFullText, {{QStringLiteral("text"), kThinking}});
    if (!m_pendingTranscript.isEmpty() && m_pendingTranscript.trimmed().left(userText.size()) == userText)
        send(QStringLiteral("user-input-transcription"), {{QStringLiteral("text"), m_pendingTranscript}});
    m_pendingTranscript.clear();
}

void OlvWire::turnSynthesized(int turn)
{
    if (turn != m_turn.number)
        return;
    sendTextOnlyUpTo(int(m_turn.sentences.size()));
    if (!m_turn.audioSent) { // nothing to play (OLV's server skips the handshake then too)
        session().playbackComplete(turn);
        return;
    }
    send(QStringLiteral("backend-synth-complete"));
    m_awaitingPlayback = true;
    m_playbackTimer.start(m_settings.olvPlaybackTimeoutMs);
}

void OlvWire::playbackComplete()
{
    m_playbackTimer.stop();
    m_awaitingPlayback = false;
    session().playbackComplete(m_turn.number); // the turn is stored; its turn_end ends the chain
}

void OlvWire::endChain()
{
    if (!m_chainOpen)
        return;
    m_playbackTimer.stop();
    m_awaitingPlayback = false;
    m_chainOpen = false;
    send(QStringLiteral("force-new-message"));
    send(kControl, {{QStringLiteral("text"), QStringLiteral("conversation-chain-end")}});
}

void OlvWire::transcript(const QString &text)
{
    if (text.trimmed().isEmpty())
        send(QStringLiteral("user-input-transcription"), {{QStringLiteral("text"), text}});
    else
        m_pendingTranscript = text; // goes out after the chain's start, where OLV's clients expect it
}

void OlvWire::error(const QString &, const QString &message, const QJsonObject &)
{
    if (!m_pendingTranscript.isEmpty()) { // the transcript's turn was refused: show what was heard
        send(QStringLiteral("user-input-transcription"), {{QStringLiteral("text"), std::exchange(m_pendingTranscript, QString())}});
    }
    send(QStringLiteral("error"), {{QStringLiteral("message"), message}});
}

} // namespace tianyi::olv
