#include "loadrunner.h"

#include "tianyi/chatclient.h"
#include "tianyi/emotiontagparser.h"
#include "tianyi/sentencesegmenter.h"
#include "tianyi/sseparser.h"
#include "tianyi/turnrecorder.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace tianyi::cli {

using namespace tianyi::client;

namespace {

double msSince(const QElapsedTimer &t) { return double(t.nsecsElapsed()) / 1e6; }

void note(const QString &text)
{
    const QByteArray bytes = QStringLiteral("load: %1\n").arg(text).toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
}

// Runs job(i, next) for i in [0, total) with at most `concurrency` in flight; each job calls next()
// exactly once when it is over. finished() runs after the last one.
void runBounded(QObject *context, int total, int concurrency, std::function<void(int, std::function<void()>)> job,
                std::function<void()> finished)
{
    struct State {
        int next = 0, inFlight = 0, done = 0, total = 0, concurrency = 1;
        std::function<void(int, std::function<void()>)> job;
        std::function<void()> finished;
        std::function<void()> pump;
    };
    auto s = std::make_shared<State>();
    s->total = total;
    s->concurrency = qMax(1, concurrency);
    s->job = std::move(job);
    s->finished = std::move(finished);
    std::weak_ptr<State> weak = s;
    s->pump = [weak, context]() {
        auto st = weak.lock();
        if (!st)
            return;
        if (st->done == st->total) {
            auto finished = std::move(st->finished);
            st->pump = nullptr; // breaks the cycle; st dies with the last job's copy
            if (finished)
                finished();
            return;
        }
        while (st->inFlight < st->concurrency && st->next < st->total) {
            const int i = st->next++;
            ++st->inFlight;
            st->job(i, [st, context]() {
                --st->inFlight;
                ++st->done;
                // Next event-loop turn: no recursion through synchronous completions.
                QTimer::singleShot(0, context, [st]() {
                    if (st->pump)
                        st->pump();
                });
            });
        }
    };
    if (total == 0) {
        QTimer::singleShot(0, context, [s]() {
            auto finished = std::move(s->finished);
            s->pump = nullptr;
            if (finished)
                finished();
        });
        return;
    }
    s->pump();
}

QByteArray jsonBody(const QJsonObject &o) { return QJsonDocument(o).toJson(QJsonDocument::Compact); }

} // namespace

// The order in which turns start: a burst (each slot once, at the same moment) or steady slotCount
// (spread over the ramp, then think time or pacing until the duration is over).
struct LoadRunner::Schedule {
    QObject *context = nullptr;
    int slotCount = 0;
    double durationMs = 0;
    double rampMs = 0;
    int thinkMs = 0;
    int intervalMs = 0;
    int rounds = 1;             // burst: repeated this often, each after the previous one has ended
    int round = 0;
    std::function<void(int)> begin;
    std::function<void()> allDone;
    QElapsedTimer clock;
    std::vector<double> lastStart;
    int active = 0;

    bool burst() const { return durationMs <= 0; }

    void start()
    {
        clock.start();
        lastStart.assign(size_t(slotCount), 0);
        active = slotCount;
        for (int i = 0; i < slotCount; ++i) {
            if (burst() || rampMs <= 0)
                launch(i);
            else
                QTimer::singleShot(int(rampMs * i / slotCount), context, [this, i]() { launch(i); });
        }
    }
    void retire()
    {
        if (--active > 0)
            return;
        if (burst() && ++round < rounds)
            QTimer::singleShot(300, context, [this]() { start(); });
        else if (allDone)
            QTimer::singleShot(0, context, allDone);
    }
    void launch(int i)
    {
        if (!burst() && msSince(clock) >= durationMs) {
            retire();
            return;
        }
        lastStart[size_t(i)] = msSince(clock);
        begin(i);
    }
    void ended(int i)
    {
        if (burst()) {
            retire();
            return;
        }
        const double now = msSince(clock);
        const double delay = intervalMs > 0 ? std::max(0.0, lastStart[size_t(i)] + intervalMs - now) : double(thinkMs);
        if (now + delay >= durationMs) {
            retire();
            return;
        }
        QTimer::singleShot(int(delay), context, [this, i]() { launch(i); });
    }
};

struct LoadRunner::User {
    int user = 0;                 // account index
    ChatClient chat;
    TurnRecorder recorder;
    QElapsedTimer turnClock;
    bool inTurn = false;
    bool awaitingStart = false;   // chat sent, no turn_start yet
    double firstText = -1, firstAudio = -1, stopSent = -1;
    std::function<void()> helloWaiter;
    std::unique_ptr<VoiceMicrophone> mic;   // --listen
};

// One direct "turn" against the fake: the completion stream through the server's text stages, then
// TTS of the first clause as soon as it is complete (what the server does before the first audio).
struct LoadRunner::Direct {
    QElapsedTimer t;
    SseParser sse;
    EmotionTagParser tags{{QStringLiteral("开心"), QStringLiteral("生气"), QStringLiteral("悲伤"), QStringLiteral("惊讶"),
                           QStringLiteral("撒娇"), QStringLiteral("平静")}};
    std::unique_ptr<SentenceSegmenter> segmenter;
    double ttft = -1, clause = -1, audio = -1;
    bool llmDone = false, ttsStarted = false, ttsDone = false;
    bool record = true;
    qint64 ttsBytes = 0;
};

