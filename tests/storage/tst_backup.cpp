// tianyi-server --backup / --restore and schema upgrades, as an operator runs them: the real server
// binary as a subprocess on a real data directory, chat clients and the fake upstream in this process.
#include "authtest.h"
#include "chattestclient.h"
#include "fakeserver.h"
#include "httpclient.h"
#include "storage/migrations.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QUuid>
#include <QtTest>
#include <csignal>
#include <unistd.h>
#include <memory>

using namespace tianyi;
using namespace tianyi::test;

namespace {

const QString kServerBinary = QStringLiteral(TIANYI_BINARY_DIR "/server/tianyi-server");
const QString kPassword = QStringLiteral("backup password 1");
constexpr int kStartTimeoutMs = 60000;
constexpr int kToolTimeoutMs = 120000;
constexpr int kUsers = 6;
constexpr int kTurnsBeforeBackup = 3;      // per client, committed before the backup starts
constexpr int kMaxTurnsPerClient = 400;    // the load loop's bound
constexpr int kHistoryPageLimit = 100;
constexpr int kMaxHistoryPages = 50;
constexpr int kMaxAudioChecked = 200;
constexpr int kBulkTurns = 50000;          // ~40 MB of rows before the load

struct ToolRun {
    int exitCode = -1;
    QString out;
    QString err;
    qint64 elapsedMs = 0;
};

// A finished command's exit code and output; the event loop runs meanwhile (clients, fake upstream).
ToolRun runServerTool(const QStringList &args)
{
    ToolRun run;
    QProcess p;
    QElapsedTimer timer;
    timer.start();
    p.start(kServerBinary, args);
    if (!p.waitForStarted(10000) || !QTest::qWaitFor([&]() { return p.state() == QProcess::NotRunning; }, kToolTimeoutMs)) {
        p.kill();
        p.waitForFinished(5000);
        run.err = QStringLiteral("did not finish");
        return run;
    }
    run.elapsedMs = timer.elapsed();
    run.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    run.out = QString::fromUtf8(p.readAllStandardOutput());
    run.err = QString::fromUtf8(p.readAllStandardError());
    return run;
}

// One tianyi-server serving a data directory, pointed at the in-process fake upstream.
class ServerProcess
{
public:
    ServerProcess(const QString &dataDir, const QString &fakeUrl, const QString &voicesFile, const QStringList &extraArgs = {})
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        const QList<QPair<QString, QString>> settings = {
            {QStringLiteral("TIANYI_AUTH_ARGON2_OPS_LIMIT"), QStringLiteral("1")},
            {QStringLiteral("TIANYI_AUTH_ARGON2_MEM_LIMIT_KIB"), QStringLiteral("8")},
            {QStringLiteral("TIANYI_CHAT_TURNS_PER_MINUTE"), QStringLiteral("100000")},
            {QStringLiteral("TIANYI_TTS_PER_BACKEND_CONCURRENCY"), QStringLiteral("64")}, // the fake is one backend for every client
            {QStringLiteral("TIANYI_AUDIO_KEEP"), QStringLiteral("true")},
            {QStringLiteral("TIANYI_EMBEDDING_DIMENSIONS"), QStringLiteral("64")},
            {QStringLiteral("TIANYI_LLM_BASE_URL"), fakeUrl + QStringLiteral("/v1")},
            {QStringLiteral("TIANYI_EMBEDDING_BASE_URL"), fakeUrl + QStringLiteral("/v1")},
            {QStringLiteral("TIANYI_TTS_BASE_URLS"), fakeUrl},
            {QStringLiteral("TIANYI_TTS_VOICES_FILE"), voicesFile},
        };
        for (const auto &s : settings)
            env.insert(s.first, s.second);
        m_process.setProcessEnvironment(env);
        m_process.start(kServerBinary,
                        QStringList{QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--data-dir"), dataDir} + extraArgs);
        if (!m_process.waitForStarted(10000))
            return;
        static const QRegularExpression urlLine(QStringLiteral("Browser: (http://[0-9.:]+)/"));
        QByteArray out;
        (void)QTest::qWaitFor([&]() {
            out += m_process.readAllStandardOutput();
            const auto m = urlLine.match(QString::fromUtf8(out));
            if (m.hasMatch())
                m_url = m.captured(1);
            return !m_url.isEmpty() || m_process.state() == QProcess::NotRunning;
        }, kStartTimeoutMs);
    }
    ~ServerProcess() { stop(); }

    QString url() const { return m_url; }
    quint16 port() const { return quint16(QUrl(m_url).port()); }
    // SIGTERM and wait; the exit code (-1 when it had to be killed).
    int stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
        ::kill(pid_t(m_process.processId()), SIGTERM);
        if (!QTest::qWaitFor([&]() { return m_process.state() == QProcess::NotRunning; }, 30000)) {
            m_process.kill();
            m_process.waitForFinished(5000);
            return -1;
        }
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }
    // After stop(): everything it wrote to stderr (the log).
    QString log() { return m_log += QString::fromUtf8(m_process.readAllStandardError()); }
    bool waitForExit(int timeoutMs) { return QTest::qWaitFor([&]() { return m_process.state() == QProcess::NotRunning; }, timeoutMs); }
    int exitCode() const { return m_process.exitCode(); }

private:
    QProcess m_process;
    QString m_url;
    QString m_log;
};

// A chat client that keeps chatting: the next message as soon as the previous turn's turn_end arrives.
// Every turn_end it receives is a turn the server confirmed as stored.
class LoadClient : public QObject
{
public:
    struct Confirmed {
        QString sessionId;
        int turn = 0;
        QString status;
    };

