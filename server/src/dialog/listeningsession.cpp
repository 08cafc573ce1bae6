#include "dialog/listeningsession.h"

#include "base/logging.h"
#include "metrics/metrics.h"
#include "upstream/asr.h"
#include "voice/microphonestream.h"

#include <QJsonObject>
#include <algorithm>
#include <utility>
#include <tianyi/chatprotocol.h>

namespace tianyi {

namespace {
const QString kUtterances = QStringLiteral("tianyi_listen_utterances_total");
const QString kEndpointing = QStringLiteral("tianyi_listen_endpointing_seconds");
const QString kAsrLatency = QStringLiteral("tianyi_listen_asr_seconds");
const QString kAsrFailures = QStringLiteral("tianyi_listen_asr_failures_total");
const QString kBargeIns = QStringLiteral("tianyi_listen_voice_bargeins_total");
const QString kFalseInterruptions = QStringLiteral("tianyi_listen_false_interruptions_total");
const QString kCaps = QStringLiteral("tianyi_listen_caps_total");
const QString kTurnStart = QStringLiteral("tianyi_listen_turn_start_seconds");
const QString kListeningGauge = QStringLiteral("tianyi_listen_sessions");

const QString kUtterance = QStringLiteral("utterance");

// Recognizers answer "", "。" or "嗯…" for noise; a partial "has words" when it has a letter or digit.
bool hasWords(const QString &text)
{
    return std::any_of(text.cbegin(), text.cend(), [](QChar c) { return c.isLetterOrNumber(); });
}
} // namespace

ListeningSession::ListeningSession(ListeningHost &host, AsrProvider &asr, const Config &config, Metrics *metrics, QObject *parent)
    : QObject(parent)
    , m_host(host)
    , m_asr(asr)
    , m_config(config)
    , m_metrics(metrics)
{
    m_clock.start();
}

ListeningSession::~ListeningSession()
{
    cancel();
}

void ListeningSession::declareMetrics(Metrics &metrics)
{
    metrics.declareCounter(kUtterances, QStringLiteral("Utterances heard while listening, by outcome (turn, empty, dropped, failed, refused)."));
    metrics.declareHistogram(kEndpointing, QStringLiteral("Time from the arrival of an utterance's last voiced audio to its speech_end."),
                             Metrics::latencyBuckets());
    metrics.declareHistogram(kAsrLatency, QStringLiteral("Time from an utterance's speech_end to its final transcript."), Metrics::latencyBuckets());
    metrics.declareCounter(kAsrFailures, QStringLiteral("Utterances whose recognition failed, by kind."));
    metrics.declareCounter(kBargeIns, QStringLiteral("Turns stopped by the user's voice."));
    metrics.declareCounter(kFalseInterruptions, QStringLiteral("Voice stops whose utterance then had no words."));
    metrics.declareHistogram(kTurnStart, QStringLiteral("Time from a final transcript to its turn_start being sent (server-added)."),
                             Metrics::latencyBuckets());
    metrics.declareCounter(kCaps, QStringLiteral("Microphone stream caps hit, by code."));
    metrics.declareGauge(kListeningGauge, QStringLiteral("Chat sessions listening (hands-free microphone streams open)."));
}

int ListeningSession::duckedTurn() const
{
    for (const auto &u : m_utterances) {
        if (u->duckedTurn > 0)
            return u->duckedTurn;
    }
    return 0;
}

ListeningSession::Utterance *ListeningSession::find(int number) const
{
    for (const auto &u : m_utterances) {
        if (u->number == number)
            return u.get();
    }
    return nullptr;
}

// ---- the microphone ---------------------------------------------------------------------------

void ListeningSession::start()
{
    if (m_mic)
        return;
    m_mic = new MicrophoneStream(m_config.voice, this);
    m_echoGuard = false;
    m_arrivals.clear();
    m_bytesIn = 0;
    connect(m_mic, &MicrophoneStream::speechStarted, this, &ListeningSession::onSpeechStarted);
    connect(m_mic, &MicrophoneStream::speechAudio, this, &ListeningSession::onSpeechAudio);
    connect(m_mic, &MicrophoneStream::speechSustained, this, &ListeningSession::onSpeechSustained);
    connect(m_mic, &MicrophoneStream::speechEnded, this, &ListeningSession::onSpeechEnded);
    connect(m_mic, &MicrophoneStream::capExceeded, this, &ListeningSession::onCapExceeded);
    if (m_metrics)
        m_metrics->addGauge(kListeningGauge, {}, 1);
}

void ListeningSession::stop()
{
    endMicrophone();
}

void ListeningSession::endMicrophone()
{
    if (!m_mic)
        return;
    MicrophoneStream *mic = m_mic;
    // An utterance in progress ends (speechEnded) and is recognized; a stream that a cap stopped
    // has already ended it, and finish() does nothing more.
    mic->finish();
    mic->disconnect(this);
    m_mic = nullptr;
    mic->deleteLater(); // we may be inside one of its signals
    if (m_metrics)
        m_metrics->addGauge(kListeningGauge, {}, -1);
}

void ListeningSession::cancel()
{
    if (m_mic) {
        m_mic->disconnect(this);
        m_mic->deleteLater();
        m_mic = nullptr;
        if (m_metrics)
            m_metrics->addGauge(kListeningGauge, {}, -1);
    }
    m_speaking = nullptr;
    m_refused.reset();
    for (auto &u : m_utterances)
        releaseStream(u.get());
    m_utterances.clear();
}

void ListeningSession::append(const QByteArray &pcm)
{
    if (!m_mic || pcm.isEmpty())
        return;
    // Her voice may leak back into the microphone while the client plays it: the stream's echo
    // guard follows the playback estimate, frame by frame as they arrive.
    const bool guard = m_host.herVoiceAudible();
    if (guard != m_echoGuard) {
        m_echoGuard = guard;
        m_mic->setEchoGuard(guard);
    }
    m_bytesIn += pcm.size();
    m_arrivals.push_back({m_bytesIn, nowMs()});
    while (int(m_arrivals.size()) > kMaxArrivals)
        m_arrivals.pop_front();
    m_mic->append(pcm);
}

void ListeningSession::observeEndpointing()
{
    // The utterance's last voiced audio is voice.endpointing_ms of audio before the end of what
    // has arrived; its arrival time is that of the append that carried it.
    const qint64 lastVoicedByte = m_bytesIn - qint64(m_config.voice.endpointingMs) * kBytesPerMs;
    const auto it = std::find_if(m_arrivals.cbegin(), m_arrivals.cend(), [&](const Arrival &a) { return a.endByte > lastVoicedByte; });
    if (it == m_arrivals.cend() || !m_metrics)
        return;
    m_metrics->observe(kEndpointing, {}, double(nowMs() - it->atMs) / 1000.0);
}

void ListeningSession::onSpeechStarted(const QByteArray &leadingPcm)
{
    auto owned = std::make_unique<Utterance>();
    Utterance *u = owned.get();
    u->number = ++m_counter;
    m_lastNumber = u->number;
    m_speaking = u;
    m_host.listenEvent(chat::kSpeechStart, {{kUtterance, u->number}});
    if (int(m_utterances.size()) >= kMaxUtterances) {
        // Two utterances already wait for the recognizer: this one is not recognized at all.
        u->refused = true;
        m_refused = std::move(owned);
        if (m_metrics)
            m_metrics->increment(kUtterances, {{QStringLiteral("outcome"), QStringLiteral("refused")}});
        m_host.listenError(chat::kErrAsrBusy, QStringLiteral("speech recognition is still busy with your previous words; say it again in a moment"),
                           {{kUtterance, u->number}});
        return;
    }
    m_utterances.push_back(std::move(owned));
    if (const int turn = m_host.bargeableTurn()) {
        u->duckedTurn = turn;
        m_host.duck(turn);
    }
    if (m_utterances.size() == 1)
        openStream(u);
    else
        u->waiting = true;
    feed(u, leadingPcm);
}

void ListeningSession::onSpeechAudio(const QByteArray &pcm)
{
    if (m_speaking)
        feed(m_speaking, pcm);
}

void ListeningSession::onSpeechSustained()
{
    if (!m_speaking)
        return;
    m_speaking->sustained = true;
    maybeConfirm(m_speaking);
}

void ListeningSession::onSpeechEnded(int durationMs, voice::UtteranceEnd why)
{
    Utterance *u = m_speaking;
    if (!u)
        return;
    m_speaking = nullptr;
    u->ended = true;
    u->endedAtMs = nowMs();
    if (why == voice::UtteranceEnd::Silence)
        observeEndpointing();
    m_host.listenEvent(chat::kSpeechEnd, {{kUtterance, u->number}, {QStringLiteral("duration_ms"), durationMs}});
    if (u->refused) {
        m_refused.reset();
        return;
    }
    if (u->failed) {
        dropUtterance(u);
        return;
    }
    if (u->duckedTurn > 0 && !u->confirmed && !u->sustained) {
        // Shorter than a barge-in while she speaks: a cough, a laugh, a backchannel ("嗯"). She
        // goes on; the utterance is not recognized (it would start a turn that stops her).
        resolveDuck(u, false);
        if (m_metrics)
            m_metrics->increment(kUtterances, {{QStringLiteral("outcome"), QStringLiteral("dropped")}});
        m_host.listenEvent(chat::kTranscript, {{kUtterance, u->number}, {QStringLiteral("text"), QString()},
                                               {QStringLiteral("final"), true}, {QStringLiteral("dropped"), true}});
        dropUtterance(u);
        return;
    }
    if (!u->waiting)
        finishRecognition(u);
}

void ListeningSession::onCapExceeded(const QString &code, const QString &message, bool streamStopped)
{
    if (m_metrics)
        m_metrics->increment(kCaps, {{QStringLiteral("code"), code}});
    QJsonObject extra;
    if (streamStopped) {
        extra.insert(QStringLiteral("listening"), false); // the client must send listen_start again
    } else {
        extra.insert(kUtterance, m_lastNumber);
    }
    m_host.listenError(code, message, extra);
    if (streamStopped)
        endMicrophone(); // inside the stream's own signal: it is not called again
}

// ---- recognition ------------------------------------------------------------------------------

void ListeningSession::openStream(Utterance *u)
{
    u->waiting = false;
    const QString correlationId = QStringLiteral("%1#u%2").arg(m_host.listeningCorrelationId()).arg(u->number);
    AsrStream *stream = m_asr.openStream(kSampleRate, correlationId, this);
    u->stream = stream;
    const int number = u->number;
    connect(stream, &AsrStream::partialTranscript, this, [this, number](const QString &text) {
        if (Utterance *x = find(number))
            onPartial(x, text);
    });
    connect(stream, &AsrStream::finalTranscript, this, [this, number](const QString &text) {
        if (Utterance *x = find(number))
            onFinal(x, text);
    });
    connect(stream, &AsrStream::failed, this, [this, number](const UpstreamError &error) {
        if (Utterance *x = find(number))
            onFailed(x, error);
    });
    const QByteArray buffered = std::exchange(u->waitingPcm, QByteArray());
    if (!buffered.isEmpty())
        stream->feed(buffered); // may fail at once, which drops the utterance
    u = find(number);
    if (u && u->ended)
        finishRecognition(u);
}

void ListeningSession::feed(Utterance *u, const QByteArray &pcm)
{
    if (u->refused || u->failed || pcm.isEmpty())
        return;
    u->audioBytes += pcm.size();
    if (u->waiting) {
        // Bounded: the microphone stream cuts an utterance at voice.max_utterance_seconds.
        if (u->waitingPcm.size() < qint64(m_config.voice.maxUtteranceSeconds + 1) * kSampleRate * 2)
            u->waitingPcm += pcm;
        return;
    }
    if (u->stream)
        u->stream->feed(pcm);
}

void ListeningSession::finishRecognition(Utterance *u)
{
    // The stream answers within asr.timeout_ms or fails with Timeout (AsrStream's contract, kept
    // by each client's own timer).
    if (u->stream)
        u->stream->finish();
}

void ListeningSession::onPartial(Utterance *u, const QString &text)
{
    if (text == u->lastPartial)
        return; // identical partials are not relayed
    u->lastPartial = text;
    if (hasWords(text))
        u->wordsHeard = true;
    m_host.listenEvent(chat::kTranscript, {{kUtterance, u->number}, {QStringLiteral("text"), text}, {QStringLiteral("final"), false}});
    maybeConfirm(u);
}

void ListeningSession::onFinal(Utterance *u, const QString &text)
{
    if (m_metrics && u->endedAtMs >= 0)
        m_metrics->observe(kAsrLatency, {}, double(nowMs() - u->endedAtMs) / 1000.0);
    const QString trimmed = text.trimmed();
    const bool words = hasWords(trimmed);
    bool rejected = false; // a duck that the final did not confirm: she goes on, no turn
    if (u->duckedTurn > 0 && !u->confirmed) {
        // The speech lasted, but the partials had no words yet: the final decides.
        if (words) {
            u->wordsHeard = true;
            maybeConfirm(u);
        }
        if (!u->confirmed) {
            rejected = true;
            resolveDuck(u, false);
        }
    }
    if (u->confirmed && !words && m_metrics)
        m_metrics->increment(kFalseInterruptions); // she was stopped by a voice without words
    m_host.listenEvent(chat::kTranscript, {{kUtterance, u->number}, {QStringLiteral("text"), trimmed}, {QStringLiteral("final"), true}});
    const bool startsTurn = words && !rejected;
    if (m_metrics)
        m_metrics->increment(kUtterances, {{QStringLiteral("outcome"), startsTurn ? QStringLiteral("turn") : QStringLiteral("empty")}});
    dropUtterance(u);
    if (!startsTurn)
        return;
    // Guarantee 6: the final transcript starts its turn at once (turn_start is sent inside this
    // call); what the server adds is recorded.
    QElapsedTimer sinceFinal;
    sinceFinal.start();
    m_host.utteranceFinal(trimmed);
    if (m_metrics)
        m_metrics->observe(kTurnStart, {}, double(sinceFinal.nsecsElapsed()) / 1e9);
}

void ListeningSession::onFailed(Utterance *u, const UpstreamError &error)
{
    const QString kind = UpstreamError::kindName(error.kind);
    qCWarning(lcAsr).noquote() << "utterance" << u->number << "not recognized:" << kind << error.message;
    if (m_metrics) {
        m_metrics->increment(kAsrFailures, {{QStringLiteral("kind"), kind}});
        m_metrics->increment(kUtterances, {{QStringLiteral("outcome"), QStringLiteral("failed")}});
    }
    if (u->duckedTurn > 0 && !u->confirmed)
        resolveDuck(u, false);
    QJsonObject extra{{kUtterance, u->number}, {QStringLiteral("kind"), kind}};
    if (error.retryAfterMs >= 0)
        extra.insert(QStringLiteral("retry_after_ms"), error.retryAfterMs);
    m_host.listenError(chat::kErrAsrFailed, QStringLiteral("speech recognition failed (%1); listening goes on").arg(kind), extra);
    if (u == m_speaking) {
        // Still speaking: the rest of it is dropped; speech_end still comes.
        u->failed = true;
        releaseStream(u);
        return;
    }
    dropUtterance(u);
}

void ListeningSession::maybeConfirm(Utterance *u)
{
    if (u->duckedTurn == 0 || u->confirmed || !u->sustained)
        return;
    if (m_asr.streamsPartials() && !u->wordsHeard)
        return;
    resolveDuck(u, true);
}

void ListeningSession::resolveDuck(Utterance *u, bool confirmed)
{
    const int turn = std::exchange(u->duckedTurn, 0);
    if (turn == 0)
        return;
    if (confirmed) {
        u->confirmed = true;
        if (m_metrics)
            m_metrics->increment(kBargeIns);
        m_host.stopByVoice(turn);
    } else {
        m_host.unduck(turn);
    }
}

void ListeningSession::dropUtterance(Utterance *u)
{
    if (u == m_speaking)
        m_speaking = nullptr;
    releaseStream(u);
    const auto it = std::find_if(m_utterances.begin(), m_utterances.end(), [u](const auto &p) { return p.get() == u; });
    if (it != m_utterances.end())
        m_utterances.erase(it);
    // The next utterance waited for this one's recognizer.
    if (!m_utterances.empty() && m_utterances.front()->waiting)
        openStream(m_utterances.front().get());
}

void ListeningSession::releaseStream(Utterance *u)
{
    if (!u->stream)
        return;
    u->stream->disconnect(this);
    u->stream->cancel();
    u->stream->deleteLater();
    u->stream = nullptr;
}

} // namespace tianyi