LoadRunner::LoadRunner(LoadOptions options, QObject *parent)
    : QObject(parent)
    , m_opt(std::move(options))
{
    m_prefix = m_opt.prefix.isEmpty() ? QStringLiteral("ld%1_").arg(QDateTime::currentMSecsSinceEpoch() % 100000000) : m_opt.prefix;
    for (int i = 0; i < 16; ++i)
        m_apis.push_back(std::make_unique<ApiClient>(m_opt.server));
    m_watchdog.setSingleShot(true);
    connect(&m_watchdog, &QTimer::timeout, this, [this]() { fail(QStringLiteral("timeout after %1 s").arg(m_opt.timeoutS)); });
}

LoadRunner::~LoadRunner() = default;

ApiClient *LoadRunner::api() { return m_apis[m_nextApi++ % m_apis.size()].get(); }

QNetworkAccessManager *LoadRunner::nam(int slot, bool tts)
{
    // Qt 6.4 opens at most 6 connections per host and manager, and a slot has at most one completion
    // and one TTS stream in flight: one manager per 6 slots and kind, so no stream waits for a connection.
    const size_t i = size_t(slot / 6) * 2 + (tts ? 1 : 0);
    while (m_nams.size() <= i)
        m_nams.push_back(std::make_unique<QNetworkAccessManager>());
    return m_nams[i].get();
}

QString LoadRunner::userName(int i) const { return m_prefix + QString::number(i); }

QJsonObject LoadRunner::summary(std::vector<double> v)
{
    if (v.empty())
        return {{QStringLiteral("count"), 0}};
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))]; };
    return {{QStringLiteral("count"), int(v.size())}, {QStringLiteral("p50"), at(0.5)}, {QStringLiteral("p95"), at(0.95)},
            {QStringLiteral("p99"), at(0.99)}, {QStringLiteral("max"), v.back()}};
}

void LoadRunner::start()
{
    if (!m_opt.voiceWav.isEmpty()) {
        m_opt.listen = true;
        QFile f(m_opt.voiceWav);
        QString problem = f.open(QIODevice::ReadOnly) ? QString() : f.errorString();
        std::optional<SpeechRecording> r;
        if (problem.isEmpty() && f.size() <= qint64(kMaxSpeechFileSeconds) * 48000 * 4 + 4096)
            r = speechFromWav(f.readAll(), &problem);
        if (!r) {
            m_clock.start();
            fail(QStringLiteral("--voice %1: %2").arg(m_opt.voiceWav, problem.isEmpty() ? QStringLiteral("too large") : problem));
            return;
        }
        m_recording = *r;
        if (m_recording.lastVoicedMs < 0) {
            m_clock.start();
            fail(QStringLiteral("--voice %1: no speech in it").arg(m_opt.voiceWav));
            return;
        }
    }
    m_micTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_micTimer, &QTimer::timeout, this, [this]() {
        const qint64 now = monotonicMs();
        for (auto &u : m_sessions)
            if (u->mic)
                u->mic->tick(now);
    });
    m_clock.start();
    m_listenOverflowsAtRunStart = listenOverflows();
    m_watchdog.start(m_opt.timeoutS * 1000);
    sampleServer(QStringLiteral("start"));
    if (!m_opt.fake.isEmpty() && !m_opt.idle && m_opt.voiceWav.isEmpty()) // voice turns: the fakes run at zero latency, nothing to subtract
        runBaseline(m_opt.warmup);
    else
        startSetup();
}

