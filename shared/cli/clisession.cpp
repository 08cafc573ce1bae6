#include "clisession.h"

#include "tianyi/wav.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QSocketNotifier>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tianyi::cli {

using namespace tianyi::client;

CliSession::CliSession(Options options, QObject *parent)
    : QObject(parent)
    , m_opt(std::move(options))
    , m_api(new ApiClient(m_opt.server, this))
{
    m_stopTimer.setSingleShot(true);
    connect(&m_stopTimer, &QTimer::timeout, this, &CliSession::sendStop);
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
    if (m_midLine) {
        out(QStringLiteral("\n"));
        m_midLine = false;
    }
    const QByteArray bytes = text.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
}

void CliSession::finish(int code)
{
    if (m_finished)
        return;
    m_finished = true;
    m_stopTimer.stop();
    m_timeout.stop();
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
    else
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

QString CliSession::readTokenFile(QString *error) const
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
    m_chat->open(m_opt.server, accessToken, m_opt.audio);
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
    // repl
    m_stdin = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
    connect(m_stdin, &QSocketNotifier::activated, this, &CliSession::readStdin);
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
        if (!m_stdinBuffer.isEmpty())
            handleLine(QString::fromUtf8(std::exchange(m_stdinBuffer, {})));
        if (m_inFlight == 0 && !m_finished)
            finish(m_sawViolation ? kExitViolation : m_exitAfterTurn);
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
    if (line.isEmpty())
        return;
    if (line == QLatin1String("/quit")) {
        finish(m_sawViolation ? kExitViolation : m_exitAfterTurn);
        return;
    }
    if (line == QLatin1String("/stop")) {
        sendStop();
        return;
    }
    if (line == QLatin1String("/ping")) {
        m_chat->ping();
        return;
    }
    sendChat(line);
}

void CliSession::writeSentenceWav(const RecordedTurn &turn, int index)
{
    if (m_opt.outDir.isEmpty() || m_written.contains({turn.turn, index}))
        return;
    const RecordedSentence s = turn.sentences.value(index);
    if (s.pcm.isEmpty() || s.sampleRate <= 0)
        return;
    m_written.insert({turn.turn, index});
    QDir().mkpath(m_opt.outDir);
    const QString path = QDir(m_opt.outDir).filePath(QStringLiteral("turn%1_s%2.wav").arg(turn.turn).arg(index));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(wav::file(s.pcm, s.sampleRate)) < 0)
        err(QStringLiteral("error: cannot write %1: %2").arg(path, f.errorString()));
}

void CliSession::onEvent(const ChatEvent &e)
{
    using K = ChatEvent::Kind;
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
            err(QStringLiteral("[stopped turn %1 in %2 ms]").arg(e.turn).arg(e.integer(QStringLiteral("stop_ms"))));
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
    case K::Hello:
    case K::Pong:
    case K::TurnStart:
    case K::Sentence:
    case K::Other:
        break;
    }
}

void CliSession::onTurnEnd(const ChatEvent &e)
{
    const RecordedTurn *t = m_recorder->turn(e.turn);
    if (!t)
        return;
    for (auto it = t->sentences.cbegin(); it != t->sentences.cend(); ++it)
        writeSentenceWav(*t, it.key());
    if (m_midLine) {
        out(QStringLiteral("\n"));
        m_midLine = false;
    }
    if (m_opt.json) {
        out(QString::fromUtf8(QJsonDocument(t->toJson()).toJson(QJsonDocument::Compact)) + QLatin1Char('\n'));
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
    }
    if (t->status == chat::kFailed)
        m_exitAfterTurn = kExitTurnFailed;
    if (t->sentAtMs < 0 || m_inFlight == 0)
        return; // a turn this client did not start (speech input)
    // Done when the turn of the newest chat ended (a barge-in ends older turns first).
    if (--m_inFlight > 0)
        return;
    m_stopTimer.stop();
    if (m_opt.command == QLatin1String("chat") || m_stdinEof)
        finish(m_sawViolation ? kExitViolation : m_exitAfterTurn);
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
