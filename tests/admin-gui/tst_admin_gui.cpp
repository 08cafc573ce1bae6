// tianyi-admin end to end: the console's widgets and models against a real server in-process
// (the fake upstream for controlled turns), real chat sockets of users, real HTTP and /ws/admin.
// Offscreen; every wait is on a condition (QTRY_* / qWaitFor), never a sleep.
#include "../admin/adminfixture.h"

#include "audioplayer.h"
#include "connectdialog.h"
#include "console.h"
#include "credentialstore.h"
#include "languagemanager.h"
#include "mainwindow.h"
#include "queuesview.h"
#include "sessionsview.h"
#include "turnview.h"
#include "usersmodel.h"
#include "usersview.h"
#include "waveformwidget.h"

#include <tianyi/wav.h>

#include "devicename.h"
#include "queuehistory.h"

#include <QAction>
#include <QProcess>
#include <QCheckBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QtTest>

using namespace tianyi;
using namespace tianyi::admin;
using namespace tianyi::test;

namespace {

constexpr int kWait = 30000;

// The fake sink of the tests: records what the console asked to play.
class RecordingAudioPlayer : public AudioPlayer
{
public:
    bool isAvailable() const override { return true; }
    QString unavailableReason() const override { return {}; }
    QString outputName() const override { return QStringLiteral("recording sink"); }
    bool play(const QByteArray &pcm, int sampleRate, int channels) override
    {
        played.append(pcm);
        rate = sampleRate;
        channelCount = channels;
        emit started();
        return true;
    }
    void stop() override {}
    bool isPlaying() const override { return false; }

    QList<QByteArray> played;
    int rate = 0;
    int channelCount = 0;
};

// The console as main.cpp wires it, with test doubles for the keychain and the sound card.
struct Gui {
    QTemporaryDir dir;
    QSettings settings{dir.filePath(QStringLiteral("admin.ini")), QSettings::IniFormat};
    MemoryCredentialStore credentials;
    RecordingAudioPlayer player;
    LanguageManager language;
    Console console;
    MainWindow window{console, credentials, settings, player, language};

    Gui()
    {
        language.setLanguage(QStringLiteral("en"));
        window.show();
    }
    ~Gui() { console.stop(); }

    // Types the login into the connect dialog and presses Connect.
    void typeLogin(quint16 port, const QString &user, const QString &password, bool remember = false)
    {
        window.showConnectDialog();
        ConnectDialog *d = window.connectDialog();
        d->serverEdit()->setText(QStringLiteral("http://127.0.0.1:%1").arg(port));
        d->userEdit()->setText(user);
        d->passwordEdit()->setText(password);
        d->rememberBox()->setChecked(remember);
        d->attempt();
    }
    bool connectAs(quint16 port, const QString &user, const QString &password = kAdminPassword)
    {
        typeLogin(port, user, password);
        return QTest::qWaitFor([&]() { return console.feed().state() == AdminFeedClient::State::Live; }, kWait);
    }
    SessionsModel &sessions() { return console.sessions(); }
    const SessionRow *session(const QString &id)
    {
        const int row = sessions().rowOf(id);
        return sessions().row(row);
    }
};

QString sessionIdOf(const ChatTestClient &c)
{
    return c.first(chat::kHello).value(QStringLiteral("session_id")).toString();
}

} // namespace

class TestAdminGui : public QObject
{
    Q_OBJECT

private slots:
    void cleanup()
    {
        // Sockets and replies the console let go of are deleted later: before the next test.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    }

    void connectDialogRefusesNonAdminsAndNeverStoresThePassword()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        const ChatUser plain = fx.user(QStringLiteral("plain"));
        Gui gui;

        gui.typeLogin(fx.port(), plain.username, kUserPassword);
        ConnectDialog *d = gui.window.connectDialog();
        QTRY_VERIFY_WITH_TIMEOUT(!d->isBusy() && !d->errorText().isEmpty(), kWait);
        QCOMPARE(d->errorText(), QStringLiteral("This account is not an administrator."));
        QVERIFY(d->isVisible());
        QVERIFY(!gui.console.api().isSignedIn());

        gui.typeLogin(fx.port(), QStringLiteral("root"), QStringLiteral("not the password"));
        QTRY_COMPARE_WITH_TIMEOUT(d->errorText(), QStringLiteral("Wrong username or password."), kWait);

        // The keychain has no service here: the login works, the window says why nothing was saved.
        gui.credentials.failWith = QStringLiteral("no secret service");
        gui.typeLogin(fx.port(), QStringLiteral("root"), kAdminPassword, true);
        QTRY_VERIFY_WITH_TIMEOUT(gui.console.feed().state() == AdminFeedClient::State::Live, kWait);
        QVERIFY(!d->isVisible());
        QVERIFY2(gui.window.connectionText().contains(QStringLiteral("password not saved: no secret service")),
                 qPrintable(gui.window.connectionText()));
        gui.settings.sync();
        QFile ini(gui.settings.fileName());
        QVERIFY(ini.open(QIODevice::ReadOnly));
        const QByteArray stored = ini.readAll();
        QVERIFY2(stored.contains("127.0.0.1") && stored.contains("root"), stored.constData());
        QVERIFY2(!stored.contains(kAdminPassword.toUtf8()), "the password must never be in the settings file");

        // With a working store the password goes there, and a new dialog offers it again.
        gui.credentials.failWith.clear();
        gui.typeLogin(fx.port(), QStringLiteral("root"), kAdminPassword, true);
        QTRY_COMPARE_WITH_TIMEOUT(gui.credentials.entries().size(), 1, kWait);
        d->passwordEdit()->clear();
        d->loadRemembered();
        QCOMPARE(d->passwordEdit()->text(), kAdminPassword);
        QCOMPARE(d->userEdit()->text(), QStringLiteral("root"));
    }