// warm: one unmeasured burst first, so that the direct streams run over warm connections as the
// server's do after its warm-up (otherwise connection setup would count as the fake's overhead).
void LoadRunner::runBaseline(bool warm)
{
    const int slotCount = m_opt.users * m_opt.sessionsPerUser;
    note(QStringLiteral("baseline%3: %1 direct streams against %2").arg(slotCount).arg(m_opt.fake.toString(), warm ? QStringLiteral(" warm-up") : QString()));
    m_schedule = std::make_unique<Schedule>();
    Schedule &s = *m_schedule;
    s.context = this;
    s.slotCount = slotCount;
    s.durationMs = m_opt.durationS > 0 && !warm ? std::min(m_opt.durationS, m_opt.baselineS) * 1000 : 0;
    s.rampMs = std::min(m_opt.rampS * 1000, s.durationMs / 2);
    s.thinkMs = m_opt.thinkMs;
    s.intervalMs = m_opt.intervalMs;
    s.rounds = warm ? 1 : m_opt.rounds;
    s.allDone = [this, warm]() {
        if (warm)
            runBaseline(false);
        else
            startSetup();
    };
    s.begin = [this, warm](int slot) {
        auto d = std::make_shared<Direct>();
        d->record = !warm;
        SegmenterOptions so;
        so.earlyFirstClause = m_opt.earlyCut;
        d->segmenter = std::make_unique<SentenceSegmenter>(so);
        auto maybeEnd = [this, d, slot]() {
            if (d->llmDone && (d->ttsDone || !d->ttsStarted) && d->t.isValid()) {
                d->t.invalidate();
                if (d->record && d->ttft >= 0)
                    m_baseTtft.push_back(d->ttft);
                if (d->record && d->clause >= 0)
                    m_baseClause.push_back(d->clause);
                if (d->record && d->audio >= 0)
                    m_baseAudio.push_back(d->audio);
                m_schedule->ended(slot);
            }
        };
        auto startTts = [this, d, maybeEnd, slot](const QString &clause) {
            d->ttsStarted = true;
            QNetworkRequest req(QUrl(m_opt.fake.toString() + QStringLiteral("/tts")));
            req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
            QNetworkReply *reply = nam(slot, true)->post(
                req, jsonBody({{QStringLiteral("text"), clause}, {QStringLiteral("text_lang"), QStringLiteral("zh")},
                               {QStringLiteral("ref_audio_path"), QStringLiteral("ref.wav")}, {QStringLiteral("prompt_lang"), QStringLiteral("zh")},
                               {QStringLiteral("streaming_mode"), true}, {QStringLiteral("media_type"), QStringLiteral("wav")}}));
            connect(reply, &QNetworkReply::readyRead, this, [d, reply]() {
                d->ttsBytes += reply->readAll().size();
                if (d->ttsBytes > 44 && d->audio < 0) // past the WAV header: the first PCM
                    d->audio = msSince(d->t);
            });
            connect(reply, &QNetworkReply::finished, this, [d, reply, maybeEnd]() {
                reply->deleteLater();
                d->ttsDone = true;
                maybeEnd();
            });
        };
        QNetworkRequest req(QUrl(m_opt.fake.toString() + QStringLiteral("/v1/chat/completions")));
        req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        d->t.start();
        QNetworkReply *reply = nam(slot, false)->post(
            req, jsonBody({{QStringLiteral("model"), QStringLiteral("m")}, {QStringLiteral("stream"), true},
                           {QStringLiteral("messages"), QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                                                               {QStringLiteral("content"), m_opt.text}}}}}));
        connect(reply, &QNetworkReply::readyRead, this, [d, reply, startTts]() {
            for (const SseEvent &e : d->sse.feed(reply->readAll())) {
                const QJsonObject o = QJsonDocument::fromJson(e.data.toUtf8()).object();
                const QString delta = o.value(QStringLiteral("choices")).toArray().at(0).toObject().value(QStringLiteral("delta")).toObject()
                                          .value(QStringLiteral("content")).toString();
                QString visible;
                for (const EmotionTagPiece &piece : d->tags.feed(delta))
                    if (piece.kind == EmotionTagPiece::Kind::Text)
                        visible += piece.text;
                if (visible.isEmpty())
                    continue;
                if (d->ttft < 0)
                    d->ttft = msSince(d->t);
                if (d->clause < 0) {
                    const QStringList sentences = d->segmenter->feed(visible);
                    if (!sentences.isEmpty()) {
                        d->clause = msSince(d->t);
                        startTts(sentences.first());
                    }
                }
            }
        });
        connect(reply, &QNetworkReply::finished, this, [d, reply, maybeEnd, startTts]() {
            reply->deleteLater();
            if (d->clause < 0) { // a reply of one sentence: it ends with the stream
                const QStringList rest = d->segmenter->finish();
                if (!rest.isEmpty()) {
                    d->clause = msSince(d->t);
                    startTts(rest.first());
                }
            }
            d->llmDone = true;
            maybeEnd();
        });
    };
    s.start();
}

