#include "dialog/turnpipeline.h"

#include "base/logging.h"
#include "history/audiostore.h"
#include "prompt/promptbuilder.h"
#include "prompt/promptcontextcache.h"
#include "dialog/ttsscheduler.h"
#include "knowledge/knowledgebase.h"
#include "knowledge/knowledgeretriever.h"
#include "memory/memoryservice.h"
#include "metrics/metrics.h"
#include "storage/database.h"
#include "storage/turnrepository.h"
#include "upstream/ttsvoicebook.h"

#include <QDateTime>
#include <utility>
#include <tianyi/chatprotocol.h>
#include <tianyi/emotiontagparser.h>
#include <tianyi/sentencesegmenter.h>
#include <tianyi/wav.h>

namespace tianyi {

namespace {

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

struct TurnContext {
    qint64 turnId = 0;
    PromptContext prompt;
};

// Joins sentences the way they were written: no separator in Chinese, one space after Latin text.
QString joinSentences(const QStringList &sentences)
{
    QString out;
    for (const QString &s : sentences) {
        if (!out.isEmpty() && out.back().unicode() < 0x80 && !s.isEmpty() && s.front().unicode() < 0x80)
            out += QLatin1Char(' ');
        out += s;
    }
    return out;
}

} // namespace

TurnPipeline::TurnPipeline(const TurnServices &services, TurnSink &sink, qint64 userId, QString sessionId, int turnNo, quint64 turnKey,
                           QString userText, QString correlationId, QObject *parent)
    : QObject(parent)
    , m_services(services)
    , m_sink(sink)
    , m_userId(userId)
    , m_sessionId(std::move(sessionId))
    , m_turnNo(turnNo)
    , m_turnKey(turnKey)
    , m_userText(std::move(userText))
    , m_correlationId(std::move(correlationId))
    , m_turnId(std::make_shared<qint64>(0))
{
    m_clock.start();
    m_parser = std::make_unique<EmotionTagParser>(m_services.persona->labels());
    SegmenterOptions options;
    options.maxSentenceChars = m_services.config->chat.maxSentenceChars;
    options.earlyFirstClause = m_services.config->chat.earlyFirstClause;
    options.firstClauseMinChars = m_services.config->chat.firstClauseMinChars;
    m_segmenter = std::make_unique<SentenceSegmenter>(options);
    m_emotion = m_services.persona->defaultEmotion;
    m_openEmotion = m_emotion;
}

TurnPipeline::~TurnPipeline()
{
    cancelUpstreams();
}

void TurnPipeline::start()
{
    CorrelationScope scope(m_correlationId);
    qCInfo(lcWs) << "turn started," << m_userText.size() << "characters";
    // Three parts at once: the per-user context (in memory while the user has a session, else read
    // from storage with the pending insert), knowledge facts, the user's memories. With the context
    // in memory the insert does not hold the request back: the storage queue is FIFO, so the turn's
    // final write still runs after it.
    std::optional<PromptContext> cached = m_services.contexts->find(m_userId);
    const bool readContext = !cached;
    if (cached)
        m_prompt = std::move(*cached);
    m_partsPending = readContext ? 3 : 2;
    storePendingTurn(readContext);
    gatherKnowledge();
    gatherMemories();
}

void TurnPipeline::storePendingTurn(bool readContext)
{
    const qint64 userId = m_userId;
    const QString sessionId = m_sessionId;
    const int turnNo = m_turnNo;
    const QString userText = m_userText;
    const int recent = m_services.config->chat.recentTurns;
    const auto turnIdHolder = m_turnId;
    m_services.db->write<TurnContext>(
        this,
        [=](SqlSession &s) {
            TurnContext c;
            // The history first: the new turn is pending and not part of it anyway.
            if (readContext)
                c.prompt = PromptContextCache::load(s, userId, recent);
            c.turnId = TurnRepository::insertPending(s, userId, sessionId, turnNo, userText, nowMs());
            *turnIdHolder = c.turnId;
            return c;
        },
        [this, readContext](DbResult<TurnContext> result) {
            CorrelationScope scope(m_correlationId);
            if (result.ok())
                m_storedTurnId = result.value->turnId; // the admin feed's turn_ended names it
            if (m_finished)
                return;
            if (!result.ok()) {
                failToStore(result.busy, result.error);
                return;
            }
            if (!readContext)
                return;
            PromptContext &stored = result.value->prompt;
            m_prompt.nickname = stored.nickname;
            m_prompt.description = stored.description;
            m_prompt.summary = stored.summary;
            m_prompt.recentTurns = std::move(stored.recentTurns);
            partDone();
        });
}

void TurnPipeline::failToStore(bool busy, const QString &error)
{
    qCWarning(lcWs) << "cannot store the user turn:" << error;
    m_sink.turnEvent(m_turnNo, chat::kError,
                     {{QStringLiteral("code"), chat::kErrInternal},
                      {QStringLiteral("message"), busy ? QStringLiteral("the server is busy, try again") : QStringLiteral("the turn could not be stored")}});
    finish(chat::kFailed, QString());
}

// Facts about the entities the user mentions, within KnowledgeLimits' budget. The alias
// index is in memory; only a mention costs a storage read (a few indexed rows). Until the first
// index is built (a storage job queued at startup) the lookup runs on the storage thread, after it.
void TurnPipeline::gatherKnowledge()
{
    const KnowledgeBase *knowledge = m_services.knowledge;
    const bool indexReady = knowledge && knowledge->isReady();
    const QStringList ids = indexReady ? KnowledgeRetriever::mentionedIds(*knowledge->index(), m_userText) : QStringList();
    if (!knowledge || (indexReady && ids.isEmpty())) {
        partDone();
        return;
    }
    const QString userText = m_userText;
    m_services.db->read<QStringList>(
        this,
        [knowledge, indexReady, ids, userText](SqlSession &s) {
            return indexReady ? KnowledgeRetriever::factsFor(s, ids) : KnowledgeRetriever::retrieve(s, *knowledge->index(), userText);
        },
        [this](DbResult<QStringList> result) {
            if (m_finished)
                return;
            if (result.ok())
                m_prompt.knowledge = *result.value;
            else
                qCWarning(lcWs) << "no knowledge for this turn:" << result.error;
            partDone();
        });
}

// The user's top-k memories (embedding, then a search in THIS user's vectors).
void TurnPipeline::gatherMemories()
{
    m_services.memory->retrieve(this, m_userId, m_userText, [this](QStringList memories) {
        if (m_finished)
            return;
        CorrelationScope scope(m_correlationId);
        m_prompt.memories = std::move(memories);
        partDone();
    });
}

void TurnPipeline::partDone()
{
    if (--m_partsPending == 0 && !m_finished)
        startLlm(m_prompt);
}

void TurnPipeline::startLlm(const PromptContext &prompt)
{
    PromptBuilder builder(*m_services.persona, m_services.config->llm, m_services.config->prompt);
    AssembledPrompt assembled;
    assembled.turn = m_turnNo;
    assembled.request = builder.build(prompt, m_userText, m_correlationId, &assembled.report);
    m_stream = m_services.llm->stream(assembled.request, this);
    m_sink.turnPrompt(assembled);
    connect(m_stream, &LlmStream::delta, this, &TurnPipeline::onDelta);
    connect(m_stream, &LlmStream::usage, this, [this](const LlmUsage &usage) { m_completionTokens = usage.completionTokens; });
    connect(m_stream, &LlmStream::finished, this, [this](const QString &) { onLlmFinished(); });
    connect(m_stream, &LlmStream::failed, this, &TurnPipeline::onLlmFailed);
}

void TurnPipeline::onDelta(const QString &text)
{
    if (m_finished)
        return;
    CorrelationScope scope(m_correlationId);
    ++m_deltas;
    if (m_ttftMs < 0) {
        m_ttftMs = elapsedMs();
        if (m_services.metrics)
            m_services.metrics->observe(QStringLiteral("tianyi_chat_ttft_seconds"), {}, double(m_ttftMs) / 1000.0);
    }
    const auto pieces = m_parser->feed(text);
    for (const EmotionTagPiece &piece : pieces) {
        if (m_finished)
            return;
        if (piece.kind == EmotionTagPiece::Kind::Emotion) {
            const PersonaEmotion *e = m_services.persona->emotionByLabel(piece.text);
            if (!e || e->id == m_emotion)
                continue;
            m_emotion = e->id;
            if (!m_sentenceOpen)
                m_openEmotion = m_emotion;
            // The tag applies to the sentence it starts: the next one when text is still open
            // (the segmenter may hold a finished sentence back, waiting for a closing quote).
            const int applies = int(m_sentences.size()) + (m_sentenceOpen ? 1 : 0);
            m_sink.turnEvent(m_turnNo, chat::kEmotion,
                             {{QStringLiteral("sentence"), applies}, {QStringLiteral("emotion"), e->id},
                              {QStringLiteral("label"), e->label}});
        } else {
            handleText(piece.text);
        }
    }
}

void TurnPipeline::handleText(const QString &text)
{
    if (text.isEmpty())
        return;
    m_fullText += text;
    m_sink.turnEvent(m_turnNo, chat::kTextDelta, {{QStringLiteral("delta"), text}});
    if (!m_sentenceOpen && !text.trimmed().isEmpty()) {
        m_sentenceOpen = true;
        m_openEmotion = m_emotion;
    }
    const QStringList sentences = m_segmenter->feed(text);
    for (int i = 0; i < sentences.size(); ++i)
        emitSentence(sentences.at(i), i == 0 ? m_openEmotion : m_emotion);
    if (!sentences.isEmpty()) {
        m_sentenceOpen = false;
        m_openEmotion = m_emotion;
    }
}

void TurnPipeline::emitSentence(const QString &text, const QString &emotion)
{
    if (m_finished)
        return;
    const int index = int(m_sentences.size());
    Sentence s;
    s.text = text;
    s.emotion = emotion;
    m_sentences.push_back(s);
    m_sink.turnEvent(m_turnNo, chat::kSentence,
                     {{QStringLiteral("index"), index}, {QStringLiteral("text"), text}, {QStringLiteral("emotion"), emotion}});
    submitTts(index);
}

void TurnPipeline::submitTts(int index)
{
    const Sentence &s = m_sentences.at(index);
    TtsRequest request;
    request.text = s.text;
    request.textLang = m_services.config->tts.textLang;
    request.emotion = s.emotion;
    request.correlationId = m_correlationId;
    if (!m_services.config->tts.voicesFile.isEmpty() && m_services.voices) {
        request.voice = m_services.voices->voiceFor(s.emotion);
    } else {
        const PersonaEmotion *e = m_services.persona->emotionById(s.emotion);
        request.voice = (e ? *e : m_services.persona->defaultEmotionRef()).voice;
    }
    QPointer<TurnPipeline> self(this);
    TtsScheduler::Callbacks cb;
    cb.format = [self, index](int sampleRate, int) {
        if (!self)
            return;
        self->m_sentences[index].sampleRate = sampleRate;
    };
    cb.pcm = [self, index](const QByteArray &pcm) {
        if (!self || self->m_finished)
            return;
        Sentence &s = self->m_sentences[index];
        QByteArray bytes = s.carry + pcm;
        s.carry.clear();
        if (bytes.size() % 2) {
            s.carry = bytes.right(1);
            bytes.chop(1);
        }
        for (qsizetype off = 0; off < bytes.size(); off += kMaxChunkBytes)
            s.pending.push_back(bytes.mid(off, kMaxChunkBytes));
        self->pumpAudio();
    };
    cb.finished = [self, index]() {
        if (!self || self->m_finished)
            return;
        self->m_sentences[index].synthDone = true;
        self->pumpAudio();
    };
    cb.failed = [self, index](const UpstreamError &error) {
        if (self)
            self->onTtsFailed(index, error);
    };
    if (!m_services.tts->submit(m_turnKey, m_userId, index, request, std::move(cb)))
        onTtsFailed(index, {UpstreamErrorKind::Unavailable, QStringLiteral("the speech queue is full"), 0, -1});
}

void TurnPipeline::onTtsFailed(int index, const UpstreamError &error)
{
    if (m_finished)
        return;
    CorrelationScope scope(m_correlationId);
    qCWarning(lcTts).noquote() << "sentence" << index << "not synthesized:" << UpstreamError::kindName(error.kind) << error.message;
    m_sentences[index].failed = true;
    if (!m_ttsErrorSent) {
        m_ttsErrorSent = true;
        m_sink.turnEvent(m_turnNo, chat::kError,
                         {{QStringLiteral("code"), chat::kErrTtsUnavailable},
                          {QStringLiteral("message"), QStringLiteral("speech synthesis is unavailable; the reply continues as text")}});
    }
    pumpAudio();
}

void TurnPipeline::pumpAudio()
{
    if (m_finished)
        return;
    CorrelationScope scope(m_correlationId);
    while (m_next < m_sentences.size()) {
        Sentence &s = m_sentences[m_next];
        while (!s.pending.empty()) {
            QByteArray chunk = std::move(s.pending.front());
            s.pending.pop_front();
            if (!s.held.isEmpty())
                sendChunk(m_next, s.held, false);
            s.held = std::move(chunk);
            if (m_finished)
                return;
        }
        if (s.failed) {
            // Close a sentence whose audio broke off midway with an empty last chunk.
            if (s.seq > 0 || !s.held.isEmpty()) {
                if (!s.held.isEmpty())
                    sendChunk(m_next, s.held, false);
                s.held.clear();
                sendChunk(m_next, QByteArray(), true);
            }
            s.delivered = true;
            ++m_next;
            continue;
        }
        if (!s.synthDone)
            break;
        if (!s.held.isEmpty() || s.seq > 0)
            sendChunk(m_next, s.held, true);
        s.held.clear();
        s.delivered = true;
        ++m_next;
    }
    maybeComplete();
}

void TurnPipeline::sendChunk(int index, const QByteArray &pcm, bool last)
{
    Sentence &s = m_sentences[index];
    if (m_firstAudioMs < 0 && !pcm.isEmpty()) {
        m_firstAudioMs = elapsedMs();
        if (m_services.metrics)
            m_services.metrics->observe(QStringLiteral("tianyi_chat_first_audio_seconds"), {}, double(m_firstAudioMs) / 1000.0);
    }
    const int rate = s.sampleRate > 0 ? s.sampleRate : 16000;
    s.sentBytes += pcm.size();
    s.allPcm += pcm;
    m_audioMs = 0;
    for (const Sentence &x : std::as_const(m_sentences))
        m_audioMs += wav::durationMs(x.sentBytes, x.sampleRate > 0 ? x.sampleRate : 16000);
    m_sink.turnAudio(m_turnNo, index, s.seq++, rate, last, pcm);
}

void TurnPipeline::onLlmFinished()
{
    if (m_finished)
        return;
    CorrelationScope scope(m_correlationId);
    m_llmDone = true;
    if (m_stream)
        m_stream->deleteLater();
    m_stream = nullptr;
    for (const EmotionTagPiece &piece : m_parser->finish()) {
        if (piece.kind == EmotionTagPiece::Kind::Text)
            handleText(piece.text);
    }
    for (const QString &sentence : m_segmenter->finish())
        emitSentence(sentence, m_sentenceOpen ? m_openEmotion : m_emotion);
    pumpAudio();
}

void TurnPipeline::onLlmFailed(const UpstreamError &error)
{
    if (m_finished)
        return;
    CorrelationScope scope(m_correlationId);
    qCWarning(lcLlm).noquote() << "reply failed:" << UpstreamError::kindName(error.kind) << error.message;
    if (m_stream)
        m_stream->deleteLater();
    m_stream = nullptr;
    QJsonObject fields{{QStringLiteral("code"), chat::kErrLlmUnavailable},
                       {QStringLiteral("message"), QStringLiteral("the language model is unavailable (%1)").arg(UpstreamError::kindName(error.kind))}};
    if (error.retryAfterMs >= 0)
        fields.insert(QStringLiteral("retry_after_ms"), error.retryAfterMs);
    m_sink.turnEvent(m_turnNo, chat::kError, fields);
    finish(chat::kFailed, m_fullText.trimmed());
}

void TurnPipeline::maybeComplete()
{
    if (m_finished || !m_llmDone || m_next < m_sentences.size())
        return;
    if (m_holdForPlayback && !m_playbackDone) {
        if (!std::exchange(m_synthesizedTold, true))
            m_sink.turnSynthesized(m_turnNo);
        return;
    }
    finish(chat::kCompleted, m_fullText.trimmed());
}

void TurnPipeline::playbackComplete()
{
    m_playbackDone = true;
    maybeComplete();
}

void TurnPipeline::interrupt(std::optional<qint64> playedMs, bool notifyClient, const QElapsedTimer &sinceStop, const QString &reason)
{
    if (m_finished)
        return;
    CorrelationScope scope(m_correlationId);
    cancelUpstreams();
    const qint64 stopMs = sinceStop.isValid() ? sinceStop.elapsed() : 0;
    if (m_services.metrics)
        m_services.metrics->observe(QStringLiteral("tianyi_chat_stop_seconds"), {}, double(stopMs) / 1000.0);
    qCInfo(lcWs) << "turn interrupted" << (playedMs ? QStringLiteral("after %1 ms heard").arg(*playedMs) : QStringLiteral("(no played_ms)"));
    if (notifyClient) {
        QJsonObject stopped{{QStringLiteral("stop_ms"), stopMs}};
        if (!reason.isEmpty())
            stopped.insert(QStringLiteral("reason"), reason);
        m_sink.turnEvent(m_turnNo, chat::kStopped, stopped);
    }
    finish(chat::kInterrupted, heardText(playedMs), notifyClient);
}

QString TurnPipeline::heardText(std::optional<qint64> playedMs)
{
    QStringList heard;
    qint64 cumulative = 0;
    for (int i = 0; i < m_next && i < m_sentences.size(); ++i) {
        const Sentence &s = m_sentences.at(i);
        if (!s.delivered)
            break;
        if (playedMs) {
            cumulative += wav::durationMs(s.sentBytes, s.sampleRate > 0 ? s.sampleRate : 16000);
            if (cumulative > *playedMs)
                break;
        }
        heard << s.text;
    }
    m_heardCount = int(heard.size());
    return joinSentences(heard);
}

QJsonObject TurnPipeline::stats() const
{
    return {{QStringLiteral("ttft_ms"), m_ttftMs >= 0 ? QJsonValue(m_ttftMs) : QJsonValue()},
            {QStringLiteral("first_audio_ms"), m_firstAudioMs >= 0 ? QJsonValue(m_firstAudioMs) : QJsonValue()},
            {QStringLiteral("total_ms"), elapsedMs()},
            {QStringLiteral("tokens"), m_completionTokens >= 0 ? m_completionTokens : m_deltas},
            {QStringLiteral("sentences"), int(m_sentences.size())},
            {QStringLiteral("audio_ms"), m_audioMs}};
}

void TurnPipeline::cancelUpstreams()
{
    if (m_stream) {
        LlmStream *stream = m_stream;
        m_stream = nullptr;
        stream->disconnect(this);
        stream->cancel();
        stream->deleteLater();
    }
    if (m_services.tts)
        m_services.tts->cancelTurn(m_turnKey);
}

void TurnPipeline::finish(const QString &status, const QString &text, bool clientWaits)
{
    if (m_finished)
        return;
    m_finished = true;
    cancelUpstreams();
    const QJsonObject turnStats = stats();
    if (m_services.metrics)
        m_services.metrics->increment(QStringLiteral("tianyi_chat_turns_total"), {{QStringLiteral("status"), status}});
    qCInfo(lcWs).noquote() << "turn" << status << "after" << turnStats.value(QStringLiteral("total_ms")).toInteger() << "ms,"
                           << m_sentences.size() << "sentences";
    // Audio of the sentences the stored text contains (interrupted: the heard ones only).
    QVector<int> audioSentences;
    const int keep = status == chat::kInterrupted ? m_heardCount : int(m_sentences.size());
    for (int i = 0; i < keep && i < m_sentences.size(); ++i) {
        const Sentence &s = m_sentences.at(i);
        if (s.delivered && !s.allPcm.isEmpty())
            audioSentences << i;
    }
    // turn_end is the client's acknowledgement: it goes out once the finished turn (and its outbox
    // jobs) are committed, so a crash right after it cannot lose or fail a turn the client was told
    // about. A session that is going away has nobody to acknowledge to: its turn ends at once.
    if (!clientWaits)
        announceEnd(status, text, turnStats, m_storedTurnId);
    QPointer<TurnPipeline> self(this);
    storeFinished(status, text, turnStats, audioSentences, [self, clientWaits, status, text, turnStats](qint64 storedTurnId) {
        if (self && clientWaits)
            self->announceEnd(status, text, turnStats, storedTurnId);
    });
}

void TurnPipeline::announceEnd(const QString &status, const QString &text, const QJsonObject &turnStats, qint64 storedTurnId)
{
    CorrelationScope scope(m_correlationId);
    m_sink.turnStored(m_turnNo, storedTurnId); // the admin feed's turn_ended names the stored turn
    m_sink.turnEvent(m_turnNo, chat::kTurnEnd,
                     {{QStringLiteral("status"), status}, {QStringLiteral("text"), text}, {QStringLiteral("stats"), turnStats}});
    emit ended(status);
}

void TurnPipeline::storeFinished(const QString &status, const QString &text, const QJsonObject &turnStats, QVector<int> audioSentences,
                                 std::function<void(qint64)> stored)
{
    const auto turnIdHolder = m_turnId;
    const qint64 userId = m_userId;
    const QString emotion = m_emotion;
    // A completed turn queues its memory extraction and summary jobs in the same transaction (outbox)
    const bool memoryJobs = status == chat::kCompleted;
    // Runs after insertPending on the storage thread (FIFO); a turn whose insert failed has id 0.
    m_services.db->write<qint64>(
        m_services.db,
        [=](SqlSession &s) -> qint64 {
            if (*turnIdHolder == 0)
                return 0;
            TurnRepository::finish(s, *turnIdHolder, userId, text, status, emotion, turnStats, nowMs());
            if (memoryJobs)
                MemoryService::enqueueTurnJobs(s, userId, *turnIdHolder);
            return *turnIdHolder;
        },
        [stored = std::move(stored)](DbResult<qint64> result) {
            if (!result.ok())
                qCWarning(lcWs) << "cannot store the finished turn:" << result.error;
            stored(result.ok() ? *result.value : 0);
        });
    // Right after posting the write: the next turn of this user (in another of their sessions, at once) must
    // not use a context without this one (see PromptContextCache).
    m_services.contexts->changed(userId);
    if (!m_services.audio)
        return;
    // The audio store needs the turn id, known once the insert ran; the storage queue is FIFO, so
    // a read posted now completes after it.
    struct Piece {
        int index;
        QString text;
        QString emotion;
        QByteArray pcm;
        int sampleRate;
    };
    QVector<Piece> pieces;
    for (int i : audioSentences) {
        const Sentence &s = m_sentences.at(i);
        pieces.push_back({i, s.text, s.emotion, s.allPcm, s.sampleRate > 0 ? s.sampleRate : 16000});
    }
    if (pieces.isEmpty())
        return;
    QPointer<AudioStore> store(m_services.audio);
    m_services.db->read<qint64>(
        m_services.audio, [turnIdHolder](SqlSession &) { return *turnIdHolder; },
        [store, userId, pieces](DbResult<qint64> result) {
            if (!store || !result.ok() || *result.value == 0)
                return;
            for (const Piece &p : pieces)
                store->store(userId, *result.value, p.index, p.text, p.emotion, p.pcm, p.sampleRate);
        });
}

} // namespace tianyi
