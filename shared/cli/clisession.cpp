#include "clisession.h"

#include "tianyi/wav.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSocketNotifier>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tianyi::cli {

using namespace tianyi::client;

QString replCommandsHelp()
{
    return QStringLiteral("  /help    these commands\n"
                          "  /ping    measure the round trip to the server\n"
                          "  /stop    interrupt her (the running turn)\n"
                          "  /quit    leave at once (end of input, Ctrl-D, waits for her turn)\n"
                          "  //text   send \"/text\" to her");
}

CliSession::CliSession(Options options, QObject *parent)
    : QObject(parent)
    , m_opt(std::move(options))
    , m_api(new ApiClient(m_opt.server, this))
{
    m_stopTimer.setSingleShot(true);
    connect(&m_stopTimer, &QTimer::timeout, this, &CliSession::sendStop);
    m_quietRoom.setSingleShot(true);
    connect(&m_quietRoom, &QTimer::timeout, this, &CliSession::onQuietRoomOver);
    m_stderrIsTerminal = ::isatty(STDERR_FILENO) == 1;
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this]() {
        err(QStringLiteral("error: no answer within %1 ms").arg(m_opt.timeoutMs));
        finish(kExitTimeout);
    });
}

CliSession::~CliSession() = default;

void CliSession::out(const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
    std::fflush(stdout);
}

void CliSession::err(const QString &text)
{
    if (m_partialShown) { // the partial transcript's line is replaced, not left half-overwritten
        std::fputs("\r\033[K", stderr);
        m_partialShown = false;
    }
    if (m_midLine) {
        out(QStringLiteral("\n"));
        m_midLine = false;
    }
    const QByteArray bytes = text.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
}

void CliSession::note(const QString &text)
{
    if (!m_opt.json)
        err(text);
}

void CliSession::finish(int code)
{
    if (m_finished)
        return;
    m_finished = true;
    m_stopTimer.stop();
    m_timeout.stop();
    m_quietRoom.stop();
    if (m_pacer)
        m_pacer->stop();
    if (m_partialShown) {
        std::fputs("\n", stderr);
        m_partialShown = false;
    }
    if (m_stdin)
        m_stdin->setEnabled(false);
    if (m_midLine) {
        out(QStringLiteral("\n"));
        m_midLine = false;
    }
    if (m_chat)
        m_chat->close();
    QCoreApplication::exit(code);
}

void CliSession::start()
{
    if (m_opt.command == QLatin1String("register"))
        doRegister();
    else if (m_opt.command == QLatin1String("login"))
        doLogin();
    else if (m_opt.command != QLatin1String("listen") || loadRecording())
        startChat();
}

void CliSession::apiFailed(const QString &what, const ApiResult &result)
{
    if (!result.reachedServer()) {
        err(QStringLiteral("error: cannot reach the server at %1: %2").arg(m_opt.server.toString(), result.describe()));
        finish(kExitUnreachable);
        return;
    }
    err(QStringLiteral("error: %1 failed: %2").arg(what, result.describe()));
    finish(kExitRefused);
}

void CliSession::doRegister()
{
    m_api->registerUser(m_opt.user, m_opt.password, m_opt.nickname, [this](const ApiResult &r) {
        if (!r.ok()) {
            apiFailed(QStringLiteral("register"), r);
            return;
        }
        const QJsonObject user = r.json.value(QStringLiteral("user")).toObject();
        if (m_opt.json)
            out(QString::fromUtf8(QJsonDocument(user).toJson(QJsonDocument::Compact)) + QLatin1Char('\n'));
        else
            out(QStringLiteral("registered %1 (id %2)\n")
                    .arg(user.value(QStringLiteral("username")).toString())
                    .arg(user.value(QStringLiteral("id")).toInteger()));
        finish(kExitOk);
    });
}

bool CliSession::writeTokenFile(const Tokens &tokens, QString *error)
{
    const QByteArray path = QFile::encodeName(m_opt.tokenFile);
    const int fd = ::open(path.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        *error = QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    bool ok = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0; // an existing file keeps its mode otherwise
    const QByteArray bytes = QJsonDocument(tokens.toJson()).toJson(QJsonDocument::Compact) + '\n';
    qsizetype done = 0;
    while (ok && done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.constData() + done, size_t(bytes.size() - done));
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        done += n > 0 ? n : 0;
    }
    if (!ok)
        *error = QString::fromLocal8Bit(std::strerror(errno));
    ::close(fd);
    return ok;
}