void LoadRunner::startSetup()
{
    m_schedule.reset();
    m_nams.clear(); // close the baseline's connections to the fake
    const int stormUsers = m_opt.loginRate > 0 ? m_opt.loginUsers : 0;
    note(QStringLiteral("setup: %1 users (+%2 for logins), %3 sessions each").arg(m_opt.users).arg(stormUsers).arg(m_opt.sessionsPerUser));
    m_tokens.assign(size_t(m_opt.users), QString());
    m_stormTokens.assign(size_t(stormUsers), QString());
    const QString password = QStringLiteral("load password 1");
    // Register and log in every account (storm accounts after the chat users).
    runBounded(
        this, m_opt.users + stormUsers, m_opt.setupConcurrency,
        [this, password](int i, std::function<void()> next) {
            const bool storm = i >= m_opt.users;
            const QString name = storm ? m_prefix + QStringLiteral("s%1").arg(i - m_opt.users) : userName(i);
            ApiClient *a = api();
            a->registerUser(name, password, {}, [this, a, name, password, i, storm, next](const ApiResult &r) {
                if (!r.ok() && r.status != 409) {
                    fail(QStringLiteral("register %1: %2").arg(name, r.describe()));
                    return;
                }
                if (storm) { // the storm logs in itself
                    next();
                    return;
                }
                a->login(name, password, [this, name, i, next](const ApiResult &r) {
                    const auto tokens = Tokens::fromJson(r.json);
                    if (!tokens) {
                        fail(QStringLiteral("login %1: %2").arg(name, r.describe()));
                        return;
                    }
                    m_tokens[size_t(i)] = tokens->accessToken;
                    next();
                });
            });
        },
        [this]() {
            if (m_finished)
                return;
            sampleServer(QStringLiteral("before_sessions"));
            const int sessions = m_opt.users * m_opt.sessionsPerUser;
            note(QStringLiteral("opening %1 chat sessions").arg(sessions));
            for (int s = 0; s < sessions; ++s) {
                auto u = std::make_unique<User>();
                u->user = s % m_opt.users;
                u->recorder.setKeepAudio(false);
                u->recorder.setMaxTurns(4);
                u->recorder.attach(&u->chat);
                m_sessions.push_back(std::move(u));
            }
            for (int s = 0; s < sessions; ++s) {
                User *u = m_sessions[size_t(s)].get();
                connect(&u->chat, &ChatClient::helloReceived, this, [this, u, s](const Hello &) {
                    if (!m_opt.listen) {
                        if (auto w = std::move(u->helloWaiter))
                            w();
                        return;
                    }
                    // Ready once the listening stream is open (the setup waits for it like for hello).
                    u->mic = std::make_unique<VoiceMicrophone>(&u->chat, m_recording.pcm, m_recording.lastVoicedMs, m_opt.noiseDbfs,
                                                               quint32(s + 1));
                    connect(u->mic.get(), &VoiceMicrophone::ready, this, [this, u]() {
                        if (!m_micTimer.isActive())
                            m_micTimer.start(kMicTickMs);
                        if (auto w = std::move(u->helloWaiter))
                            w();
                    });
                    connect(u->mic.get(), &VoiceMicrophone::failed, this, [this, s](const QString &why) {
                        fail(QStringLiteral("session %1: %2").arg(s).arg(why));
                    });
                    connect(u->mic.get(), &VoiceMicrophone::turnOver, this, [this, s](const VoiceTiming &t) { voiceTurnOver(s, t); });
                    u->mic->open();
                });
                connect(&u->chat, &ChatClient::disconnected, this, [this, u, s](int code, const QString &reason) {
                    ++m_closed;
                    if (u->helloWaiter) {
                        fail(QStringLiteral("session %1 refused: %2 %3 (%4)").arg(s).arg(code).arg(ChatClient::closeCodeName(code), reason));
                        return;
                    }
                    if (u->inTurn) {
                        ++m_failedTurns;
                        u->inTurn = false;
                        turnDone(s);
                    }
                });
                connect(&u->chat, &ChatClient::turnStarted, this, [u](const ChatEvent &) { u->awaitingStart = false; });
                connect(&u->chat, &ChatClient::textDelta, this, [u](qint64, const QString &) {
                    if (u->inTurn && u->firstText < 0)
                        u->firstText = msSince(u->turnClock);
                });
                connect(&u->chat, &ChatClient::audio, this, [u](const AudioChunk &) {
                    if (u->inTurn && u->firstAudio < 0)
                        u->firstAudio = msSince(u->turnClock);
                });
                connect(&u->chat, &ChatClient::stopped, this, [this, u](qint64, qint64 stopMs) {
                    if (u->stopSent >= 0) {
                        m_stopRtt.push_back(msSince(u->turnClock) - u->stopSent);
                        m_serverStop.push_back(double(stopMs));
                    }
                });
                connect(&u->chat, &ChatClient::serverError, this, [this, u, s](const ChatEvent &e) {
                    if (u->mic)
                        return; // voice turns end through their microphone
                    if (u->inTurn && u->awaitingStart && e.turn < 0) { // the chat was refused (rate_limited, ...)
                        ++m_refused;
                        u->inTurn = false;
                        turnDone(s);
                    }
                });
                connect(&u->chat, &ChatClient::turnEnded, this, [this, u, s](const ChatEvent &e) {
                    if (!u->inTurn || u->mic)
                        return;
                    u->inTurn = false;
                    const QString status = e.str(QStringLiteral("status"));
                    m_completed += status == QLatin1String("completed");
                    m_interrupted += status == QLatin1String("interrupted");
                    m_failedTurns += status == QLatin1String("failed");
                    // Turns stopped before their first text or audio count only towards stop latency.
                    if (u->firstText >= 0 && (u->stopSent < 0 || u->firstText < u->stopSent))
                        m_ttft.push_back(u->firstText);
                    if (u->firstAudio >= 0 && (u->stopSent < 0 || u->firstAudio < u->stopSent))
                        m_firstAudio.push_back(u->firstAudio);
                    const TurnStats stats = TurnStats::fromJson(e.json.value(QStringLiteral("stats")).toObject());
                    if (stats.ttftMs >= 0 && u->stopSent < 0)
                        m_serverTtft.push_back(double(stats.ttftMs));
                    if (u->stopSent < 0)
                        m_total.push_back(msSince(u->turnClock));
                    turnDone(s);
                });
            }
            runBounded(
                this, sessions, m_opt.setupConcurrency,
                [this](int s, std::function<void()> next) {
                    User *u = m_sessions[size_t(s)].get();
                    u->helloWaiter = next;
                    u->chat.open(m_opt.server, m_tokens[size_t(u->user)], AudioMode::Binary);
                },
                [this]() {
                    if (m_finished)
                        return;
                    note(QStringLiteral("%1 sessions open").arg(m_sessions.size()));
                    if (m_opt.warmup && !m_opt.idle)
                        startWarmup();
                    else
                        startMeasured();
                });
        });
}

