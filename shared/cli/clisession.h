#pragma once
// One run of tianyi-cli: the command, its options, and the event handling that prints the stream.

#include "tianyi/apiclient.h"
#include "tianyi/chatclient.h"
#include "tianyi/pcmpacer.h"
#include "tianyi/speechrecording.h"
#include "tianyi/turnrecorder.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QUrl>

class QSocketNotifier;

namespace tianyi::cli {

// Exit codes (also in --help).
enum Exit {
    kExitOk = 0,
    kExitRefused = 1,      // the server answered with an error (bad password, name taken, ...)
    kExitUsage = 2,
    kExitUnreachable = 3,  // no connection to the server
    kExitClosed = 4,       // the chat socket was closed by the server (4001, 4003, ...)
    kExitTurnFailed = 5,   // turn_end with status failed
    kExitTimeout = 6,
    kExitViolation = 7,    // the server broke guarantee 1 or 2 of the protocol
    kExitNoSpeech = 8,     // listen: the server heard no speech, or nothing she could answer
};

// The repl's commands, one per line ("/help  lists ..."), for /help and --help.
QString replCommandsHelp();

struct Options {
    QString command;       // register | login | chat | repl | listen
    QString text;          // chat; listen: the WAV file
    QUrl server;
    QString user;
    QString password;
    QString nickname;
    QString token;
    QString tokenFile;
    client::AudioMode audio = client::AudioMode::Binary;
    QString outDir;
    qint64 stopAfterMs = -1;
    bool json = false;
    int timeoutMs = 120000;
    int silenceMs = 3000;          // listen: quiet room after the recording before listen_stop
    double noiseDbfs = -200;       // listen: the room's noise level (<= -120: digital silence)
};

class CliSession : public QObject
{
    Q_OBJECT

public:
    explicit CliSession(Options options, QObject *parent = nullptr);
    ~CliSession() override;

    // Starts the command; the application exits with the code passed to finish().
    void start();

private:
    void doRegister();
    void doLogin();
    void startChat();
    void openSocket(const QString &accessToken);
    // Before the socket's access token expires: new tokens by the refresh token, sent on the socket.
    void scheduleReauth(qint64 expiresAtSecs);
    void reauthenticate();
    void onHello();
    void onEvent(const client::ChatEvent &event);
    void onTurnEnd(const client::ChatEvent &event);
    // listen: the recording (read before connecting), then the events of the listening stream.
    bool loadRecording();
    void onListeningEvent(const client::ChatEvent &event);
    void onRecordingSent();
    void onQuietRoomOver();
    void showTranscript(const client::Transcript &transcript);
    void finishListening(int code);
    QJsonObject listenJson(const client::RecordedTurn *turn) const;
    void onDisconnected(int code, const QString &reason);
    void sendChat(const QString &text);
    void sendStop();
    void readStdin();
    void handleLine(const QString &line);
    bool handleCommand(const QString &line);
    void prompt();
    void finishAtEndOfInput();
    void writeSentenceWav(const client::RecordedTurn &turn, int sentence);
    QString runDir();
    QString turnDir(qint64 turn);
    void apiFailed(const QString &what, const client::ApiResult &result);
    bool writeTokenFile(const client::Tokens &tokens, QString *error);
    QString readTokenFile(QString *error);

    void out(const QString &text);
    void err(const QString &text);
    void note(const QString &text); // a bracketed status line on stderr; not with --json
    void finish(int code);

    Options m_opt;
    client::ApiClient *m_api;
    client::ChatClient *m_chat = nullptr;
    client::TurnRecorder *m_recorder = nullptr;
    QTimer m_stopTimer;
    QTimer m_reauthTimer;
    QString m_refreshToken;   // empty: --token gave an access token only, the socket ends with it
    QTimer m_timeout;
    QSocketNotifier *m_stdin = nullptr;
    QByteArray m_stdinBuffer;
    bool m_stdinEof = false;
    int m_inFlight = 0;              // chats sent whose turn has not ended (or was refused)
    bool m_midLine = false;          // streamed text printed without a newline yet
    bool m_finished = false;
    bool m_sawViolation = false;
    int m_exitAfterTurn = kExitOk;
    bool m_interactive = false;      // repl on a terminal: show a prompt
    QList<qint64> m_pingsSentMs;     // /ping: monotonic send times of the pings awaiting their pong
    QString m_runDir;                // --out: this run's own folder, made at the first WAV
    bool m_runDirFailed = false;
    QSet<QPair<qint64, int>> m_written;

    // listen
    client::SpeechRecording m_recording;
    client::PcmPacer *m_pacer = nullptr;
    QTimer m_quietRoom;              // after the recording: how long to wait for speech_end
    bool m_stderrIsTerminal = false;
    bool m_partialShown = false;     // a partial transcript sits on the current stderr line
    bool m_listeningAnswered = false; // `listening` arrived: listen_start was accepted
    bool m_heardSpeech = false;      // speech_start arrived
    bool m_speechEnded = false;
    bool m_haveFinal = false;
    QString m_finalText;
    QStringList m_partials;          // bounded by kMaxPartialsKept
    qint64 m_utterance = -1;
    qint64 m_speechMs = -1;          // speech_end.duration_ms
    qint64 m_speechEndAtMs = -1;     // monotonic arrival of speech_end
    qint64 m_voiceTurn = -1;         // the turn her reply to the utterance runs in
    qint64 m_replyFirstAudioAtMs = -1;
    static constexpr int kMaxPartialsKept = 1000;
};

} // namespace tianyi::cli