    void sessionsFillFromTheApiAndFollowTheFeed()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        const ChatUser alice = fx.user(QStringLiteral("alice"));
        const ChatUser bob = fx.user(QStringLiteral("bob"));
        ChatTestClient a; // before the console connects: it comes with the hello
        QVERIFY(a.openAndHello(fx.port(), alice.token));
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        QTRY_VERIFY_WITH_TIMEOUT(gui.session(sessionIdOf(a)) != nullptr, kWait);
        QCOMPARE(gui.session(sessionIdOf(a))->username, QStringLiteral("alice"));

        // A user connects: a row appears; chats: turns and the latencies follow.
        ChatTestClient b;
        QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws?device=pixel-7&token=%2").arg(fx.port()).arg(QString::fromLatin1(bob.token))));
        b.socket.open(request);
        QVERIFY(b.waitForType(chat::kHello));
        QTRY_VERIFY_WITH_TIMEOUT(gui.session(sessionIdOf(b)) != nullptr, kWait);
        const int bobRow = gui.sessions().rowOf(sessionIdOf(b));
        QCOMPARE(gui.sessions().data(gui.sessions().index(bobRow, SessionsModel::User)).toString(), QStringLiteral("bob"));
        QCOMPARE(gui.sessions().data(gui.sessions().index(bobRow, SessionsModel::Device)).toString(), QStringLiteral("pixel-7"));
        QCOMPARE(gui.session(sessionIdOf(b))->turns, 0);

        b.chat(QStringLiteral("你好"));
        QVERIFY(b.waitForType(chat::kTurnEnd, 1));
        const QJsonObject stats = b.first(chat::kTurnEnd, 1).value(QStringLiteral("stats")).toObject();
        QTRY_COMPARE_WITH_TIMEOUT(gui.session(sessionIdOf(b))->turns, 1, kWait);
        const SessionRow *row = gui.session(sessionIdOf(b));
        QCOMPARE(row->lastTtftMs, stats.value(QStringLiteral("ttft_ms")).toInteger());
        QCOMPARE(row->lastFirstAudioMs, stats.value(QStringLiteral("first_audio_ms")).toInteger());
        QCOMPARE(row->lastStatus, QStringLiteral("completed"));
        QCOMPARE(row->state, QStringLiteral("idle"));
        QCOMPARE(gui.sessions().data(gui.sessions().index(bobRow, SessionsModel::LastTtft)).toString(),
                 QStringLiteral("%1 ms").arg(stats.value(QStringLiteral("ttft_ms")).toInteger()));
        QCOMPARE(row->lastTurnId, fx.storedTurns(bob.id).first().id);
        QCOMPARE(gui.session(sessionIdOf(a))->turns, 0);