// One unmeasured turn per session first, so that connection pools (server -> upstream) are warm as on
// a running server: otherwise a burst measures N new TCP connections to the fake (whose listen backlog
// is Qt's default 50) instead of the server.
void LoadRunner::startWarmup()
{
    note(QStringLiteral("warm-up: one turn per session"));
    m_measuring = true;
    m_schedule = std::make_unique<Schedule>();
    Schedule &s = *m_schedule;
    s.context = this;
    s.slotCount = int(m_sessions.size());
    s.begin = [this](int slot) { startTurn(slot); };
    s.allDone = [this]() {
        m_measuring = false;
        for (auto *v : {&m_ttft, &m_firstAudio, &m_stopRtt, &m_serverStop, &m_total, &m_serverTtft, &m_vSpeechEnd, &m_vFinal, &m_vTurnStart,
                        &m_vFirstText, &m_vFirstAudio, &m_vTurnEnd})
            v->clear();
        m_started = m_completed = m_interrupted = m_failedTurns = m_refused = m_stopsSent = 0;
        m_voiceNoTurn = m_voiceAsrFailed = m_voiceStreamStopped = 0;
        m_voiceTurns = QJsonArray();
        QTimer::singleShot(1000, this, &LoadRunner::startMeasured);
    };
    s.start();
}

void LoadRunner::startMeasured()
{
    m_listenOverflowsAtStart = listenOverflows();
    m_phase.start();
    m_measuring = true;
    if (m_opt.samplePid > 0) {
        connect(&m_sampler, &QTimer::timeout, this, [this]() { sampleServer(QStringLiteral("sample")); });
        m_sampler.start(m_opt.sampleMs);
    }
    if (m_opt.idle) {
        // Let the server settle (hello sent, buffers shrunk) before reading its memory.
        QTimer::singleShot(2000, this, [this]() {
            sampleServer(QStringLiteral("sessions_open"));
            if (m_opt.listen) // the server's CPU while every session streams its microphone
                sampleServer(QStringLiteral("measure_start"));
            QTimer::singleShot(int(m_opt.holdS * 1000), this, [this]() { finishMeasured(); });
        });
        return;
    }
    sampleServer(QStringLiteral("measure_start"));
    startStorm();
    const int sessions = int(m_sessions.size());
    note(QStringLiteral("measuring: %1 sessions, %2").arg(sessions).arg(m_opt.durationS > 0 ? QStringLiteral("%1 s").arg(m_opt.durationS)
                                                                                             : QStringLiteral("one burst")));
    m_schedule = std::make_unique<Schedule>(); // the same schedule, now for chat turns
    Schedule &s = *m_schedule;
    s.context = this;
    s.slotCount = sessions;
    s.durationMs = m_opt.durationS * 1000;
    s.rampMs = m_opt.rampS * 1000;
    s.thinkMs = m_opt.thinkMs;
    s.intervalMs = m_opt.intervalMs;
    s.rounds = m_opt.rounds;
    s.begin = [this](int slot) { startTurn(slot); };
    s.allDone = [this]() { finishMeasured(); };
    s.start();
}

void LoadRunner::startTurn(int s)
{
    User *u = m_sessions[size_t(s)].get();
    if (u->mic) {
        u->inTurn = true;
        ++m_started;
        if (!u->mic->speak()) {
            ++m_failedTurns;
            u->inTurn = false;
            turnDone(s);
        }
        return;
    }
    u->inTurn = true;
    u->awaitingStart = true;
    u->firstText = u->firstAudio = u->stopSent = -1;
    ++m_started;
    u->turnClock.start();
    u->chat.chat(m_opt.text);
    // Stops go to a deterministic share of the turns (every k-th of each session's turns, spread).
    const bool stop = m_opt.stopAfterMs >= 0 && (m_opt.stopFraction >= 1.0 || std::fmod((m_started + s) * m_opt.stopFraction, 1.0) < m_opt.stopFraction);
    if (stop) {
        QTimer::singleShot(m_opt.stopAfterMs, &u->chat, [this, u]() {
            const RecordedTurn *t = u->recorder.currentTurn();
            if (!u->inTurn || !t)
                return;
            u->stopSent = msSince(u->turnClock);
            u->recorder.onStopSent(t->turn, monotonicMs());
            ++m_stopsSent;
            u->chat.stop(t->turn);
        });
    }
}

void LoadRunner::voiceTurnOver(int s, const VoiceTiming &t)
{
    User *u = m_sessions[size_t(s)].get();
    if (!u->inTurn)
        return;
    u->inTurn = false;
    m_completed += t.outcome == chat::kCompleted;
    m_interrupted += t.outcome == chat::kInterrupted;
    m_failedTurns += t.outcome == chat::kFailed;
    m_voiceNoTurn += t.outcome == QLatin1String("no_turn");
    m_voiceAsrFailed += t.outcome == QLatin1String("asr_failed");
    m_voiceStreamStopped += t.outcome == QLatin1String("stream_stopped");
    auto keep = [](std::vector<double> &v, qint64 ms) {
        if (ms >= 0)
            v.push_back(double(ms));
    };
    keep(m_vSpeechEnd, t.speechEndAfterVoiceMs);
    keep(m_vFinal, t.finalAfterSpeechEndMs);
    keep(m_vTurnStart, t.turnStartAfterSpeechEndMs);
    keep(m_vFirstText, t.firstTextAfterSpeechEndMs);
    keep(m_vFirstAudio, t.firstAudioAfterSpeechEndMs);
    if (t.outcome == chat::kCompleted)
        keep(m_vTurnEnd, t.turnEndAfterSpeechEndMs);
    if (m_voiceTurns.size() < kMaxVoiceTurnsKept) {
        QJsonObject row = t.toJson();
        row.insert(QStringLiteral("session"), s);
        m_voiceTurns.append(row);
    }
    turnDone(s);
}