    explicit LoadClient(bool *running) : m_running(running)
    {
        connect(&client.socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            const QJsonObject m = QJsonDocument::fromJson(text.toUtf8()).object();
            const QString type = m.value(QStringLiteral("type")).toString();
            if (type == chat::kHello)
                sessionId = m.value(QStringLiteral("session_id")).toString();
            if (type != chat::kTurnEnd)
                return;
            confirmed.append({sessionId, m.value(QStringLiteral("turn")).toInt(), m.value(QStringLiteral("status")).toString()});
            inFlight = false;
            next();
        });
    }
    bool start(quint16 port, const QByteArray &token)
    {
        if (!client.openAndHello(port, token))
            return false;
        next();
        return true;
    }
    void next()
    {
        if (!*m_running || sent >= kMaxTurnsPerClient || inFlight)
            return;
        ++sent;
        inFlight = true;
        client.chat(QStringLiteral("第%1句：今天我们聊点什么？").arg(sent));
    }

    ChatTestClient client;
    QString sessionId;
    QList<Confirmed> confirmed;
    int sent = 0;
    bool inFlight = false;

private:
    bool *m_running;
};

QByteArray login(const QString &baseUrl, const QString &username)
{
    HttpClient http(baseUrl);
    return accessTokenOf(loginJson(http, username, kPassword));
}

// Every stored turn of the user, through the history API: "session/turn" -> status.
QHash<QString, QString> historyOf(const QString &baseUrl, const QByteArray &token, QStringList *audioUrls)
{
    QHash<QString, QString> out;
    HttpClient http(baseUrl);
    QString before;
    for (int page = 0; page < kMaxHistoryPages; ++page) {
        const HttpResult r = http.get(QStringLiteral("/api/v1/me/history?limit=%1%2").arg(kHistoryPageLimit).arg(before), token);
        if (r.status != 200)
            break;
        const QJsonObject body = r.json();
        for (const QJsonValue &v : body.value(QStringLiteral("turns")).toArray()) {
            const QJsonObject t = v.toObject();
            out.insert(t.value(QStringLiteral("session_id")).toString() + QLatin1Char('/') + QString::number(t.value(QStringLiteral("turn")).toInt()),
                       t.value(QStringLiteral("status")).toString());
            for (const QJsonValue &s : t.value(QStringLiteral("sentences")).toArray()) {
                const QString url = s.toObject().value(QStringLiteral("audio_url")).toString();
                if (!url.isEmpty() && audioUrls)
                    audioUrls->append(url);
            }
        }
        const QJsonValue next = body.value(QStringLiteral("next_before"));
        if (next.isNull() || next.isUndefined())
            break;
        before = QStringLiteral("&before=%1").arg(next.toInteger());
    }
    return out;
}