QString CliSession::readTokenFile(QString *error)
{
    QFile f(m_opt.tokenFile);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = f.errorString();
        return {};
    }
    const std::optional<Tokens> tokens = Tokens::fromJson(QJsonDocument::fromJson(f.read(1 << 16)).object());
    if (!tokens) {
        *error = QStringLiteral("no access_token in it");
        return {};
    }
    m_refreshToken = tokens->refreshToken;
    return tokens->accessToken;
}

void CliSession::doLogin()
{
    m_api->login(m_opt.user, m_opt.password, [this](const ApiResult &r) {
        if (!r.ok()) {
            apiFailed(QStringLiteral("login"), r);
            return;
        }
        const std::optional<Tokens> tokens = Tokens::fromJson(r.json);
        if (!tokens) {
            err(QStringLiteral("error: the token answer has no access_token"));
            finish(kExitRefused);
            return;
        }
        if (!m_opt.tokenFile.isEmpty()) {
            QString problem;
            if (!writeTokenFile(*tokens, &problem)) {
                err(QStringLiteral("error: cannot write %1: %2").arg(m_opt.tokenFile, problem));
                finish(kExitUsage);
                return;
            }
            out(QStringLiteral("tokens written to %1\n").arg(m_opt.tokenFile));
        } else if (m_opt.json) {
            out(QString::fromUtf8(QJsonDocument(tokens->toJson()).toJson(QJsonDocument::Compact)) + QLatin1Char('\n'));
        } else {
            out(QStringLiteral("access_token: %1\nrefresh_token: %2\nexpires_in: %3\n")
                    .arg(tokens->accessToken, tokens->refreshToken)
                    .arg(tokens->expiresIn));
        }
        finish(kExitOk);
    });
}

// ---- chat and repl --------------------------------------------------------------------------

void CliSession::startChat()
{
    if (!m_opt.token.isEmpty()) {
        openSocket(m_opt.token);
        return;
    }
    if (!m_opt.user.isEmpty() && !m_opt.password.isEmpty()) {
        m_api->login(m_opt.user, m_opt.password, [this](const ApiResult &r) {
            const std::optional<Tokens> tokens = r.ok() ? Tokens::fromJson(r.json) : std::nullopt;
            if (!tokens) {
                apiFailed(QStringLiteral("login"), r);
                return;
            }
            m_refreshToken = tokens->refreshToken;
            openSocket(tokens->accessToken);
        });
        return;
    }
    QString problem;
    const QString token = readTokenFile(&problem);
    if (token.isEmpty()) {
        err(QStringLiteral("error: cannot read the token file %1: %2").arg(m_opt.tokenFile, problem));
        finish(kExitUsage);
        return;
    }
    openSocket(token);
}

void CliSession::openSocket(const QString &accessToken)
{
    m_chat = new ChatClient(this);
    m_recorder = new TurnRecorder(this);
    if (m_opt.outDir.isEmpty())
        m_recorder->setKeepAudio(false);
    m_recorder->attach(m_chat); // first: the recorder has seen every event before onEvent runs
    connect(m_chat, &ChatClient::event, this, &CliSession::onEvent);
    connect(m_chat, &ChatClient::helloReceived, this, &CliSession::onHello);
    connect(m_chat, &ChatClient::disconnected, this, &CliSession::onDisconnected);
    connect(m_chat, &ChatClient::tokenExpiry, this, &CliSession::scheduleReauth);
    connect(m_chat, &ChatClient::protocolViolation, this, [this](const QString &what) {
        m_sawViolation = true;
        err(QStringLiteral("protocol violation: %1").arg(what));
    });
    connect(m_recorder, &TurnRecorder::violation, this, [this](const QString &what) {
        m_sawViolation = true;
        err(QStringLiteral("protocol violation: %1").arg(what));
    });
    connect(m_chat, &ChatClient::errorOccurred, this, [this](const QString &what) {
        if (m_chat->isOpen())
            err(QStringLiteral("error: %1").arg(what));
    });
    if (m_opt.command == QLatin1String("chat"))
        m_timeout.start(m_opt.timeoutMs);
    if (m_opt.command == QLatin1String("listen")) {
        m_pacer = new PcmPacer(m_chat, this);
        m_pacer->setRoomSound(m_opt.noiseDbfs);
        connect(m_pacer, &PcmPacer::queueDrained, this, &CliSession::onRecordingSent);
        connect(m_pacer, &PcmPacer::sendFailed, this, [this]() {
            err(QStringLiteral("error: the microphone stream could not be sent (socket closed or its queue full)"));
            finish(kExitClosed);
        });
        // The recording plays in real time: the timeout counts from when it could have ended.
        m_timeout.start(int(std::min<qint64>(m_opt.timeoutMs + m_recording.durationMs() + m_opt.silenceMs, std::numeric_limits<int>::max())));
    }
    m_chat->open(m_opt.server, accessToken, m_opt.audio);
}