QJsonObject LoadRunner::voiceResult() const
{
    return {{QStringLiteral("recording"), QJsonObject{{QStringLiteral("file"), m_opt.voiceWav},
                                                      {QStringLiteral("duration_ms"), m_recording.durationMs()},
                                                      {QStringLiteral("first_voiced_ms"), m_recording.firstVoicedMs},
                                                      {QStringLiteral("last_voiced_ms"), m_recording.lastVoicedMs}}},
            {QStringLiteral("room_dbfs"), m_opt.noiseDbfs <= -120 ? QJsonValue(QJsonValue::Null) : QJsonValue(m_opt.noiseDbfs)},
            {QStringLiteral("no_turn"), m_voiceNoTurn},
            {QStringLiteral("asr_failed"), m_voiceAsrFailed},
            {QStringLiteral("stream_stopped"), m_voiceStreamStopped},
            {QStringLiteral("speech_end_after_voice_ms"), summary(m_vSpeechEnd)},
            {QStringLiteral("final_after_speech_end_ms"), summary(m_vFinal)},
            {QStringLiteral("turn_start_after_speech_end_ms"), summary(m_vTurnStart)},
            {QStringLiteral("first_text_after_speech_end_ms"), summary(m_vFirstText)},
            {QStringLiteral("first_audio_after_speech_end_ms"), summary(m_vFirstAudio)},
            {QStringLiteral("turn_end_after_speech_end_ms"), summary(m_vTurnEnd)},
            {QStringLiteral("per_turn"), m_voiceTurns}};
}

void LoadRunner::turnDone(int s)
{
    if (m_schedule && m_measuring)
        m_schedule->ended(s);
}

void LoadRunner::startStorm()
{
    if (m_opt.loginRate > 0 && !m_stormTokens.empty()) {
        connect(&m_storm, &QTimer::timeout, this, [this]() {
            const int i = m_nextStormUser++ % int(m_stormTokens.size());
            auto t = std::make_shared<QElapsedTimer>();
            t->start();
            // Its own client per login: open loop, never queued behind a slow hash on a shared connection.
            auto *a = new ApiClient(m_opt.server, this);
            a->login(m_prefix + QStringLiteral("s%1").arg(i), QStringLiteral("load password 1"), [this, t, a](const ApiResult &r) {
                if (r.ok()) {
                    m_logins.push_back(msSince(*t));
                } else {
                    ++m_loginErrors;
                    const QString kind = r.error ? QStringLiteral("%1 %2").arg(r.status).arg(r.error->code) : QStringLiteral("%1 %2").arg(r.status).arg(r.networkError);
                    m_loginErrorKinds.insert(kind, m_loginErrorKinds.value(kind).toInt() + 1);
                }
                a->deleteLater();
            });
        });
        m_storm.start(int(1000.0 / m_opt.loginRate));
    }
    if (m_opt.historyRate > 0 && !m_tokens.empty()) {
        connect(&m_history, &QTimer::timeout, this, [this]() {
            const QString &token = m_tokens[size_t(m_nextStormUser++ % int(m_tokens.size()))];
            auto t = std::make_shared<QElapsedTimer>();
            t->start();
            api()->request("GET", QStringLiteral("/api/v1/me/history?limit=20"), std::nullopt, token, [this, t](const ApiResult &r) {
                if (r.ok())
                    m_historyMs.push_back(msSince(*t));
                else
                    ++m_historyErrors;
            });
        });
        m_history.start(int(1000.0 / m_opt.historyRate));
    }
}