// Runs work on a connection of its own to a database file (outside any server), then closes it.
template <typename Work>
void withDatabase(const QString &path, Work work)
{
    const QString name = QUuid::createUuid().toString();
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        work(db, db.open());
    }
    QSqlDatabase::removeDatabase(name);
}

QString integrityOf(const QString &path)
{
    QString result;
    withDatabase(path, [&](QSqlDatabase &db, bool open) {
        QSqlQuery q(db);
        if (open && q.exec(QStringLiteral("PRAGMA integrity_check")) && q.next())
            result = q.value(0).toString();
    });
    return result;
}

// Runs statements on a database file (test setup).
bool execOn(const QString &path, const QStringList &statements)
{
    bool ok = false;
    withDatabase(path, [&](QSqlDatabase &db, bool open) {
        ok = open;
        for (const QString &sql : statements) {
            QSqlQuery q(db);
            if (ok && !q.exec(sql)) {
                qWarning() << sql << q.lastError().text();
                ok = false;
            }
        }
    });
    return ok;
}

// The rows of schema_version, "version:applied_at" in order.
QStringList schemaRows(const QString &path)
{
    QStringList rows;
    withDatabase(path, [&](QSqlDatabase &db, bool open) {
        QSqlQuery q(db);
        if (!open || !q.exec(QStringLiteral("SELECT version, applied_at FROM schema_version ORDER BY version")))
            return;
        while (q.next())
            rows << QStringLiteral("%1:%2").arg(q.value(0).toInt()).arg(q.value(1).toLongLong());
    });
    return rows;
}

QByteArray sha256Of(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256) : QByteArray();
}

// What must not change when a restore is refused: the names in the data directory and the database's bytes.
QString dataDirState(const QString &dataDir)
{
    QStringList names = QDir(dataDir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden, QDir::Name);
    return names.join(QLatin1Char(',')) + QLatin1Char('|') + QString::fromLatin1(sha256Of(dataDir + QStringLiteral("/tianyi.sqlite3")).toHex());
}

} // namespace

class TestBackup : public QObject
{
    Q_OBJECT

    std::unique_ptr<fake::FakeServer> m_fake;
    QTemporaryDir m_work;
    QString m_voices;

    QString path(const QString &name) const { return m_work.filePath(name); }