void CliSession::scheduleReauth(qint64 expiresAtSecs)
{
    if (m_refreshToken.isEmpty())
        return;
    const qint64 leftMs = expiresAtSecs * 1000 - QDateTime::currentMSecsSinceEpoch();
    // A minute before expiry; halfway for short-lived tokens (so a reply never races the expiry).
    const qint64 delay = std::max<qint64>({0, leftMs / 2, leftMs - 60 * 1000});
    m_reauthTimer.setSingleShot(true);
    m_reauthTimer.callOnTimeout(this, &CliSession::reauthenticate, Qt::UniqueConnection);
    m_reauthTimer.start(int(std::min<qint64>(delay, std::numeric_limits<int>::max())));
}

void CliSession::reauthenticate()
{
    m_api->refresh(m_refreshToken, [this](const ApiResult &r) {
        const std::optional<Tokens> tokens = r.ok() ? Tokens::fromJson(r.json) : std::nullopt;
        if (!tokens) {
            err(QStringLiteral("warning: could not renew the login (%1); the server ends the chat when the access token expires")
                    .arg(r.ok() ? QStringLiteral("no tokens in the answer") : r.describe()));
            return;
        }
        m_refreshToken = tokens->refreshToken; // rotated: the old one no longer works
        QString problem;
        if (!m_opt.tokenFile.isEmpty() && !writeTokenFile(*tokens, &problem))
            err(QStringLiteral("warning: cannot update %1: %2").arg(m_opt.tokenFile, problem));
        if (m_chat)
            m_chat->reauthenticate(tokens->accessToken);
    });
}

void CliSession::onHello()
{
    const Hello &h = m_chat->hello();
    if (!m_opt.json)
        err(QStringLiteral("[connected as %1, talking with %2]").arg(h.nickname.isEmpty() ? h.username : h.nickname, h.personaName));
    if (m_opt.command == QLatin1String("chat")) {
        sendChat(m_opt.text);
        return;
    }
    if (m_opt.command == QLatin1String("listen")) {
        note(QStringLiteral("[listening: %1 (%2 ms) is spoken in real time, then a quiet room]")
                 .arg(QDir::toNativeSeparators(m_opt.text))
                 .arg(m_recording.durationMs()));
        m_chat->startListening();
        return;
    }
    // repl
    m_interactive = ::isatty(STDIN_FILENO) == 1;
    if (m_interactive)
        err(QStringLiteral("[one chat per line; /help lists the commands]"));
    m_stdin = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
    connect(m_stdin, &QSocketNotifier::activated, this, &CliSession::readStdin);
    prompt();
}

// "> " on stderr (stdout carries only her words) when a person types and nothing is running.
void CliSession::prompt()
{
    if (!m_interactive || m_finished || m_stdinEof || m_inFlight > 0)
        return;
    if (m_midLine) {
        out(QStringLiteral("\n"));
        m_midLine = false;
    }
    std::fputs("> ", stderr);
    std::fflush(stderr);
}