qint64 LoadRunner::listenOverflows()
{
    QFile f(QStringLiteral("/proc/net/netstat"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (int i = 0; i + 1 < lines.size(); i += 2) {
        const QList<QByteArray> names = lines.at(i).split(' '), values = lines.at(i + 1).split(' ');
        const qsizetype at = names.indexOf("ListenOverflows");
        if (at > 0 && at < values.size())
            return values.at(at).toLongLong();
    }
    return 0;
}

void LoadRunner::sampleServer(const QString &label)
{
    if (m_opt.samplePid <= 0)
        return;
    const QString dir = QStringLiteral("/proc/%1").arg(m_opt.samplePid);
    QFile status(dir + QStringLiteral("/status"));
    QFile stat(dir + QStringLiteral("/stat"));
    if (!status.open(QIODevice::ReadOnly) || !stat.open(QIODevice::ReadOnly))
        return;
    QJsonObject sample{{QStringLiteral("t_s"), double(m_clock.elapsed()) / 1000.0}, {QStringLiteral("label"), label},
                       {QStringLiteral("phase_s"), m_phase.isValid() ? double(m_phase.elapsed()) / 1000.0 : -1.0}};
    for (const QByteArray &line : status.readAll().split('\n')) {
        auto field = [&](const char *name, const char *key) {
            if (line.startsWith(name))
                sample.insert(QLatin1String(key), line.mid(int(qstrlen(name))).trimmed().split(' ').first().toLongLong());
        };
        field("VmRSS:", "rss_kib");
        field("VmHWM:", "hwm_kib");
        field("Threads:", "threads");
    }
    // /proc/PID/stat: fields after the ")" of the command name; utime and stime are fields 14 and 15.
    const QByteArray s = stat.readAll();
    const QList<QByteArray> f = s.mid(s.lastIndexOf(')') + 2).split(' ');
    if (f.size() > 13) {
        const double ticks = double(sysconf(_SC_CLK_TCK));
        sample.insert(QStringLiteral("cpu_s"), double(f.at(11).toLongLong() + f.at(12).toLongLong()) / ticks);
    }
    sample.insert(QStringLiteral("fds"), int(QDir(dir + QStringLiteral("/fd")).entryList(QDir::NoDotAndDotDot | QDir::AllEntries | QDir::System).size()));
    m_samples.append(sample);
}

void LoadRunner::finishMeasured()
{
    if (m_finished)
        return;
    stopTraffic();
    const double wallS = double(m_phase.nsecsElapsed()) / 1e9;
    sampleServer(QStringLiteral("end"));
    const qint64 overflows = listenOverflows() - m_listenOverflowsAtStart;
    const int sessions = int(m_sessions.size());
    for (const auto &u : m_sessions)
        m_violations += int(u->recorder.violations().size());

    const QJsonObject base{{QStringLiteral("ttft_ms"), summary(m_baseTtft)},
                           {QStringLiteral("first_clause_ms"), summary(m_baseClause)},
                           {QStringLiteral("first_audio_ms"), summary(m_baseAudio)}};
    const QJsonObject clientTtft = summary(m_ttft), clientAudio = summary(m_firstAudio);
    // Server-added = client percentile - the direct (fake-only) median at the same concurrency: the fake's
    // fixed latency and typical overhead come off, every bit of the tail counts against the server
    // (conservative; "added_by_quantile" subtracts the direct percentile of the same rank instead).
    auto added = [](const QJsonObject &client, const QJsonObject &direct, bool sameRank) {
        QJsonObject o;
        if (client.value(QStringLiteral("count")).toInt() == 0 || direct.value(QStringLiteral("count")).toInt() == 0)
            return o;
        for (const char *q : {"p50", "p95", "p99"})
            o.insert(QLatin1String(q), client.value(QLatin1String(q)).toDouble() - direct.value(QLatin1String(sameRank ? q : "p50")).toDouble());
        return o;
    };
    auto addedBoth = [&](bool sameRank) {
        return QJsonObject{{QStringLiteral("ttft_ms"), added(clientTtft, base.value(QStringLiteral("ttft_ms")).toObject(), sameRank)},
                           {QStringLiteral("first_audio_ms"), added(clientAudio, base.value(QStringLiteral("first_audio_ms")).toObject(), sameRank)}};
    };
    m_result = QJsonObject{
        {QStringLiteral("mode"), m_opt.idle ? QStringLiteral("idle") : m_opt.durationS > 0 ? QStringLiteral("steady") : QStringLiteral("burst")},
        {QStringLiteral("users"), m_opt.users},
        {QStringLiteral("sessions"), sessions},
        {QStringLiteral("think_ms"), m_opt.thinkMs},
        {QStringLiteral("interval_ms"), m_opt.intervalMs},
        {QStringLiteral("duration_s"), m_opt.durationS},
        {QStringLiteral("rounds"), m_opt.rounds},
        {QStringLiteral("ramp_s"), m_opt.rampS},
        {QStringLiteral("stop_after_ms"), m_opt.stopAfterMs},
        {QStringLiteral("stop_fraction"), m_opt.stopFraction},
        {QStringLiteral("login_rate"), m_opt.loginRate},
        {QStringLiteral("history_rate"), m_opt.historyRate},
        {QStringLiteral("text"), m_opt.text},
        {QStringLiteral("wall_s"), wallS},
        {QStringLiteral("turns"), QJsonObject{{QStringLiteral("started"), m_started}, {QStringLiteral("completed"), m_completed},
                                              {QStringLiteral("interrupted"), m_interrupted}, {QStringLiteral("failed"), m_failedTurns},
                                              {QStringLiteral("refused"), m_refused}, {QStringLiteral("stops_sent"), m_stopsSent},
                                              {QStringLiteral("per_second"), wallS > 0 ? double(m_started) / wallS : 0.0}}},
        {QStringLiteral("guarantee_violations"), m_violations},
        // System-wide TcpExt ListenOverflows during the measured phase: SYNs dropped by a full listen
        // queue (each costs the connecting side a 1 s retransmit).
        {QStringLiteral("listen_overflows"), overflows},
        {QStringLiteral("listen_overflows_whole_run"), listenOverflows() - m_listenOverflowsAtRunStart}, // incl. setup
        {QStringLiteral("warmup"), m_opt.warmup && !m_opt.idle},
        {QStringLiteral("sockets_closed"), m_closed},
        {QStringLiteral("baseline"), base},
        {QStringLiteral("client"), QJsonObject{{QStringLiteral("ttft_ms"), clientTtft}, {QStringLiteral("first_audio_ms"), clientAudio},
                                               {QStringLiteral("turn_total_ms"), summary(m_total)},
                                               {QStringLiteral("server_reported_ttft_ms"), summary(m_serverTtft)}}},
        {QStringLiteral("added"), addedBoth(false)},
        {QStringLiteral("added_by_quantile"), addedBoth(true)},
        {QStringLiteral("stop"), QJsonObject{{QStringLiteral("client_stop_to_stopped_ms"), summary(m_stopRtt)},
                                             {QStringLiteral("server_stop_ms"), summary(m_serverStop)}}},
        {QStringLiteral("logins"), QJsonObject{{QStringLiteral("latency_ms"), summary(m_logins)}, {QStringLiteral("errors"), m_loginErrors},
                                               {QStringLiteral("error_kinds"), m_loginErrorKinds}}},
        {QStringLiteral("history"), QJsonObject{{QStringLiteral("latency_ms"), summary(m_historyMs)}, {QStringLiteral("errors"), m_historyErrors}}},
    };
    if (m_opt.listen) {
        QJsonObject voice = voiceResult();
        voice.insert(QStringLiteral("listening_sessions"), int(std::count_if(m_sessions.cbegin(), m_sessions.cend(), [](const auto &u) { return u->mic != nullptr; })));
        m_result.insert(QStringLiteral("voice"), voice);
    }
    if (m_opt.samplePid > 0) {
        QJsonObject server{{QStringLiteral("pid"), m_opt.samplePid}, {QStringLiteral("samples"), m_samples}};
        auto find = [&](const QString &label) {
            for (const QJsonValue &v : m_samples)
                if (v.toObject().value(QStringLiteral("label")).toString() == label)
                    return v.toObject();
            return QJsonObject();
        };
        const QJsonObject before = find(QStringLiteral("before_sessions")), open = find(QStringLiteral("sessions_open")),
                          start = find(QStringLiteral("measure_start")), end = find(QStringLiteral("end"));
        if (!before.isEmpty() && !open.isEmpty() && sessions > 0) {
            const double delta = open.value(QStringLiteral("rss_kib")).toDouble() - before.value(QStringLiteral("rss_kib")).toDouble();
            server.insert(QStringLiteral("rss_before_sessions_kib"), before.value(QStringLiteral("rss_kib")));
            server.insert(QStringLiteral("rss_sessions_open_kib"), open.value(QStringLiteral("rss_kib")));
            server.insert(QStringLiteral("kib_per_session"), delta / sessions);
            server.insert(QStringLiteral("fds_per_session"),
                          (open.value(QStringLiteral("fds")).toDouble() - before.value(QStringLiteral("fds")).toDouble()) / sessions);
        }
        if (!start.isEmpty() && !end.isEmpty()) {
            const double cpu = end.value(QStringLiteral("cpu_s")).toDouble() - start.value(QStringLiteral("cpu_s")).toDouble();
            server.insert(QStringLiteral("cpu_s"), cpu);
            // Idle listening: the CPU over the hold only (from the samples' own times), not the 2 s of settling before it.
            const double spanS = m_opt.idle ? end.value(QStringLiteral("t_s")).toDouble() - start.value(QStringLiteral("t_s")).toDouble() : wallS;
            server.insert(QStringLiteral("cpu_wall_s"), spanS);
            server.insert(QStringLiteral("cpu_share_of_one_core"), spanS > 0 ? cpu / spanS : 0.0);
            server.insert(QStringLiteral("cpu_ms_per_turn"), m_started > 0 ? 1000.0 * cpu / m_started : 0.0);
            double rssMax = 0;
            for (const QJsonValue &v : m_samples)
                rssMax = std::max(rssMax, v.toObject().value(QStringLiteral("rss_kib")).toDouble());
            server.insert(QStringLiteral("rss_start_kib"), start.value(QStringLiteral("rss_kib")));
            server.insert(QStringLiteral("rss_end_kib"), end.value(QStringLiteral("rss_kib")));
            server.insert(QStringLiteral("rss_max_kib"), rssMax);
        }
        m_result.insert(QStringLiteral("server"), server);
    }
    done(m_started == m_completed + m_interrupted + m_failedTurns + m_refused + m_voiceNoTurn + m_voiceAsrFailed + m_voiceStreamStopped ? 0 : 1);
}

void LoadRunner::fail(const QString &why)
{
    if (m_finished)
        return;
    note(QStringLiteral("failed: %1").arg(why));
    m_result.insert(QStringLiteral("error"), why);
    done(1);
}

void LoadRunner::stopTraffic()
{
    m_measuring = false;
    m_storm.stop();
    m_history.stop();
    m_sampler.stop();
}

void LoadRunner::done(int code)
{
    if (m_finished)
        return;
    m_finished = true;
    m_watchdog.stop();
    stopTraffic();
    const QByteArray line = QJsonDocument(m_result).toJson(QJsonDocument::Compact) + '\n';
    std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
    std::fflush(stdout);
    if (!m_opt.jsonFile.isEmpty()) {
        QFile f(m_opt.jsonFile);
        if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            f.write(QJsonDocument(m_result).toJson(QJsonDocument::Indented));
        else
            note(QStringLiteral("cannot write %1").arg(m_opt.jsonFile));
    }
    m_micTimer.stop();
    for (auto &u : m_sessions) {
        if (u->mic)
            u->mic->close();
        u->chat.close();
    }
    QTimer::singleShot(0, qApp, [code]() { QCoreApplication::exit(code); });
}

} // namespace tianyi::cli