    // A data directory with a few users and turns, the server stopped; returns a backup of it.
    QString makeBackup(const QString &name)
    {
        const QString dataDir = path(name + QStringLiteral("-data"));
        {
            ServerProcess server(dataDir, m_fake->baseUrl(), m_voices);
            if (server.url().isEmpty())
                return {};
            HttpClient http(server.url());
            http.postJson(QStringLiteral("/api/v1/auth/register"), {{QStringLiteral("username"), name}, {QStringLiteral("password"), kPassword}});
        }
        const QString backupDir = path(name + QStringLiteral("-backup"));
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--backup"), backupDir});
        return run.exitCode == 0 ? backupDir : QString();
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_work.isValid());
        fake::FakeOptions options;
        options.replyText = QStringLiteral("[开心]今天天气真好，我们一起唱歌吧。[平静]我准备好了。");
        options.ttftMs = 5;
        options.tokensPerSecond = 2000;
        options.ttsFirstChunkMs = 1;
        options.ttsRealTimeFactor = 0.01;
        options.embeddingDimensions = 64;
        m_fake = std::make_unique<fake::FakeServer>(options);
        fake::registerOpenAiRoutes(*m_fake);
        fake::registerGptSovitsRoutes(*m_fake);
        QVERIFY(m_fake->listen(QHostAddress::LocalHost, 0));
        m_voices = path(QStringLiteral("voices.json"));
        QFile f(m_voices);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"default":{"ref_audio_path":"/srv/voices/calm.wav","prompt_text":"你好","prompt_lang":"zh"}})");
    }

    // The issue's test: a backup taken while several clients chat holds every turn the server had
    // confirmed (turn_end) before the backup began, and restores into a fresh data directory.
    void backupUnderLoadRestoresEveryConfirmedTurn()
    {
        const QString dataDir = path(QStringLiteral("load-data"));
        const QString backupDir = path(QStringLiteral("load-backup"));
        // A database of some megabytes, so the copy takes many steps while the load writes between them.
        {
            ServerProcess first(dataDir, m_fake->baseUrl(), m_voices);
            QVERIFY(!first.url().isEmpty());
            QCOMPARE(first.stop(), 0);
        }
        QVERIFY(execOn(dataDir + QStringLiteral("/tianyi.sqlite3"),
                       {QStringLiteral("INSERT INTO users(username, username_key, password_hash, created_at) VALUES ('bulk', 'bulk', 'x', 1)"),
                        QStringLiteral("INSERT INTO turns(user_id, session_id, turn_no, user_text, reply_text, status, created_at)"
                                       " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %1)"
                                       " SELECT (SELECT id FROM users WHERE username = 'bulk'), 'bulk', i, hex(zeroblob(200)), hex(zeroblob(200)),"
                                       " 'completed', 1 FROM n")
                            .arg(kBulkTurns)}));
        auto server = std::make_unique<ServerProcess>(dataDir, m_fake->baseUrl(), m_voices);
        QVERIFY2(!server->url().isEmpty(), "the server did not start");

        QStringList usernames;
        bool running = true;
        std::vector<std::unique_ptr<LoadClient>> clients;
        for (int i = 0; i < kUsers; ++i) {
            const QString name = QStringLiteral("loaduser%1").arg(i);
            HttpClient http(server->url());
            QCOMPARE(http.postJson(QStringLiteral("/api/v1/auth/register"), {{QStringLiteral("username"), name}, {QStringLiteral("password"), kPassword}})
                         .status,
                     201);
            const QByteArray token = login(server->url(), name);
            QVERIFY(!token.isEmpty());
            usernames << name;
            clients.push_back(std::make_unique<LoadClient>(&running));
            QVERIFY(clients.back()->start(server->port(), token));
        }
        QElapsedTimer loadTimer;
        loadTimer.start();
        QVERIFY2(QTest::qWaitFor([&]() {
            return std::all_of(clients.begin(), clients.end(), [](const auto &c) { return c->confirmed.size() >= kTurnsBeforeBackup; });
        }, 60000), "the load did not get going");
        const qint64 loadMs = loadTimer.elapsed();

        // What the server had confirmed when the backup began: every one of these must be in it.
        QList<QList<LoadClient::Confirmed>> before;
        for (const auto &c : clients)
            before.append(c->confirmed);
        int confirmedBefore = 0;
        for (const auto &list : before)
            confirmedBefore += int(list.size());
        const ToolRun backup = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--backup"), backupDir});
        int confirmedDuring = -confirmedBefore;
        for (const auto &c : clients)
            confirmedDuring += int(c->confirmed.size());
        QVERIFY2(backup.exitCode == 0, qPrintable(backup.err));
        static const QRegularExpression stepsLine(QStringLiteral("Copied in (\\d+) steps"));
        QVERIFY2(stepsLine.match(backup.out).captured(1).toInt() > 1, qPrintable(backup.out));
        QVERIFY2(std::all_of(clients.begin(), clients.end(), [](const auto &c) { return c->client.socket.isValid(); }),
                 "the backup must not disturb the clients");
        qInfo().noquote() << "backup under load:" << backup.elapsedMs << "ms (process)," << confirmedBefore << "turns confirmed in"
                          << loadMs << "ms before,"
                          << confirmedDuring << "during;" << backup.out.trimmed();

        // More turns after the backup: those may or may not be in it; the load then ends.
        const int afterTarget = int(clients.front()->confirmed.size()) + 1;
        QVERIFY(QTest::qWaitFor([&]() { return clients.front()->confirmed.size() >= afterTarget; }, 30000));
        running = false;
        QVERIFY(QTest::qWaitFor([&]() { return std::none_of(clients.begin(), clients.end(), [](const auto &c) { return c->inFlight; }); }, 30000));
        clients.clear();
        QCOMPARE(server->stop(), 0);
        server.reset();

        QCOMPARE(QDir(m_work.path()).entryList({QStringLiteral("load-backup.*")}), QStringList()); // no temporary left
        QCOMPARE(integrityOf(backupDir + QStringLiteral("/tianyi.sqlite3")), QStringLiteral("ok"));
        QVERIFY2(!QFileInfo::exists(backupDir + QStringLiteral("/tianyi.sqlite3-wal")), "the backup is one self-contained file");

        const QString restoredDir = path(QStringLiteral("load-restored"));
        const ToolRun restore = runServerTool({QStringLiteral("--data-dir"), restoredDir, QStringLiteral("--restore"), backupDir});
        QVERIFY2(restore.exitCode == 0, qPrintable(restore.err));
        QCOMPARE(integrityOf(restoredDir + QStringLiteral("/tianyi.sqlite3")), QStringLiteral("ok"));

        ServerProcess restored(restoredDir, m_fake->baseUrl(), m_voices);
        QVERIFY2(!restored.url().isEmpty(), "the server did not start on the restored data");
        int checked = 0;
        QStringList audioUrls;
        for (int i = 0; i < kUsers; ++i) {
            // A fresh data directory has a new JWT secret: the user logs in again, with the restored password.
            const QByteArray token = login(restored.url(), usernames.at(i));
            QVERIFY2(!token.isEmpty(), qPrintable(usernames.at(i)));
            const QHash<QString, QString> history = historyOf(restored.url(), token, &audioUrls);
            for (const LoadClient::Confirmed &c : before.at(i)) {
                const QString key = c.sessionId + QLatin1Char('/') + QString::number(c.turn);
                QVERIFY2(history.contains(key), qPrintable(QStringLiteral("confirmed turn %1 of %2 is missing").arg(key, usernames.at(i))));
                QCOMPARE(history.value(key), c.status);
                ++checked;
            }
        }
        QCOMPARE(checked, confirmedBefore);
        // Every sentence the restored history offers audio for plays: the files came with the database.
        QVERIFY2(!audioUrls.isEmpty(), "the load stored audio; the restored history must offer some");
        const QByteArray token = login(restored.url(), usernames.first());
        HttpClient http(restored.url());
        int played = 0;
        for (const QString &url : audioUrls) {
            if (played >= kMaxAudioChecked)
                break;
            if (!url.contains(QStringLiteral("/me/audio/")))
                continue;
            const QString relative = url.mid(url.indexOf(QStringLiteral("/api/")));
            // audio_url is per user; check the first user's (their token).
            const HttpResult r = http.get(relative, token);
            if (r.status == 404)
                continue; // another user's sentence
            QCOMPARE(r.status, 200);
            QVERIFY(r.body.startsWith("RIFF"));
            ++played;
        }
        QVERIFY2(played > 0, "no restored audio could be played");
        QCOMPARE(restored.stop(), 0);
    }

    void restoreIsRefusedWhileAServerRuns()
    {
        const QString backupDir = makeBackup(QStringLiteral("busy"));
        QVERIFY(!backupDir.isEmpty());
        const QString dataDir = path(QStringLiteral("busy-live"));
        ServerProcess server(dataDir, m_fake->baseUrl(), m_voices);
        QVERIFY(!server.url().isEmpty());
        // An idle server: it holds the database open all the same.
        const QString stateBefore = dataDirState(dataDir);
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--restore"), backupDir});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(QStringLiteral("is in use")) && run.err.contains(QStringLiteral("Stop the server first")), qPrintable(run.err));
        QCOMPARE(dataDirState(dataDir), stateBefore);
        QCOMPARE(HttpClient(server.url()).get(QStringLiteral("/readyz")).status, 200);
        QCOMPARE(server.stop(), 0);
        // Stopped, the same restore goes through and keeps the replaced database aside.
        const ToolRun again = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--restore"), backupDir});
        QVERIFY2(again.exitCode == 0, qPrintable(again.err));
        QVERIFY(QDir(dataDir).entryList({QStringLiteral("tianyi.sqlite3.before-restore-*")}).size() == 1);
        QVERIFY(QFileInfo::exists(dataDir + QStringLiteral("/jwt_secret")));
    }

    // Restored from a root shell into a server user's data directory: the files must be that user's,
    // or the server could not open them.
    void restoreAsRootHandsTheFilesToTheDataDirectoryOwner()
    {
        if (::geteuid() != 0)
            QSKIP("needs root to hand files to another user");
        constexpr uint kNobody = 65534;
        const QString backupDir = makeBackup(QStringLiteral("owner"));
        QVERIFY(!backupDir.isEmpty());
        const QString dataDir = path(QStringLiteral("owner-fresh"));
        QVERIFY(QDir().mkpath(dataDir));
        QCOMPARE(::chown(QFile::encodeName(dataDir).constData(), kNobody, kNobody), 0);
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--restore"), backupDir});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QCOMPARE(QFileInfo(dataDir + QStringLiteral("/tianyi.sqlite3")).ownerId(), kNobody);
        QCOMPARE(QFileInfo(dataDir + QStringLiteral("/tianyi.sqlite3")).groupId(), kNobody);
        QCOMPARE(QFileInfo(dataDir + QStringLiteral("/audio")).ownerId(), kNobody);
    }

    // The backup only reads: the data directory of a stopped server is byte for byte as it was (no
    // -wal or -shm left behind, which run as root would be files the server's user cannot open).
    void backupLeavesTheDataDirectoryAsItWas()
    {
        QVERIFY(!makeBackup(QStringLiteral("readonly")).isEmpty());
        const QString dataDir = path(QStringLiteral("readonly-data"));
        const QString stateBefore = dataDirState(dataDir);
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--backup"), path(QStringLiteral("readonly-again"))});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QCOMPARE(dataDirState(dataDir), stateBefore);
    }

    // A row whose audio file retention removed before the copy reached it: counted, not an error.
    void audioRemovedMeanwhileIsCountedNotFatal()
    {
        QVERIFY(!makeBackup(QStringLiteral("retention")).isEmpty());
        const QString dataDir = path(QStringLiteral("retention-data"));
        QVERIFY(execOn(dataDir + QStringLiteral("/tianyi.sqlite3"),
                       {QStringLiteral("INSERT INTO turns(id, user_id, session_id, turn_no, user_text, status, created_at)"
                                       " VALUES (900, (SELECT MIN(id) FROM users), 's', 1, 'hi', 'completed', 1)"),
                        QStringLiteral("INSERT INTO turn_audio(turn_id, user_id, sentence_index, text, relative_path, created_at)"
                                       " VALUES (900, (SELECT MIN(id) FROM users), 0, 'hi', '1/900/0.wav', 1)")}));
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--backup"), path(QStringLiteral("retention-again"))});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains(QStringLiteral("0 audio files")) && run.out.contains(QStringLiteral("1 audio files already removed by retention")),
                 qPrintable(run.out));
    }

    void backupRefusesToOverwriteWithoutForce()
    {
        const QString backupDir = makeBackup(QStringLiteral("twice"));
        QVERIFY(!backupDir.isEmpty());
        const QString dataDir = path(QStringLiteral("twice-data"));
        const QByteArray before = sha256Of(backupDir + QStringLiteral("/tianyi.sqlite3"));
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--backup"), backupDir});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(QStringLiteral("already exists")) && run.err.contains(QStringLiteral("--force")), qPrintable(run.err));
        QCOMPARE(sha256Of(backupDir + QStringLiteral("/tianyi.sqlite3")), before);
        const ToolRun forced = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--backup"), backupDir, QStringLiteral("--force")});
        QVERIFY2(forced.exitCode == 0, qPrintable(forced.err));
        QCOMPARE(QDir(m_work.path()).entryList({QStringLiteral("twice-backup.*")}), QStringList()); // no temporary or replaced copy left
    }

    void unsoundBackupsAreRefused_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("text file") << QStringLiteral("text") << QStringLiteral("not an SQLite database");
        QTest::newRow("damaged pages") << QStringLiteral("pages") << QStringLiteral("Nothing was changed");
        QTest::newRow("other application's database") << QStringLiteral("foreign") << QStringLiteral("not a tianyi one");
        QTest::newRow("no database in the directory") << QStringLiteral("empty-dir") << QStringLiteral("is not a tianyi backup");
    }
    void unsoundBackupsAreRefused()
    {
        QFETCH(QString, damage);
        QFETCH(QString, expected);
        const QString good = makeBackup(QStringLiteral("unsound-") + damage);
        QVERIFY(!good.isEmpty());
        const QString file = good + QStringLiteral("/tianyi.sqlite3");
        if (damage == QLatin1String("text")) {
            QFile f(file);
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write("this is not a database\n");
        } else if (damage == QLatin1String("pages")) {
            // Keep the header (page 1), overwrite the rest of the file with noise.
            QFile f(file);
            QVERIFY(f.open(QIODevice::ReadWrite));
            const qint64 size = f.size();
            QVERIFY(size > 8192);
            f.seek(4096);
            QByteArray noise(int(size - 4096), '\0');
            for (int i = 0; i < noise.size(); ++i)
                noise[i] = char((i * 7919 + 13) & 0xff);
            f.write(noise);
        } else if (damage == QLatin1String("foreign")) {
            QFile::remove(file);
            QVERIFY(execOn(file, {QStringLiteral("CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)")}));
        } else {
            QFile::remove(file);
        }
        const QString dataDir = path(QStringLiteral("unsound-") + damage + QStringLiteral("-data")); // made by makeBackup
        const QString stateBefore = dataDirState(dataDir);
        const ToolRun run = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--restore"), good});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(expected), qPrintable(run.err));
        QCOMPARE(dataDirState(dataDir), stateBefore);
    }

    void newerSchemaIsRefusedAtRestoreAndAtStartup()
    {
        const QString backupDir = makeBackup(QStringLiteral("future"));
        QVERIFY(!backupDir.isEmpty());
        const int future = latestSchemaVersion() + 1;
        QVERIFY(execOn(backupDir + QStringLiteral("/tianyi.sqlite3"),
                       {QStringLiteral("INSERT INTO schema_version(version, name, applied_at) VALUES (%1, 'from a newer release', 0)").arg(future)}));
        const QString expected = QStringLiteral("the database has schema version %1, but this tianyi-server (%2) knows schema versions up to %3")
                                     .arg(future)
                                     .arg(QStringLiteral(TIANYI_VERSION))
                                     .arg(latestSchemaVersion());

        const QString dataDir = path(QStringLiteral("future-data"));
        const QString stateBefore = dataDirState(dataDir);
        const ToolRun restore = runServerTool({QStringLiteral("--data-dir"), dataDir, QStringLiteral("--restore"), backupDir});
        QCOMPARE(restore.exitCode, 1);
        QVERIFY2(restore.err.contains(expected) && restore.err.contains(QStringLiteral("Nothing was changed")), qPrintable(restore.err));
        QCOMPARE(dataDirState(dataDir), stateBefore);

        // The same database in place (as after a downgrade of the package): the server does not start.
        const QString downgraded = path(QStringLiteral("future-downgraded"));
        QVERIFY(QDir().mkpath(downgraded));
        QVERIFY(QFile::copy(backupDir + QStringLiteral("/tianyi.sqlite3"), downgraded + QStringLiteral("/tianyi.sqlite3")));
        ServerProcess server(downgraded, m_fake->baseUrl(), m_voices);
        QVERIFY(server.url().isEmpty());
        QVERIFY(server.waitForExit(kStartTimeoutMs));
        QCOMPARE(server.exitCode(), 1);
        const QString log = server.log();
        QVERIFY2(log.contains(expected) && log.contains(QStringLiteral("restore a backup taken before the upgrade")), qPrintable(log));
        QCOMPARE(schemaRows(downgraded + QStringLiteral("/tianyi.sqlite3")).size(), latestSchemaVersion() + 1);
        QVERIFY2(integrityOf(downgraded + QStringLiteral("/tianyi.sqlite3")) == QLatin1String("ok"), "the refused database is untouched");
    }

    // An older release's data directory: the newer server migrates the schema once, keeps the rows,
    // the JWT secret and the configuration file; a second start applies nothing.
    void olderSchemaIsMigratedOnceKeepingSecretAndConfig()
    {
        const QString dataDir = path(QStringLiteral("old-data"));
        QVERIFY(QDir().mkpath(dataDir));
        const QString db = dataDir + QStringLiteral("/tianyi.sqlite3");
        constexpr int kOldVersion = 3;
        QStringList statements{QStringLiteral("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")};
        for (const Migration &m : migrations()) {
            if (m.version > kOldVersion)
                break;
            statements += m.statements;
            statements << QStringLiteral("INSERT INTO schema_version VALUES (%1, '%2', %3)").arg(m.version).arg(m.name).arg(1000 + m.version);
        }
        statements << QStringLiteral("INSERT INTO users(id, username, username_key, password_hash, created_at) VALUES (7, 'old', 'old', 'x', 1)")
                   << QStringLiteral("INSERT INTO turns(user_id, session_id, turn_no, user_text, reply_text, status, created_at) "
                                     "VALUES (7, 's', 1, '你好', '你好呀', 'completed', 1)");
        QVERIFY(execOn(db, statements));
        const QString secretFile = dataDir + QStringLiteral("/jwt_secret");
        {
            QFile secret(secretFile);
            QVERIFY(secret.open(QIODevice::WriteOnly));
            secret.write(QByteArray(64, 'k').toHex().left(64) + '\n');
            secret.setPermissions(QFile::ReadOwner | QFile::WriteOwner);
        }
        const QByteArray secretBefore = sha256Of(secretFile);
        const QString configFile = path(QStringLiteral("old.conf"));
        {
            QFile config(configFile);
            QVERIFY(config.open(QIODevice::WriteOnly));
            config.write("[log]\nformat = text\n");
        }
        const QByteArray configBefore = sha256Of(configFile);

        QString firstLog;
        {
            ServerProcess server(dataDir, m_fake->baseUrl(), m_voices, {QStringLiteral("--config"), configFile});
            QVERIFY2(!server.url().isEmpty(), qPrintable(server.log()));
            // The log on failure: a crash at this stop was seen once under heavy load (exit -1).
            const int code = server.stop();
            firstLog = server.log();
            QVERIFY2(code == 0, qPrintable(QStringLiteral("exit %1; log:\n%2").arg(code).arg(firstLog.right(4000))));
        }
        const QStringList rows = schemaRows(db);
        QCOMPARE(rows.size(), latestSchemaVersion());
        for (int v = 1; v <= kOldVersion; ++v)
            QCOMPARE(rows.at(v - 1), QStringLiteral("%1:%2").arg(v).arg(1000 + v)); // the old steps were not run again
        for (int v = kOldVersion + 1; v <= latestSchemaVersion(); ++v)
            QVERIFY2(firstLog.contains(QStringLiteral("applied migration %1 ").arg(v)), qPrintable(firstLog));
        QVERIFY(!firstLog.contains(QStringLiteral("applied migration %1 ").arg(kOldVersion)));
        QVERIFY(!firstLog.contains(QStringLiteral("generated a new JWT signing secret")));
        QCOMPARE(sha256Of(secretFile), secretBefore);
        QCOMPARE(sha256Of(configFile), configBefore);
        QCOMPARE(integrityOf(db), QStringLiteral("ok"));

        ServerProcess again(dataDir, m_fake->baseUrl(), m_voices, {QStringLiteral("--config"), configFile});
        QVERIFY(!again.url().isEmpty());
        QCOMPARE(again.stop(), 0);
        QVERIFY2(!again.log().contains(QStringLiteral("applied migration")), qPrintable(again.log()));
        QCOMPARE(schemaRows(db), rows);
        QCOMPARE(sha256Of(secretFile), secretBefore);
    }
};

QTEST_GUILESS_MAIN(TestBackup)
#include "tst_backup.moc"