// End of input: exit now when nothing runs, else when the running turn ends (onTurnEnd).
void CliSession::finishAtEndOfInput()
{
    if (m_finished)
        return;
    if (m_inFlight == 0) {
        finish(m_sawViolation ? kExitViolation : m_exitAfterTurn);
        return;
    }
    note(QStringLiteral("[end of input: waiting for her turn to finish]"));
}

void CliSession::sendChat(const QString &text)
{
    m_chat->chat(text);
    ++m_inFlight;
    if (m_opt.stopAfterMs >= 0)
        m_stopTimer.start(int(m_opt.stopAfterMs));
}

void CliSession::sendStop()
{
    const RecordedTurn *t = m_recorder->currentTurn();
    const qint64 turn = t ? t->turn : -1;
    const qint64 played = t ? t->audioMs() : 0;
    m_chat->stop(turn, played);
    m_recorder->onStopSent(turn, monotonicMs());
    if (!m_opt.json)
        err(QStringLiteral("[stop sent: turn %1, played_ms %2]").arg(turn).arg(played));
}

void CliSession::readStdin()
{
    char buffer[4096];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        m_stdinEof = true;
        m_stdin->setEnabled(false);
        if (m_interactive)
            err(QString()); // the terminal's cursor sits after the prompt
        if (!m_stdinBuffer.isEmpty())
            handleLine(QString::fromUtf8(std::exchange(m_stdinBuffer, {})));
        finishAtEndOfInput();
        return;
    }
    m_stdinBuffer.append(buffer, n);
    if (m_stdinBuffer.size() > 1 << 20) {
        err(QStringLiteral("error: an input line is longer than 1 MiB"));
        finish(kExitUsage);
        return;
    }
    qsizetype nl;
    while (!m_finished && (nl = m_stdinBuffer.indexOf('\n')) >= 0) {
        const QByteArray line = m_stdinBuffer.left(nl);
        m_stdinBuffer.remove(0, nl + 1);
        handleLine(QString::fromUtf8(line));
    }
}

void CliSession::handleLine(const QString &raw)
{
    const QString line = raw.trimmed();
    if (line.isEmpty()) {
        prompt();
        return;
    }
    if (line.startsWith(QLatin1String("//"))) {
        sendChat(line.mid(1));
        return;
    }
    if (line.startsWith(QLatin1Char('/'))) {
        if (handleCommand(line))
            prompt();
        return;
    }
    sendChat(line);
}

// A repl command: answered here, never sent to her as chat. False: the answer comes later (pong).
bool CliSession::handleCommand(const QString &line)
{
    const QString command = line.section(QLatin1Char(' '), 0, 0);
    if (command == QLatin1String("/quit")) {
        finish(m_sawViolation ? kExitViolation : m_exitAfterTurn);
    } else if (command == QLatin1String("/stop")) {
        if (m_inFlight > 0 || m_recorder->currentTurn())
            sendStop();
        else
            err(QStringLiteral("[nothing to stop: no turn is running]"));
    } else if (command == QLatin1String("/ping")) {
        m_pingsSentMs.append(monotonicMs());
        m_chat->ping();
        return false; // the prompt follows the pong
    } else if (command == QLatin1String("/help")) {
        err(QStringLiteral("Each line is a chat with her. Commands:\n") + replCommandsHelp());
    } else {
        err(QStringLiteral("[unknown command %1: not sent; /help lists the commands, //%2 sends it as chat]").arg(command, line.mid(1)));
    }
    return true;
}

// --out: this run's own folder DIR/<date>_<time>[-N], made on first use with mkdir, which fails for
// a folder that exists: two runs never share one, even when started in the same second.
QString CliSession::runDir()
{
    if (!m_runDir.isEmpty() || m_runDirFailed)
        return m_runDir;
    QDir base(m_opt.outDir);
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-dd_HH-mm-ss"));
    if (base.mkpath(QStringLiteral("."))) {
        for (int n = 1; n <= 1000 && m_runDir.isEmpty(); ++n) {
            const QString name = n == 1 ? stamp : QStringLiteral("%1-%2").arg(stamp).arg(n);
            if (base.mkdir(name))
                m_runDir = base.filePath(name);
        }
    }
    if (m_runDir.isEmpty()) {
        m_runDirFailed = true;
        err(QStringLiteral("error: cannot make a new folder in %1 for the WAV files").arg(QDir::toNativeSeparators(m_opt.outDir)));
    }
    return m_runDir;
}

