#pragma once
// tianyi-cli load: N virtual users against a running server (the load generator of bench/run.sh
// drives every scenario through it).
//
// Phases: (1) baseline: the same schedule of turns, but each "turn" is a direct stream against the
// fake upstream (chat completion through the server's own text stages, then TTS of the first clause),
// so the fake's own latency and overhead under the same concurrency are measured and subtracted;
// (2) setup: register, log in, open one chat socket per session; (3) the measured phase: a burst (every
// user chats at the same moment, once) or a steady schedule (ramp, think time or pacing, duration),
// optionally with a login storm, history reads and stops; or idle (sockets held open, nothing sent).
// With --sample-pid the server's RSS, open files and CPU time are read from /proc during the run.
//
// Hands-free (--listen, implied by --voice FILE.wav): every session opens a listening stream after its
// hello and streams the sound of a quiet room in real time (--noise-dbfs) for the whole run; with
// --voice each turn speaks the recording into it instead of sending a chat, and is timed from the
// listening stream's events (voicemicrophone.h); with --idle the sessions only listen for --hold-s.

#include "tianyi/apiclient.h"
#include "tianyi/speechrecording.h"
#include "voicemicrophone.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QUrl>

#include <functional>
#include <memory>
#include <vector>

class QNetworkAccessManager;

namespace tianyi::cli {

struct LoadOptions {
    QUrl server;
    QUrl fake;                  // empty: no baseline
    int users = 1;
    int sessionsPerUser = 1;    // chat sockets per user (devices)
    int thinkMs = 0;            // after a turn ends, before the next chat
    int intervalMs = 0;         // > 0: a user starts a turn every interval (start to start) instead
    double durationS = 0;       // 0: burst, every session chats once at the same moment
    int rounds = 1;             // burst: this many, one after the other
    double rampS = 0;           // steady: sessions start spread over this long
    QString text = QStringLiteral("你好呀，今天唱什么歌？");
    int stopAfterMs = -1;       // send stop this long after a chat
    double stopFraction = 1.0;  // of the turns
    bool idle = false;          // open the sessions and hold them for holdS; no chats
    double holdS = 5;
    double loginRate = 0;       // logins per second during the measured phase (open loop)
    int loginUsers = 20;        // accounts the storm logs in with (registered in setup)
    double historyRate = 0;     // GET /me/history per second during the measured phase
    qint64 samplePid = 0;       // server PID to sample from /proc
    int sampleMs = 10000;
    bool earlyCut = true;       // mirrors chat.early_first_clause in the baseline
    double baselineS = 10;      // steady baseline length (burst: one round)
    QString prefix;             // account name prefix (default: unique per run)
    int setupConcurrency = 64;  // registrations / logins / socket opens in flight
    bool warmup = true;         // one unmeasured turn per session before measuring
    int timeoutS = 600;
    QString jsonFile;           // also write the result here
    bool listen = false;        // every session streams its microphone (room sound) in real time
    QString voiceWav;           // non-empty: turns are spoken (this recording) instead of typed; implies listen
    double noiseDbfs = -200;    // the room between turns: <= -120 digital silence, else white noise RMS
};

class LoadRunner : public QObject
{
    Q_OBJECT

public:
    explicit LoadRunner(LoadOptions options, QObject *parent = nullptr);
    ~LoadRunner() override;

    // Runs every phase, prints the result JSON on stdout and exits the application (0 ok, 1 failed).
    void start();

    // Percentiles of a sample in ms: {count, p50, p95, p99, max}.
    static QJsonObject summary(std::vector<double> samples);

private:
    struct User;
    struct Direct;
    struct Schedule;

    void runBaseline(bool warm);
    void startSetup();
    void startWarmup();
    void startMeasured();
    static qint64 listenOverflows();
    void startTurn(int session);
    void voiceTurnOver(int session, const VoiceTiming &timing);
    QJsonObject voiceResult() const;
    void turnDone(int session);
    void startStorm();
    void sampleServer(const QString &label);
    void finishMeasured();
    void stopTraffic();
    void fail(const QString &why);
    void done(int code);
    client::ApiClient *api();
    QNetworkAccessManager *nam(int slot, bool tts);
    QString userName(int i) const;

    LoadOptions m_opt;
    QString m_prefix;
    std::vector<std::unique_ptr<client::ApiClient>> m_apis;   // round-robin: 6 connections each
    std::vector<std::unique_ptr<QNetworkAccessManager>> m_nams; // baseline streams (see nam())
    size_t m_nextApi = 0;
    std::vector<std::unique_ptr<User>> m_sessions;            // users * sessionsPerUser
    std::vector<QString> m_tokens;                            // per user
    std::vector<QString> m_stormTokens;
    int m_setupNext = 0, m_setupInFlight = 0, m_setupDone = 0, m_setupTotal = 0;
    QElapsedTimer m_clock;                                    // since start()
    QElapsedTimer m_phase;                                    // since the measured phase started
    double m_deadlineMs = 0;
    bool m_measuring = false;
    bool m_finished = false;
    int m_turnsRunning = 0;
    QTimer m_sampler, m_storm, m_history, m_watchdog;
    QJsonArray m_samples;
    QJsonObject m_result;
    // baseline
    std::vector<double> m_baseTtft, m_baseClause, m_baseAudio;
    // measured
    std::vector<double> m_ttft, m_firstAudio, m_stopRtt, m_serverStop, m_total, m_serverTtft, m_logins, m_historyMs;
    int m_started = 0, m_completed = 0, m_interrupted = 0, m_failedTurns = 0, m_refused = 0, m_violations = 0, m_closed = 0;
    QJsonObject m_loginErrorKinds; // "status code" -> count
    int m_loginErrors = 0, m_historyErrors = 0, m_stopsSent = 0;
    int m_nextStormUser = 0;
    qint64 m_listenOverflowsAtStart = 0, m_listenOverflowsAtRunStart = 0;
    std::unique_ptr<Schedule> m_schedule;         // the baseline's, then the measured phase's
    // hands-free
    client::SpeechRecording m_recording;
    QTimer m_micTimer;                            // drives every session's microphone
    std::vector<double> m_vSpeechEnd, m_vFinal, m_vTurnStart, m_vFirstText, m_vFirstAudio, m_vTurnEnd;
    int m_voiceNoTurn = 0, m_voiceAsrFailed = 0, m_voiceStreamStopped = 0;
    QJsonArray m_voiceTurns;                      // per turn, at most kMaxVoiceTurnsKept
    static constexpr int kMaxVoiceTurnsKept = 5000;
    static constexpr int kMicTickMs = 5;          // wake-ups; each microphone sends 20 ms frames when due
};

} // namespace tianyi::cli
