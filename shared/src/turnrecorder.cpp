#include "tianyi/turnrecorder.h"

#include "tianyi/wav.h"

#include <QJsonArray>

namespace tianyi::client {

qint64 RecordedSentence::audioMs() const
{
    return wav::durationMs(audioBytes, sampleRate);
}

qint64 RecordedTurn::audioBytes() const
{
    qint64 total = 0;
    for (const RecordedSentence &s : sentences)
        total += s.audioBytes;
    return total;
}

qint64 RecordedTurn::audioMs() const
{
    qint64 total = 0;
    for (const RecordedSentence &s : sentences)
        total += s.audioMs();
    return total;
}

int RecordedTurn::sampleRate() const
{
    for (const RecordedSentence &s : sentences)
        if (s.sampleRate > 0)
            return s.sampleRate;
    return 0;
}

namespace {
QJsonValue msOrNull(qint64 v)
{
    return v >= 0 ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}
} // namespace

QJsonObject RecordedTurn::toJson() const
{
    int announced = 0;
    for (const RecordedSentence &s : sentences)
        announced += s.announced ? 1 : 0;
    QJsonObject o{{QStringLiteral("turn"), turn},
                  {QStringLiteral("status"), status.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(status)},
                  {QStringLiteral("user_text"), userText},
                  {QStringLiteral("text"), finalText.isEmpty() ? text : finalText},
                  {QStringLiteral("ttft_ms"), msOrNull(stats.ttftMs)},
                  {QStringLiteral("first_audio_ms"), msOrNull(stats.firstAudioMs)},
                  {QStringLiteral("total_ms"), msOrNull(stats.totalMs)},
                  {QStringLiteral("tokens"), msOrNull(stats.tokens)},
                  {QStringLiteral("sentences"), stats.sentences >= 0 ? stats.sentences : qint64(announced)},
                  {QStringLiteral("audio_ms"), stats.audioMs >= 0 ? stats.audioMs : audioMs()},
                  {QStringLiteral("client"), QJsonObject{{QStringLiteral("turn_start_ms"), msOrNull(turnStartMs)},
                                                         {QStringLiteral("first_text_ms"), msOrNull(firstTextMs)},
                                                         {QStringLiteral("first_audio_ms"), msOrNull(firstAudioMs)},
                                                         {QStringLiteral("turn_end_ms"), msOrNull(turnEndMs)},
                                                         {QStringLiteral("sentences"), announced},
                                                         {QStringLiteral("audio_ms"), audioMs()},
                                                         {QStringLiteral("audio_bytes"), audioBytes()}}}};
    if (stopped)
        o.insert(QStringLiteral("stop_ms"), msOrNull(stopMs));
    if (stopSentMs >= 0)
        o.insert(QStringLiteral("stop_sent_ms"), stopSentMs);
    if (!errors.isEmpty()) {
        QJsonArray codes;
        for (const QJsonObject &e : errors)
            codes.append(e.value(QStringLiteral("code")));
        o.insert(QStringLiteral("errors"), codes);
    }
    if (!violations.isEmpty())
        o.insert(QStringLiteral("violations"), QJsonArray::fromStringList(violations));
    return o;
}

TurnRecorder::TurnRecorder(QObject *parent)
    : QObject(parent)
{
}

void TurnRecorder::attach(ChatClient *client)
{
    connect(client, &ChatClient::chatSent, this, &TurnRecorder::onChatSent);
    connect(client, &ChatClient::event, this, &TurnRecorder::onEvent);
}

void TurnRecorder::onChatSent(const QString &text, const QString &clientMsgId, qint64 sentMs)
{
    if (m_pending.size() >= kMaxPending)
        m_pending.removeFirst();
    m_pending.append({text, clientMsgId, sentMs});
}

void TurnRecorder::onStopSent(qint64 turn, qint64 atMs)
{
    RecordedTurn *t = turn >= 0 ? this->turn(turn) : (m_openTurn >= 0 ? this->turn(m_openTurn) : nullptr);
    if (t && t->stopSentMs < 0)
        t->stopSentMs = t->sentAtMs >= 0 ? atMs - t->sentAtMs : -1;
}

const RecordedTurn *TurnRecorder::turn(qint64 number) const
{
    const auto it = m_turns.constFind(number);
    return it == m_turns.constEnd() ? nullptr : &it.value();
}

RecordedTurn *TurnRecorder::turn(qint64 number)
{
    const auto it = m_turns.find(number);
    return it == m_turns.end() ? nullptr : &it.value();
}

const RecordedTurn *TurnRecorder::lastTurn() const
{
    return m_order.isEmpty() ? nullptr : turn(m_order.last());
}

const RecordedTurn *TurnRecorder::currentTurn() const
{
    return m_openTurn >= 0 ? turn(m_openTurn) : nullptr;
}

QList<qint64> TurnRecorder::unfinishedTurns() const
{
    QList<qint64> out;
    for (qint64 n : m_order)
        if (!m_turns.value(n).ended)
            out.append(n);
    return out;
}

void TurnRecorder::clear()
{
    m_turns.clear();
    m_order.clear();
    m_pending.clear();
    m_openTurn = -1;
    m_stoppedTurn = -1;
    m_lastAudio.clear();
    m_lastSentence.clear();
    m_violations.clear();
}

RecordedTurn &TurnRecorder::ensureTurn(qint64 number)
{
    auto it = m_turns.find(number);
    if (it != m_turns.end())
        return it.value();
    RecordedTurn t;
    t.turn = number;
    m_order.append(number);
    return m_turns.insert(number, t).value();
}

void TurnRecorder::flag(RecordedTurn *t, const QString &what)
{
    const QString line = t ? QStringLiteral("turn %1: %2").arg(t->turn).arg(what) : what;
    if (t && t->violations.size() < kMaxViolations)
        t->violations.append(what);
    if (m_violations.size() < kMaxViolations)
        m_violations.append(line);
    emit violation(line);
}

void TurnRecorder::trim()
{
    while (m_order.size() > m_maxTurns) {
        const qint64 oldest = m_order.takeFirst();
        m_turns.remove(oldest);
        m_lastAudio.remove(oldest);
        m_lastSentence.remove(oldest);
    }
}

void TurnRecorder::onEvent(const ChatEvent &e)
{
    using K = ChatEvent::Kind;
    if (!e.belongsToTurn())
        return;

    // Guarantee 2: after `stopped` of turn S, only S's turn_end.
    if (m_stoppedTurn >= 0 && !(e.kind == K::TurnEnd && e.turn == m_stoppedTurn)) {
        const QString what = e.turn == m_stoppedTurn
                                 ? QStringLiteral("%1 after stopped (only turn_end may follow)").arg(e.type)
                                 : QStringLiteral("%1 of turn %2 between stopped and turn_end").arg(e.type).arg(e.turn);
        flag(turn(m_stoppedTurn), what);
    }

    if (e.kind == K::TurnStart) {
        RecordedTurn *existing = turn(e.turn);
        if (existing && existing->started) {
            flag(existing, QStringLiteral("a second turn_start"));
            return;
        }
        if (m_openTurn >= 0 && m_openTurn != e.turn)
            flag(turn(m_openTurn), QStringLiteral("turn %1 started before this turn's turn_end").arg(e.turn));
        const bool earlyEvents = existing != nullptr;
        RecordedTurn &t = ensureTurn(e.turn);
        if (earlyEvents)
            flag(&t, QStringLiteral("events arrived before turn_start"));
        t.started = true;
        t.userText = e.str(QStringLiteral("user_text"));
        t.correlationId = e.json.value(QStringLiteral("correlation_id")).toVariant().toString();
        // Match the chat that started it: by client_msg_id, else by text, else the oldest pending.
        const QString msgId = e.str(QStringLiteral("client_msg_id"));
        int match = -1;
        for (int i = 0; i < m_pending.size() && match < 0; ++i)
            if ((!msgId.isEmpty() && m_pending[i].clientMsgId == msgId) || (msgId.isEmpty() && m_pending[i].text == t.userText))
                match = i;
        if (match < 0 && !m_pending.isEmpty())
            match = 0;
        if (match >= 0) {
            const PendingChat p = m_pending[match];
            m_pending.erase(m_pending.begin(), m_pending.begin() + match + 1);
            t.sentAtMs = p.sentMs;
            t.clientMsgId = p.clientMsgId;
            t.turnStartMs = e.receivedMs - p.sentMs;
        }
        m_openTurn = e.turn;
        trim();
        return;
    }

    RecordedTurn &t = ensureTurn(e.turn);
    if (!t.started && e.kind != K::Error)
        flag(&t, QStringLiteral("%1 before turn_start").arg(e.type));
    if (t.ended) {
        flag(&t, QStringLiteral("%1 after turn_end (turn_end must be the last message of a turn)").arg(e.type));
        if (e.kind == K::TurnEnd)
            return;
    }
    onTurnEvent(t, e);
    trim();
}

void TurnRecorder::onTurnEvent(RecordedTurn &t, const ChatEvent &e)
{
    using K = ChatEvent::Kind;
    const qint64 since = t.sentAtMs >= 0 ? e.receivedMs - t.sentAtMs : -1;
    switch (e.kind) {
    case K::Emotion: {
        const int sentence = int(e.integer(QStringLiteral("sentence")));
        t.emotions.append({sentence, e.str(QStringLiteral("emotion")), e.str(QStringLiteral("label"))});
        break;
    }
    case K::TextDelta:
        t.text += e.str(QStringLiteral("delta"));
        if (t.firstTextMs < 0)
            t.firstTextMs = since;
        break;
    case K::Sentence: {
        const int index = int(e.integer(QStringLiteral("index")));
        const int previous = m_lastSentence.value(t.turn, -1);
        if (index <= previous)
            flag(&t, QStringLiteral("sentence %1 arrived after sentence %2").arg(index).arg(previous));
        m_lastSentence[t.turn] = qMax(previous, index);
        RecordedSentence &s = t.sentences[index];
        if (s.announced)
            flag(&t, QStringLiteral("a second sentence event for sentence %1").arg(index));
        s.index = index;
        s.announced = true;
        s.text = e.str(QStringLiteral("text"));
        s.emotion = e.str(QStringLiteral("emotion"));
        if (s.emotion.isEmpty())
            for (const RecordedEmotion &em : t.emotions)
                if (em.sentence <= index)
                    s.emotion = em.emotion;
        break;
    }
    case K::Audio: {
        const AudioChunk &a = e.audio;
        RecordedSentence &s = t.sentences[a.sentence];
        s.index = a.sentence;
        if (!s.announced)
            flag(&t, QStringLiteral("audio of sentence %1 (seq %2) before its sentence event").arg(a.sentence).arg(a.seq));
        if (s.lastChunk)
            flag(&t, QStringLiteral("audio of sentence %1 (seq %2) after its last chunk").arg(a.sentence).arg(a.seq));
        const auto previous = m_lastAudio.constFind(t.turn);
        const QPair<int, int> position{a.sentence, a.seq};
        if (previous != m_lastAudio.constEnd() && !(previous.value() < position))
            flag(&t, QStringLiteral("audio (sentence %1, seq %2) after (sentence %3, seq %4)")
                         .arg(a.sentence).arg(a.seq).arg(previous.value().first).arg(previous.value().second));
        m_lastAudio[t.turn] = position;
        if (s.sampleRate > 0 && a.sampleRate != s.sampleRate)
            flag(&t, QStringLiteral("sample rate of sentence %1 changed from %2 to %3").arg(a.sentence).arg(s.sampleRate).arg(a.sampleRate));
        if (s.sampleRate <= 0)
            s.sampleRate = a.sampleRate;
        ++s.chunks;
        s.lastChunk = s.lastChunk || a.last;
        s.audioBytes += a.pcm.size();
        if (m_keepAudio && !t.audioTruncated) {
            qint64 kept = 0;
            for (const RecordedSentence &other : std::as_const(t.sentences))
                kept += other.pcm.size();
            if (kept + a.pcm.size() <= m_maxAudioBytes) {
                s.pcm += a.pcm;
                s.volumes += a.volumes;
            } else {
                t.audioTruncated = true;
            }
        }
        if (t.firstAudioMs < 0)
            t.firstAudioMs = since;
        break;
    }
    case K::Transcript:
        if (t.transcripts.size() < 1000)
            t.transcripts.append(e.json);
        break;
    case K::Stopped:
        if (t.stopped)
            flag(&t, QStringLiteral("a second stopped"));
        t.stopped = true;
        t.stopMs = e.integer(QStringLiteral("stop_ms"));
        if (!t.ended)
            m_stoppedTurn = t.turn;
        break;
    case K::Error:
        if (t.errors.size() < 100)
            t.errors.append(e.json);
        break;
    case K::TurnEnd:
        t.ended = true;
        t.status = e.str(QStringLiteral("status"));
        t.finalText = e.str(QStringLiteral("text"));
        t.stats = TurnStats::fromJson(e.json.value(QStringLiteral("stats")).toObject());
        t.turnEndMs = since;
        if (t.stopped && t.status != chat::kInterrupted)
            flag(&t, QStringLiteral("turn_end after stopped has status \"%1\", not interrupted").arg(t.status));
        if (m_openTurn == t.turn)
            m_openTurn = -1;
        if (m_stoppedTurn == t.turn)
            m_stoppedTurn = -1;
        emit turnFinished(t.turn);
        break;
    case K::TurnStart:
    case K::Hello:
    case K::Pong:
    case K::Listening:
    case K::SpeechStart:
    case K::SpeechEnd:
    case K::Duck:
    case K::Unduck:
    case K::Other:
        break;
    }
}

} // namespace tianyi::client