QString CliSession::turnDir(qint64 turn)
{
    const QString run = runDir();
    return run.isEmpty() ? QString() : QDir(run).filePath(QStringLiteral("turn%1").arg(turn));
}

void CliSession::writeSentenceWav(const RecordedTurn &turn, int index)
{
    if (m_opt.outDir.isEmpty() || m_written.contains({turn.turn, index}))
        return;
    const RecordedSentence s = turn.sentences.value(index);
    if (s.pcm.isEmpty() || s.sampleRate <= 0)
        return;
    m_written.insert({turn.turn, index});
    const QString dir = turnDir(turn.turn);
    if (dir.isEmpty() || !QDir().mkpath(dir))
        return;
    // 01.wav is her first sentence (the server counts from 0).
    const QString path = QDir(dir).filePath(QStringLiteral("%1.wav").arg(index + 1, 2, 10, QLatin1Char('0')));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(wav::file(s.pcm, s.sampleRate)) < 0)
        err(QStringLiteral("error: cannot write %1: %2").arg(path, f.errorString()));
}

void CliSession::onEvent(const ChatEvent &e)
{
    using K = ChatEvent::Kind;
    if (e.isListening() || (e.kind == K::Transcript && m_opt.command == QLatin1String("listen"))) {
        onListeningEvent(e);
        return;
    }
    if (m_opt.command == QLatin1String("listen")) {
        if (e.kind == K::TurnStart && m_voiceTurn < 0 && m_heardSpeech)
            m_voiceTurn = e.turn;
        if (e.kind == K::Audio && e.turn == m_voiceTurn && m_replyFirstAudioAtMs < 0)
            m_replyFirstAudioAtMs = e.receivedMs;
        // The stream's refusals: no ASR, or a cap that stopped it. utterance_too_long only ends the utterance.
        // A failed recognition of this run's utterance ends it too; a refusal saying listening:false stopped the stream.
        const QString code = e.str(QStringLiteral("code"));
        const bool streamStopped = e.json.value(QStringLiteral("listening")).toBool(true) == false;
        const bool ourUtteranceFailed = (code == chat::kErrAsrFailed || code == chat::kErrAsrBusy) && m_utterance >= 0 && e.utterance() == m_utterance;
        // Before `listening`, any refusal of listen_start (unsupported_audio, rate_limited, speech_input_busy, ...) ends the run.
        const bool listenRefused = !m_listeningAnswered;
        if (e.kind == K::Error && e.turn < 0
            && (code == chat::kErrAsrUnavailable || code == chat::kErrRateExceeded || code == chat::kErrListenTimeout
                || code == chat::kErrUnsupportedAudio || streamStopped || ourUtteranceFailed || listenRefused)) {
            err(QStringLiteral("server error: %1: %2").arg(code, e.str(QStringLiteral("message"))));
            finishListening(kExitRefused);
            return;
        }
    }
    switch (e.kind) {
    case K::Emotion:
        if (!m_opt.json) {
            QString label = e.str(QStringLiteral("label"));
            if (label.isEmpty())
                label = m_chat->hello().labelFor(e.str(QStringLiteral("emotion")));
            if (label.isEmpty())
                label = e.str(QStringLiteral("emotion"));
            out(QStringLiteral("«%1»").arg(label));
            m_midLine = true;
        }
        break;
    case K::TextDelta:
        if (!m_opt.json) {
            out(e.str(QStringLiteral("delta")));
            m_midLine = true;
        }
        break;
    case K::Audio:
        if (e.audio.last)
            if (const RecordedTurn *t = m_recorder->turn(e.turn))
                writeSentenceWav(*t, e.audio.sentence);
        break;
    case K::Transcript:
        if (!m_opt.json)
            err(QStringLiteral("[heard%1: %2]").arg(e.json.value(QStringLiteral("final")).toBool() ? QString() : QStringLiteral(" (partial)"),
                                                    e.str(QStringLiteral("text"))));
        break;
    case K::Stopped:
        if (!m_opt.json)
            err(QStringLiteral("[stopped turn %1 in %2 ms%3]")
                    .arg(e.turn)
                    .arg(e.integer(QStringLiteral("stop_ms")))
                    .arg(e.str(QStringLiteral("reason")) == chat::kStopReasonVoice ? QStringLiteral(": you spoke") : QString()));
        break;
    case K::Error: {
        const qint64 retry = e.integer(QStringLiteral("retry_after_ms"));
        err(QStringLiteral("server error: %1: %2%3")
                .arg(e.str(QStringLiteral("code")), e.str(QStringLiteral("message")),
                     retry >= 0 ? QStringLiteral(" (retry after %1 ms)").arg(retry) : QString()));
        // A chat refused before it became a turn (rate limit, too large): nothing more will come.
        if (e.turn < 0 && m_inFlight > 0 && !m_recorder->currentTurn()) {
            if (--m_inFlight > 0)
                break;
            m_exitAfterTurn = kExitRefused;
            if (m_opt.command == QLatin1String("chat") || m_stdinEof)
                finish(kExitRefused);
        }
        break;
    }
    case K::TurnEnd:
        onTurnEnd(e);
        break;
    case K::Pong:
        if (!m_pingsSentMs.isEmpty()) {
            err(QStringLiteral("[pong: %1 ms round trip]").arg(monotonicMs() - m_pingsSentMs.takeFirst()));
            prompt();
        }
        break;
    case K::Hello:
    case K::TurnStart:
    case K::Sentence:
    case K::Listening:
    case K::SpeechStart:
    case K::SpeechEnd:
    case K::Duck:
    case K::Unduck:
    case K::Other:
        break;
    }
}