        // A user leaves: the row goes.
        a.socket.close();
        QTRY_VERIFY_WITH_TIMEOUT(gui.session(sessionIdOf(a)) == nullptr, kWait);
        QCOMPARE(gui.sessions().rowCount(), 1);
    }

    void stopAndDisconnectActionsReachTheUser()
    {
        ChatFixture::Options o = slowOptions();
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        const QString sid = sessionIdOf(c);
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        QTRY_VERIFY_WITH_TIMEOUT(gui.window.sessionsView()->selectSession(sid), kWait);
        SessionsView *view = gui.window.sessionsView();
        QVERIFY(!view->stopButton()->isEnabled()); // nothing runs yet

        c.chat(QStringLiteral("讲个长故事"));
        QVERIFY(c.waitForType(chat::kTextDelta, 1));
        QTRY_VERIFY_WITH_TIMEOUT(view->stopButton()->isEnabled(), kWait);
        QCOMPARE(gui.session(sid)->currentTurn, 1);
        // The feed's turn_speaking: her reply text went out, so the row says speaking, not thinking.
        QTRY_COMPARE_WITH_TIMEOUT(gui.session(sid)->state, QStringLiteral("speaking"), kWait);
        view->stopButton()->click();
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        QVERIFY(c.indexOfType(chat::kStopped, 1) >= 0);
        QCOMPARE(c.first(chat::kTurnEnd, 1).value(QStringLiteral("status")).toString(), chat::kInterrupted);
        QTRY_COMPARE_WITH_TIMEOUT(gui.session(sid)->lastStatus, QStringLiteral("interrupted"), kWait);
        QTRY_COMPARE_WITH_TIMEOUT(view->statusText(), QStringLiteral("Stopped turn 1 of session %1.").arg(sid), kWait);
        // The interrupted turn can be opened: the server stored it as interrupted.
        QVERIFY(gui.session(sid)->lastTurnId > 0);
        view->openTurnButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(gui.window.turnView()->turn().id, gui.session(sid)->lastTurnId, kWait);
        QCOMPARE(gui.window.turnView()->turn().status, QStringLiteral("interrupted"));
        QCOMPARE(gui.window.turnView()->turn().userText, QStringLiteral("讲个长故事"));

        view->disconnectButton()->click();
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseKicked);
        QTRY_VERIFY_WITH_TIMEOUT(gui.session(sid) == nullptr, kWait);
    }

    void usersViewDisablesAndEnables()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser carol = fx.user(QStringLiteral("carol"));
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        UsersView *view = gui.window.usersView();
        QTRY_VERIFY_WITH_TIMEOUT(view->selectUser(QStringLiteral("carol")), kWait);
        QCOMPARE(view->model().total(), 2);
        QVERIFY(view->disableButton()->isEnabled());
        QVERIFY(!view->enableButton()->isEnabled());
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), carol.token));

        view->disableButton()->click();
        const int row = view->model().rowOfUser(QStringLiteral("carol"));
        QTRY_VERIFY2_WITH_TIMEOUT(view->model().row(row)->disabled, qPrintable(view->statusText()), kWait);
        HttpClient http(fx.server->baseUrl());
        const HttpResult refused = passwordLogin(http, QStringLiteral("carol"), kUserPassword);
        QCOMPARE(refused.status, 403);
        QCOMPARE(refused.errorCode(), QStringLiteral("account_disabled"));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode, chat::kCloseKicked);
        QVERIFY(view->enableButton()->isEnabled());

        view->enableButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!view->model().row(row)->disabled, kWait);
        QCOMPARE(passwordLogin(http, QStringLiteral("carol"), kUserPassword).status, 200);

        // A change made elsewhere (another admin, curl) arrives through the feed's users_changed.
        QCOMPARE(adminPost(http, QStringLiteral("/api/v1/admin/users/%1/disable").arg(carol.id), admin.token).status, 200);
        QTRY_VERIFY_WITH_TIMEOUT(view->model().row(row)->disabled, kWait);
        QCOMPARE(view->model().data(view->model().index(row, UsersModel::Status)).toString(), QStringLiteral("disabled"));
    }

    void turnViewShowsTranscriptWaveformAndPlaysASentence()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        const AdminUser admin = makeAdmin(fx);
        const ChatUser alice = fx.user(QStringLiteral("alice"));
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), alice.token));
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        c.chat(QStringLiteral("你好"));
        QVERIFY(c.waitForType(chat::kTurnEnd, 1));
        const QString sid = sessionIdOf(c);
        QTRY_VERIFY_WITH_TIMEOUT(gui.session(sid) && gui.session(sid)->lastTurnId > 0, kWait);
        const qint64 turnId = gui.session(sid)->lastTurnId;
        int spoken = 0;
        for (const ChatMessage &m : c.ofTurn(1))
            spoken += m.type() == chat::kSentence ? 1 : 0;
        QVERIFY(spoken >= 2);
        // The sentence audio is written after turn_end: wait until the server has all of it.
        HttpClient http(fx.server->baseUrl());
        QJsonArray sentences;
        QTRY_VERIFY_WITH_TIMEOUT((sentences = http.get(QStringLiteral("/api/v1/admin/turns/%1").arg(turnId), admin.token)
                                                  .json().value(QStringLiteral("turn")).toObject().value(QStringLiteral("sentences")).toArray(),
                                  sentences.size() == spoken && !sentences.last().toObject().value(QStringLiteral("audio_url")).toString().isEmpty()),
                                 kWait);

        SessionsView *sessionsView = gui.window.sessionsView();
        QVERIFY(sessionsView->selectSession(sid));
        QVERIFY(sessionsView->openTurnButton()->isEnabled());
        sessionsView->openTurnButton()->click();
        TurnView *view = gui.window.turnView();
        QCOMPARE(gui.window.tabs()->currentWidget(), view);
        QTRY_COMPARE_WITH_TIMEOUT(view->turn().id, turnId, kWait);
        QCOMPARE(view->turn().userText, QStringLiteral("你好"));
        QCOMPARE(view->turn().sentences.size(), spoken);
        QCOMPARE(view->turn().sentences.first().emotion, QStringLiteral("happy"));
        QCOMPARE(view->turn().sentences.last().emotion, QStringLiteral("sad"));
        const QString transcript = view->transcriptText();
        QVERIFY2(transcript.contains(QStringLiteral("你好")) && transcript.contains(QStringLiteral("[happy]")) && transcript.contains(QStringLiteral("[sad]"))
                     && transcript.contains(QStringLiteral("可是我有点累了。")),
                 qPrintable(transcript));

        // The last sentence is selected and its waveform drawn from the WAV's PCM.
        const int last = spoken - 1;
        QCOMPARE(view->selectedSentence(), last);
        QTRY_VERIFY_WITH_TIMEOUT(view->hasAudio(last) && view->waveform()->hasSamples(), kWait);
        const HttpResult wavFile = http.get(sentences.last().toObject().value(QStringLiteral("audio_url")).toString(), admin.token);
        wav::Format format;
        QByteArray pcm;
        QVERIFY(wav::parseFile(wavFile.body, &format, &pcm));
        QVERIFY(!wav::isSilent(pcm));
        QCOMPARE(view->waveform()->durationMs(), wav::durationMs(pcm.size(), format.sampleRate, format.channels));
        const auto columns = view->waveform()->columns(200);
        QCOMPARE(columns.size(), 200);
        int peak = 0;
        for (const auto &c : columns)
            peak = qMax(peak, qMax(-int(c.first), int(c.second)));
        QCOMPARE(peak, wav::peakAmplitude(pcm));

        QVERIFY(view->playButton()->isEnabled());
        view->playButton()->click();
        QCOMPARE(gui.player.played.size(), 1);
        QCOMPARE(gui.player.played.first(), pcm);
        QCOMPARE(gui.player.rate, format.sampleRate);
        QCOMPARE(gui.player.channelCount, 1);
        QCOMPARE(view->playerText(), QStringLiteral("Playing sentence %1 on recording sink.").arg(spoken));

        // The first sentence: a different PCM is played.
        view->selectSentence(0);
        QTRY_VERIFY_WITH_TIMEOUT(view->hasAudio(0) && view->playButton()->isEnabled(), kWait);
        view->playSelected();
        QCOMPARE(gui.player.played.size(), 2);
        QCOMPARE(gui.player.played.last().size(), c.sentencePcm(1, 0).size());
    }

    void noSoundDeviceDisablesPlaybackWithAMessage()
    {
        AdminApi api;
        QtAudioPlayer player(QList<QAudioDevice>{}); // what QMediaDevices::audioOutputs() gives without a sound card
        QVERIFY(!player.isAvailable());
        TurnView view(api, player);
        QVERIFY(!view.playButton()->isEnabled());
        QCOMPARE(view.playerText(), QStringLiteral("No sound device: playback is disabled."));
        QSignalSpy failed(&player, &AudioPlayer::failed);
        QVERIFY(!player.play(QByteArray(320, '\0'), 16000, 1));
        QCOMPARE(failed.size(), 1);
    }

    void queuesHistoryFillsFromTheFeed()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        // hello + two `queues` ticks
        QTRY_VERIFY_WITH_TIMEOUT(gui.console.queues().size() >= 3, kWait);
        QCOMPARE(gui.console.queues().latest()->sessions, 1);
        QVERIFY(gui.window.queuesView()->pointCount(QStringLiteral("sessions")) >= 3);
        QVERIFY(gui.window.queuesView()->pointCount(QStringLiteral("llm_in_flight")) >= 3);
        // The fake GPT-SoVITS backend has its own line.
        const QStringList backends = gui.console.queues().backends();
        QCOMPARE(backends.size(), 1);
        QVERIFY(gui.window.queuesView()->pointCount(QStringLiteral("backend:") + backends.first()) >= 1);
        QVERIFY2(gui.window.queuesView()->summaryText().startsWith(QStringLiteral("Now: 1 session;")), qPrintable(gui.window.queuesView()->summaryText()));
        // Real (fake) LLM and TTS services: the charts need no explanation.
        QCOMPARE(gui.window.queuesView()->chartNote(QStringLiteral("llm")), QString());
        QCOMPARE(gui.window.queuesView()->chartNote(QStringLiteral("tts")), QString());

        // The ring buffer is bounded: the oldest samples make room.
        QueueHistory small(3);
        for (int i = 0; i < 5; ++i) {
            QueueSample s;
            s.atMs = i;
            small.add(s);
        }
        QCOMPARE(small.size(), 3);
        QCOMPARE(small.at(0).atMs, 2);
        QCOMPARE(small.latest()->atMs, 4);
    }

    void reconnectsWhenTheServerRestarts()
    {
        QTemporaryDir data;
        ChatFixture::Options o = fastOptions();
        o.fakeLlm = false; // built-in providers: a restarted server needs no fake upstream
        o.fakeTts = false;
        o.adjust = [&](Config &c) { c.server.dataDir = data.path(); };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        const ChatUser dora = fx.user(QStringLiteral("dora"));
        const quint16 port = fx.port();
        Gui gui;
        QSignalSpy states(&gui.console.feed(), &AdminFeedClient::stateChanged);
        QVERIFY(gui.connectAs(port, QStringLiteral("root")));
        {
            ChatTestClient c;
            QVERIFY(c.openAndHello(port, dora.token));
            QTRY_COMPARE_WITH_TIMEOUT(gui.sessions().rowCount(), 1, kWait);
            fx.server->stop();
            QVERIFY(c.waitClosed());
        }
        QTRY_VERIFY_WITH_TIMEOUT(gui.console.feed().state() == AdminFeedClient::State::Waiting, kWait);
        QTRY_VERIFY_WITH_TIMEOUT(gui.window.connectionText().contains(QStringLiteral("reconnecting")), kWait);
        fx.server.reset();
        states.clear();

        // The same port and data directory: the console finds it again by itself.
        fx.server = std::make_unique<TestServer>([&](Config &c) {
            c.server.dataDir = data.path();
            c.server.port = port;
        });
        QVERIFY2(fx.server->started(), qPrintable(fx.server->error()));
        ChatTestClient again;
        QVERIFY(again.openAndHello(port, fx.tokenFor(dora.id)));
        QTRY_VERIFY_WITH_TIMEOUT(gui.console.feed().state() == AdminFeedClient::State::Live, kWait);
        QTRY_VERIFY_WITH_TIMEOUT(gui.session(sessionIdOf(again)) != nullptr, kWait);
        QCOMPARE(gui.sessions().rowCount(), 1);
        QVERIFY(gui.window.connectionText().startsWith(QStringLiteral("Live: root@")));
        // And keeps following it.
        again.chat(QStringLiteral("你好"));
        QVERIFY(again.waitForType(chat::kTurnEnd, 1, 60000));
        QTRY_COMPARE_WITH_TIMEOUT(gui.session(sessionIdOf(again))->turns, 1, kWait);
    }

    void logsInAgainWhenTheAccessTokenExpires()
    {
        ChatFixture::Options o = fastOptions();
        o.adjust = [](Config &c) { c.auth.accessTokenTtlS = 2; };
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        const qint64 signedInAt = QDateTime::currentSecsSinceEpoch();
        const QString firstToken = gui.console.api().accessToken();
        UsersView *view = gui.window.usersView();
        QTRY_VERIFY_WITH_TIMEOUT(view->model().rowCount() == 1, kWait);
        // Past the token's lifetime the server answers 401; the console logs in again and retries.
        QVERIFY(QTest::qWaitFor([&]() { return QDateTime::currentSecsSinceEpoch() > signedInAt + 3; }, kWait));
        HttpClient http(fx.server->baseUrl());
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/users"), firstToken.toUtf8()).status, 401);
        view->model().clear();
        view->reload();
        QTRY_COMPARE_WITH_TIMEOUT(view->model().rowCount(), 1, kWait);
        QVERIFY(gui.console.api().accessToken() != firstToken);
        QCOMPARE(view->statusText(), QString());
        QCOMPARE(http.get(QStringLiteral("/api/v1/admin/users"), gui.console.api().accessToken().toUtf8()).status, 200);
    }

    void switchingTheLanguageRetranslatesLive()
    {
        Gui gui;
        MainWindow &w = gui.window;
        QCOMPARE(w.tabs()->tabText(0), QStringLiteral("Sessions"));
        QAction *chinese = w.languageAction(QStringLiteral("zh_CN"));
        QVERIFY(chinese);
        chinese->trigger();
        QCOMPARE(gui.language.language(), QStringLiteral("zh_CN"));
        QTRY_COMPARE(w.tabs()->tabText(0), QStringLiteral("会话")); // LanguageChange is posted to the widgets
        QCOMPARE(w.tabs()->tabText(3), QStringLiteral("用户"));
        QCOMPARE(w.sessionsView()->stopButton()->text(), QStringLiteral("停止本轮"));
        QCOMPARE(gui.console.sessions().headerData(SessionsModel::User, Qt::Horizontal).toString(), QStringLiteral("用户"));
        QCOMPARE(w.usersView()->disableButton()->text(), QStringLiteral("停用"));
        QCOMPARE(w.connectionText(), QStringLiteral("未连接。"));
        QCOMPARE(w.connectDialog()->windowTitle(), QStringLiteral("连接 tianyi 服务器"));
        QCOMPARE(gui.settings.value(QStringLiteral("ui/language")).toString(), QStringLiteral("zh_CN"));
        w.languageAction(QStringLiteral("en"))->trigger();
        QTRY_COMPARE(w.tabs()->tabText(0), QStringLiteral("Sessions"));
        QCOMPARE(w.sessionsView()->stopButton()->text(), QStringLiteral("Stop turn"));
    }
    // --help and --version answer where there is no display at all (ssh, CI): QApplication
    // would abort there, so they must be handled before it exists.
    void helpAndVersionNeedNoDisplay()
    {
        for (const QString &option : {QStringLiteral("--help"), QStringLiteral("--version")}) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            for (const char *name : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"})
                env.remove(QLatin1String(name));
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(TIANYI_BINARY_DIR "/admin-gui/tianyi-admin"), {option});
            QVERIFY2(p.waitForFinished(60000), qPrintable(option));
            const QString out = QString::fromUtf8(p.readAllStandardOutput());
            const QString err = QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                     qPrintable(QStringLiteral("%1: exit %2\n%3\n%4").arg(option).arg(p.exitCode()).arg(out, err)));
            if (option == QLatin1String("--help")) {
                QVERIFY2(out.startsWith(QStringLiteral("Usage: ")), qPrintable(out));
                for (const char *word : {"--server", "--user", "--connect", "--language", "--screenshots", "TIANYI_ADMIN_PASSWORD"})
                    QVERIFY2(out.contains(QLatin1String(word)), word);
            } else {
                QCOMPARE(out.trimmed(), QStringLiteral("tianyi-admin 0.1.0"));
            }
        }
    }

    void deviceShortNames_data()
    {
        QTest::addColumn<QString>("userAgent");
        QTest::addColumn<QString>("shortName");
        QTest::newRow("chrome-android") << QStringLiteral("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                                                          "Chrome/126.0.6478.122 Mobile Safari/537.36")
                                        << QStringLiteral("Chrome on Android");
        QTest::newRow("firefox-linux") << QStringLiteral("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
                                       << QStringLiteral("Firefox on Linux");
        QTest::newRow("firefox-ubuntu") << QStringLiteral("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0")
                                        << QStringLiteral("Firefox on Linux");
        QTest::newRow("safari-iphone") << QStringLiteral("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                                                         "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
                                       << QStringLiteral("Safari on iPhone");
        QTest::newRow("chrome-ios") << QStringLiteral("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                                                      "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1")
                                    << QStringLiteral("Chrome on iPhone");
        QTest::newRow("safari-mac") << QStringLiteral("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                                                      "Version/17.5 Safari/605.1.15")
                                    << QStringLiteral("Safari on macOS");
        QTest::newRow("edge-windows") << QStringLiteral("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                                        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87")
                                      << QStringLiteral("Edge on Windows");
        QTest::newRow("chrome-windows") << QStringLiteral("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                                          "Chrome/126.0.0.0 Safari/537.36")
                                        << QStringLiteral("Chrome on Windows");
        QTest::newRow("opera-windows") << QStringLiteral("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                                         "Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0")
                                       << QStringLiteral("Opera on Windows");
        QTest::newRow("samsung") << QStringLiteral("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
                                                   "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36")
                                 << QStringLiteral("Samsung Internet on Android");
        QTest::newRow("chromeos") << QStringLiteral("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
                                                    "Chrome/126.0.0.0 Safari/537.36")
                                  << QStringLiteral("Chrome on ChromeOS");
        QTest::newRow("tianyi-cli") << QStringLiteral("tianyi-cli/0.1.0") << QStringLiteral("tianyi-cli 0.1.0");
        QTest::newRow("curl") << QStringLiteral("curl/8.5.0") << QStringLiteral("curl 8.5.0");
        QTest::newRow("python") << QStringLiteral("Python/3.11 websockets/12.0") << QStringLiteral("Python 3.11");
        QTest::newRow("unknown-long") << QStringLiteral("a very long client description without any product token at all")
                                      << QStringLiteral("a very long client description…");
        QTest::newRow("empty") << QString() << QString();
    }

    void deviceShortNames()
    {
        QFETCH(QString, userAgent);
        QFETCH(QString, shortName);
        LanguageManager language;
        language.setLanguage(QStringLiteral("en"));
        QCOMPARE(shortDeviceName(userAgent), shortName);
        QVERIFY(shortName.size() <= kMaxDeviceChars);

        // In the sessions table: the short name in the cell, the whole string in its tooltip.
        SessionsModel model;
        model.reset(QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("s-1")},
                                           {QStringLiteral("username"), QStringLiteral("alice")},
                                           {QStringLiteral("device"), QJsonValue::Null},
                                           {QStringLiteral("user_agent"), userAgent.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(userAgent)}}});
        const QModelIndex cell = model.index(0, SessionsModel::Device);
        QCOMPARE(model.data(cell).toString(), shortName.isEmpty() ? QStringLiteral("–") : shortName);
        if (!userAgent.isEmpty())
            QCOMPARE(model.data(cell, Qt::ToolTipRole).toString(), QStringLiteral("User-Agent: ") + userAgent);
    }

    // A client's own ?device= name wins over the User-Agent; the tooltip shows both.
    void deviceNameOfTheClientWins()
    {
        LanguageManager language;
        language.setLanguage(QStringLiteral("en"));
        SessionsModel model;
        model.reset(QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("s-1")},
                                           {QStringLiteral("device"), QStringLiteral("pixel-7")},
                                           {QStringLiteral("user_agent"), QStringLiteral("Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile")}}});
        const QModelIndex cell = model.index(0, SessionsModel::Device);
        QCOMPARE(model.data(cell).toString(), QStringLiteral("pixel-7"));
        QCOMPARE(model.data(cell, Qt::ToolTipRole).toString(),
                 QStringLiteral("Device (as the client names itself): pixel-7\nUser-Agent: Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile"));
        language.setLanguage(QStringLiteral("zh_CN"));
        model.reset(QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("s-2")},
                                           {QStringLiteral("user_agent"), QStringLiteral("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")}}});
        QCOMPARE(model.data(model.index(0, SessionsModel::Device)).toString(), QStringLiteral("Linux 上的 Firefox"));
    }

    // Counts take the right plural form ("1 session", "2 sessions"), in both languages.
    void countsUsePluralForms()
    {
        Gui gui;
        QueueHistory history;
        QueuesView view(history);
        QueueSample one;
        one.sessions = 1;
        history.add(one);
        QVERIFY2(view.summaryText().startsWith(QStringLiteral("Now: 1 session;")), qPrintable(view.summaryText()));
        QVERIFY2(view.summaryText().contains(QStringLiteral("\n1 sample kept (at most 600).")), qPrintable(view.summaryText()));
        QueueSample two;
        two.sessions = 2;
        history.add(two);
        QVERIFY2(view.summaryText().startsWith(QStringLiteral("Now: 2 sessions;")), qPrintable(view.summaryText()));
        QVERIFY2(view.summaryText().contains(QStringLiteral("\n2 samples kept (at most 600).")), qPrintable(view.summaryText()));
        QTRY_COMPARE(gui.window.sessionsView()->countText(), QStringLiteral("0 sessions")); // after the LanguageChange of setLanguage("en")
        gui.sessions().reset(QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("s-1")}}});
        QCOMPARE(gui.window.sessionsView()->countText(), QStringLiteral("1 session"));

        gui.window.languageAction(QStringLiteral("zh_CN"))->trigger();
        QTRY_COMPARE(gui.window.sessionsView()->countText(), QStringLiteral("1 个会话"));
        QTRY_VERIFY2(view.summaryText().startsWith(QStringLiteral("当前：2 个会话；")), qPrintable(view.summaryText()));
        QVERIFY2(view.summaryText().contains(QStringLiteral("已保留 2 个采样（最多 600 个）。")), qPrintable(view.summaryText()));
    }

    // Every message on screen follows a language switch, also those shown before it: the
    // connection line with its keychain notice, an action's outcome, the connect dialog's error.
    void messagesFollowALanguageSwitch()
    {
        ChatFixture fx(fastOptions());
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        ChatTestClient c;
        QVERIFY(c.openAndHello(fx.port(), fx.user().token));
        const QString sid = sessionIdOf(c);
        Gui gui;
        gui.credentials.failWith = QStringLiteral("no secret service");
        gui.typeLogin(fx.port(), QStringLiteral("root"), kAdminPassword, true);
        QTRY_VERIFY_WITH_TIMEOUT(gui.console.feed().state() == AdminFeedClient::State::Live, kWait);
        QTRY_VERIFY_WITH_TIMEOUT(gui.window.connectionText().contains(QStringLiteral("password not saved")), kWait);
        const QString who = QStringLiteral("root@http://127.0.0.1:%1").arg(fx.port());
        QCOMPARE(gui.window.connectionText(), QStringLiteral("Live: %1 · password not saved: no secret service").arg(who));

        SessionsView *sessions = gui.window.sessionsView();
        QTRY_VERIFY_WITH_TIMEOUT(sessions->selectSession(sid), kWait);
        sessions->disconnectButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(sessions->statusText(), QStringLiteral("Disconnected session %1.").arg(sid), kWait);

        ConnectDialog *dialog = gui.window.connectDialog();
        dialog->serverEdit()->setText(QStringLiteral("ftp://nowhere"));
        dialog->attempt();
        QCOMPARE(dialog->errorText(), QStringLiteral("The server address is not a valid http(s) URL."));

        gui.window.languageAction(QStringLiteral("zh_CN"))->trigger();
        QTRY_COMPARE(gui.window.connectionText(), QStringLiteral("实时：%1 · 密码未保存：no secret service").arg(who));
        QCOMPARE(sessions->statusText(), QStringLiteral("已断开会话 %1。").arg(sid));
        QCOMPARE(dialog->errorText(), QStringLiteral("服务器地址不是有效的 http(s) URL。"));

        gui.window.languageAction(QStringLiteral("en"))->trigger();
        QTRY_COMPARE(gui.window.connectionText(), QStringLiteral("Live: %1 · password not saved: no secret service").arg(who));
        QCOMPARE(sessions->statusText(), QStringLiteral("Disconnected session %1.").arg(sid));
    }

    // With the built-in providers the LLM and TTS charts stay at 0: each says why, in the
    // current language, instead of looking broken.
    void builtInProvidersAreExplainedOnTheCharts()
    {
        ChatFixture::Options o = fastOptions();
        o.fakeLlm = false; // the demo responder
        o.fakeTts = false; // espeak-ng
        ChatFixture fx(o);
        QVERIFY2(fx.started(), qPrintable(fx.error()));
        makeAdmin(fx);
        Gui gui;
        QVERIFY(gui.connectAs(fx.port(), QStringLiteral("root")));
        QueuesView *view = gui.window.queuesView();
        QTRY_VERIFY_WITH_TIMEOUT(gui.console.queues().latest() != nullptr, kWait);
        QVERIFY(gui.console.queues().latest()->llmBuiltIn);
        QVERIFY(gui.console.queues().latest()->ttsBuiltIn);
        const QString llm = view->chartNote(QStringLiteral("llm"));
        QVERIFY2(llm.contains(QStringLiteral("built-in demo responder")) && llm.contains(QStringLiteral("llm.base_url")), qPrintable(llm));
        const QString tts = view->chartNote(QStringLiteral("tts"));
        QVERIFY2(tts.contains(QStringLiteral("espeak-ng")) && tts.contains(QStringLiteral("tts.base_urls")), qPrintable(tts));
        QCOMPARE(view->chartNote(QStringLiteral("load")), QString()); // sessions and the outbox are real either way

        gui.window.languageAction(QStringLiteral("zh_CN"))->trigger();
        QTRY_VERIFY2(view->chartNote(QStringLiteral("llm")).contains(QStringLiteral("内置")), qPrintable(view->chartNote(QStringLiteral("llm"))));
        QVERIFY2(view->chartNote(QStringLiteral("tts")).contains(QStringLiteral("espeak-ng")), qPrintable(view->chartNote(QStringLiteral("tts"))));

        // A sample from a server with real services: the notes go.
        QueueHistory history;
        QueuesView real(history);
        history.add(QueueSample::fromJson(QJsonObject{{QStringLiteral("llm"), QJsonObject{{QStringLiteral("built_in"), false}}},
                                                      {QStringLiteral("tts"), QJsonObject{{QStringLiteral("built_in"), false}}}},
                                          0));
        QCOMPARE(real.chartNote(QStringLiteral("llm")), QString());
        history.add(QueueSample::fromJson(QJsonObject{{QStringLiteral("llm"), QJsonObject{{QStringLiteral("built_in"), true}}},
                                                      {QStringLiteral("tts"), QJsonObject{{QStringLiteral("built_in"), false}}}},
                                          1000));
        QVERIFY(!real.chartNote(QStringLiteral("llm")).isEmpty());
        QCOMPARE(real.chartNote(QStringLiteral("tts")), QString());
    }
};

QTEST_MAIN(TestAdminGui)
#include "tst_admin_gui.moc"