void CliSession::onTurnEnd(const ChatEvent &e)
{
    const RecordedTurn *t = m_recorder->turn(e.turn);
    if (!t)
        return;
    if (m_opt.command == QLatin1String("listen") && e.turn != m_voiceTurn)
        return; // a turn of another device of this user
    for (auto it = t->sentences.cbegin(); it != t->sentences.cend(); ++it)
        writeSentenceWav(*t, it.key());
    if (m_midLine) {
        out(QStringLiteral("\n"));
        m_midLine = false;
    }
    int wavs = 0;
    for (auto it = t->sentences.cbegin(); it != t->sentences.cend(); ++it)
        wavs += m_written.contains({t->turn, it.key()}) ? 1 : 0;
    const QString wavDir = wavs > 0 ? QDir::toNativeSeparators(turnDir(t->turn)) : QString();
    if (m_opt.json) {
        QJsonObject line = m_opt.command == QLatin1String("listen") ? listenJson(t) : t->toJson();
        if (!wavDir.isEmpty())
            line.insert(QStringLiteral("wav_dir"), wavDir);
        out(QString::fromUtf8(QJsonDocument(line).toJson(QJsonDocument::Compact)) + QLatin1Char('\n'));
    } else {
        QString line = QStringLiteral("[turn %1 %2 · %3 sentences · %4 ms audio").arg(t->turn).arg(t->status).arg(t->sentences.size()).arg(t->audioMs());
        if (t->stats.ttftMs >= 0)
            line += QStringLiteral(" · ttft %1 ms").arg(t->stats.ttftMs);
        if (t->stats.firstAudioMs >= 0)
            line += QStringLiteral(" · first audio %1 ms").arg(t->stats.firstAudioMs);
        if (t->turnEndMs >= 0)
            line += QStringLiteral(" · %1 ms to turn_end").arg(t->turnEndMs);
        if (t->stopped)
            line += QStringLiteral(" · stop %1 ms").arg(t->stopMs);
        err(line + QLatin1Char(']'));
        if (!wavDir.isEmpty())
            err(QStringLiteral("[her voice: %1 WAV file%2 in %3]").arg(wavs).arg(wavs == 1 ? QString() : QStringLiteral("s"), wavDir));
    }
    if (t->status == chat::kFailed)
        m_exitAfterTurn = kExitTurnFailed;
    if (m_opt.command == QLatin1String("listen")) {
        finishListening(m_sawViolation ? kExitViolation : m_exitAfterTurn);
        return;
    }
    if (t->sentAtMs < 0 || m_inFlight == 0)
        return; // a turn this client did not start (speech input)
    // Done when the turn of the newest chat ended (a barge-in ends older turns first).
    if (--m_inFlight > 0)
        return;
    m_stopTimer.stop();
    if (m_opt.command == QLatin1String("chat") || m_stdinEof)
        finish(m_sawViolation ? kExitViolation : m_exitAfterTurn);
    else
        prompt();
}

// ---- listen ---------------------------------------------------------------------------------

bool CliSession::loadRecording()
{
    QFile f(m_opt.text);
    // Bounded: a 600 s stereo 48 kHz file is 115 MB; anything larger is refused unread.
    constexpr qint64 kMaxFileBytes = qint64(kMaxSpeechFileSeconds) * 48000 * 2 * 2 + 4096;
    if (!f.open(QIODevice::ReadOnly)) {
        err(QStringLiteral("error: cannot read %1: %2").arg(m_opt.text, f.errorString()));
        finish(kExitUsage);
        return false;
    }
    if (f.size() > kMaxFileBytes) {
        err(QStringLiteral("error: %1 is larger than a %2 s recording").arg(m_opt.text).arg(kMaxSpeechFileSeconds));
        finish(kExitUsage);
        return false;
    }
    QString problem;
    const std::optional<SpeechRecording> r = speechFromWav(f.readAll(), &problem);
    if (!r) {
        err(QStringLiteral("error: %1 cannot be spoken: %2").arg(m_opt.text, problem));
        finish(kExitUsage);
        return false;
    }
    m_recording = *r;
    if (m_recording.sourceSampleRate != PcmPacer::kSampleRate || m_recording.sourceChannels != 1)
        note(QStringLiteral("[%1: %2 Hz, %3 channel(s), converted to 16 kHz mono]")
                 .arg(QDir::toNativeSeparators(m_opt.text))
                 .arg(m_recording.sourceSampleRate)
                 .arg(m_recording.sourceChannels));
    return true;
}

void CliSession::onListeningEvent(const ChatEvent &e)
{
    using K = ChatEvent::Kind;
    switch (e.kind) {
    case K::Listening: {
        m_listeningAnswered = true;
        const ListeningInfo info = ListeningInfo::fromJson(e.json);
        note(QStringLiteral("[she listens: endpointing %1 ms, interruption after %2 ms of speech]")
                 .arg(info.endpointingMs)
                 .arg(info.interruptionMinMs));
        if (m_pacer && !m_pacer->running()) {
            m_pacer->enqueue(m_recording.pcm);
            m_pacer->start();
        }
        break;
    }
    case K::SpeechStart:
        m_heardSpeech = true;
        if (m_utterance < 0)
            m_utterance = e.utterance();
        note(QStringLiteral("[speech started: utterance %1]").arg(e.utterance()));
        break;
    case K::Transcript:
        showTranscript(Transcript::fromJson(e.json));
        break;
    case K::SpeechEnd:
        if (e.utterance() != m_utterance && m_utterance >= 0)
            break; // a later utterance (a cough during her reply): not the one this run spoke
        m_speechEnded = true;
        m_speechMs = e.integer(QStringLiteral("duration_ms"));
        m_speechEndAtMs = e.receivedMs;
        m_quietRoom.stop();
        note(QStringLiteral("[speech ended: utterance %1, %2 ms]").arg(e.utterance()).arg(m_speechMs));
        if (m_haveFinal && m_finalText.trimmed().isEmpty()) {
            err(QStringLiteral("error: the server heard nothing she could answer in %1").arg(m_opt.text));
            finishListening(kExitNoSpeech);
        }
        break;
    case K::Duck:
        note(QStringLiteral("[she lowers her voice: turn %1]").arg(e.turn));
        break;
    case K::Unduck:
        note(QStringLiteral("[her voice back: turn %1]").arg(e.turn));
        break;
    default:
        break;
    }
}

void CliSession::showTranscript(const Transcript &t)
{
    if (m_utterance >= 0 && t.utterance >= 0 && t.utterance != m_utterance)
        return;
    if (!t.final) {
        if (m_partials.size() < kMaxPartialsKept)
            m_partials.append(t.text);
        if (m_opt.json)
            return;
        if (m_stderrIsTerminal) { // one line, rewritten as the words come
            if (m_midLine) {
                out(QStringLiteral("\n"));
                m_midLine = false;
            }
            const QByteArray line = QStringLiteral("\r\033[K[hearing: %1]").arg(t.text).toUtf8();
            std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
            std::fflush(stderr);
            m_partialShown = true;
        } else {
            err(QStringLiteral("[hearing: %1]").arg(t.text));
        }
        return;
    }
    m_haveFinal = true;
    m_finalText = t.text;
    note(QStringLiteral("[heard: %1]").arg(t.text));
    if (t.text.trimmed().isEmpty() && m_speechEnded) {
        err(QStringLiteral("error: the server heard nothing she could answer in %1").arg(m_opt.text));
        finishListening(kExitNoSpeech);
    }
}

// The recording has been spoken; the room goes quiet. Endpointing should follow within
// voice.endpointing_ms; if nothing was heard, or no speech_end comes, the run ends here.
void CliSession::onRecordingSent()
{
    note(QStringLiteral("[end of the recording; a quiet room follows]"));
    m_quietRoom.start(m_opt.silenceMs);
}

void CliSession::onQuietRoomOver()
{
    if (m_finished || m_speechEnded)
        return;
    if (!m_heardSpeech) {
        err(QStringLiteral("error: the server heard no speech in %1 (%2 ms of quiet after it)").arg(m_opt.text).arg(m_opt.silenceMs));
        finishListening(kExitNoSpeech);
        return;
    }
    // Heard, but not ended (a noisy room): listen_stop ends the utterance as if its speech had ended.
    note(QStringLiteral("[no end of speech after %1 ms of quiet: listen_stop]").arg(m_opt.silenceMs));
    if (m_pacer)
        m_pacer->stop();
    m_chat->stopListening();
}

void CliSession::finishListening(int code)
{
    if (m_pacer)
        m_pacer->stop();
    if (m_chat && m_chat->isListening())
        m_chat->stopListening();
    finish(code);
}

// --json of listen: the turn's line plus what was heard and when.
QJsonObject CliSession::listenJson(const RecordedTurn *t) const
{
    QJsonObject line = t->toJson();
    auto msOrNull = [](qint64 v) { return v >= 0 ? QJsonValue(v) : QJsonValue(QJsonValue::Null); };
    const qint64 voicedEndAt = m_recording.lastVoicedMs >= 0 && m_pacer ? m_pacer->spokenAtMs(m_recording.lastVoicedMs) : -1;
    line.insert(QStringLiteral("heard"), QJsonObject{
        {QStringLiteral("utterance"), m_utterance},
        {QStringLiteral("text"), m_finalText},
        {QStringLiteral("partials"), QJsonArray::fromStringList(m_partials)},
        {QStringLiteral("speech_ms"), msOrNull(m_speechMs)},
        // speech_end's arrival after the recording's last voiced 10 ms were spoken (endpointing + transport).
        {QStringLiteral("speech_end_after_voice_ms"), msOrNull(voicedEndAt >= 0 && m_speechEndAtMs >= 0 ? m_speechEndAtMs - voicedEndAt : -1)},
        {QStringLiteral("first_audio_after_speech_end_ms"),
         msOrNull(m_speechEndAtMs >= 0 && m_replyFirstAudioAtMs >= 0 ? m_replyFirstAudioAtMs - m_speechEndAtMs : -1)},
    });
    return line;
}

void CliSession::onDisconnected(int code, const QString &reason)
{
    if (m_finished)
        return;
    if (!m_chat->hasHello() && code == 1006) {
        err(QStringLiteral("error: cannot open the chat socket at %1: %2")
                .arg(ChatClient::socketUrl(m_opt.server, {}, m_opt.audio).toString(), reason));
        finish(kExitUnreachable);
        return;
    }
    err(QStringLiteral("error: the server closed the chat socket: %1 %2%3")
            .arg(code)
            .arg(ChatClient::closeCodeName(code), reason.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(reason)));
    finish(kExitClosed);
}

} // namespace tianyi::cli
