#include "app/application.h"

#include "admin/adminfeed.h"
#include "admin/adminroutes.h"
#include "admin/adminservice.h"
#include "compat/olvwire.h"
#include "app/systemdnotifier.h"
#include "auth/accountroutes.h"
#include "auth/accountservice.h"
#include "base/logging.h"
#include "core/workerpool.h"
#include "dialog/chatgateway.h"
#include "dialog/tianyiwire.h"
#include "dialog/ttsscheduler.h"
#include "history/audiostore.h"
#include "history/historyroutes.h"
#include "knowledge/knowledgebase.h"
#include "memory/memoryroutes.h"
#include "memory/memoryservice.h"
#include "memory/summarycompressor.h"
#include "metrics/metrics.h"
#include "net/frontdoor.h"
#include "net/router.h"
#include "net/staticfiles.h"
#include "prompt/personacard.h"
#include "prompt/promptcontextcache.h"
#include "storage/database.h"
#include "tianyi/chatprotocol.h"
#include "upstream/providers.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QJsonObject>

namespace tianyi {

namespace {
constexpr int kShutdownPollMs = 20;
constexpr int kMaxQueuedCpuJobs = 1000;
constexpr int kMaxQueuedStorageJobs = 20000;
} // namespace

Application::Application(Config config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_metrics(std::make_unique<Metrics>())
    , m_router(std::make_unique<Router>())
    , m_systemd(std::make_unique<SystemdNotifier>())
{
    m_shutdownPoll.setInterval(kShutdownPollMs);
    connect(&m_shutdownPoll, &QTimer::timeout, this, [this]() {
        const bool drained = m_frontDoor->busyHttpConnections() == 0 && m_workers->queued() == 0 && m_database->queued() == 0;
        if (drained || QDateTime::currentMSecsSinceEpoch() >= m_shutdownDeadline)
            finishShutdown();
    });
}

Application::~Application()
{
    m_adminFeed.reset(); // the feed and the admin service go before the chat they watch
    m_admin.reset();
    m_chat.reset(); // sessions and turns go before what they use: the front door, the providers, the database
    if (m_frontDoor)
        m_frontDoor->close();
    delete m_frontDoor;
    m_frontDoor = nullptr;
    if (m_workers)
        m_workers->waitForDone();
    if (m_database)
        m_database->close();
}

bool Application::start(QString *error)
{
    QDir dataDir(m_config.server.dataDir);
    if (!dataDir.exists() && !QDir().mkpath(dataDir.absolutePath())) {
        *error = QStringLiteral("server.data_dir: cannot create %1").arg(dataDir.absolutePath());
        return false;
    }
    // The data directory holds the database and secrets: owner only.
    QFile::setPermissions(dataDir.absolutePath(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);

    m_workers = std::make_unique<WorkerPool>(m_config.server.workerThreads, kMaxQueuedCpuJobs);
    m_database = std::make_unique<Database>(m_config.sqlitePath(), m_config.storage.busyTimeoutMs, kMaxQueuedStorageJobs);
    if (!m_database->open(error))
        return false;

    m_metrics->declareGaugeCallback(QStringLiteral("tianyi_queue_depth"), QStringLiteral("Jobs waiting, by queue."), [this]() {
        return QList<QPair<Labels, double>>{{{{QStringLiteral("queue"), QStringLiteral("storage")}}, double(m_database->queued())},
                                            {{{QStringLiteral("queue"), QStringLiteral("cpu")}}, double(m_workers->queued())}};
    });

    m_providers = Providers::create(m_config, *m_workers, *m_metrics, error);
    if (!m_providers)
        return false;

    m_frontDoor = new FrontDoor(m_config.limits, *m_router, *m_metrics);
    registerOperationalRoutes();

    // Accounts, tokens, profile.
    m_accounts = AccountService::create(m_config, *m_database, *m_workers, *m_metrics, error);
    if (!m_accounts)
        return false;
    registerAccountRoutes(*m_router, *m_accounts);

    // Stored turns, audio replay and retention. start() fails the turns a crash left pending; it
    // runs before we listen, so before any new turn.
    m_audioStore = std::make_unique<AudioStore>(m_config.audio, m_config.server.dataDir, *m_database, *m_workers, *m_metrics);
    m_audioStore->start();

    // Long-term memories (retrieved into each prompt), the outbox worker (memory extraction and
    // summaries after each completed turn) and account deletion.
    {
        MemoryService::Deps deps;
        deps.db = m_database.get();
        deps.metrics = m_metrics.get();
        deps.llm = &llm();
        deps.embedder = &embedder();
        deps.audio = m_audioStore.get();
        deps.cpu = m_workers.get();
        m_memory = std::make_unique<MemoryService>(deps);
        m_memory->start();
        registerMemoryRoutes(*m_router, *m_accounts, *m_memory);
    }

    // The shared knowledge graph: the bundled import (when needed) and the alias index are queued on
    // the storage thread now, before we listen, so every turn's prompt read comes after them.
    m_knowledge = std::make_unique<KnowledgeBase>(*m_database);
    m_knowledge->start();

    // The conversation: the /ws socket, sessions, turns, and what they share.
    if (!startChat(error))
        return false;

    // The admin API and its live feed.
    {
        AdminServices admin;
        admin.db = m_database.get();
        admin.accounts = m_accounts.get();
        admin.chat = m_chat.get();
        admin.audio = m_audioStore.get();
        admin.llm = &llm();
        admin.tts = &tts();
        admin.outbox = &m_memory->outbox();
        admin.extraQueues = [this]() {
            return QJsonObject{{QStringLiteral("storage_queued"), m_database->queued()}, {QStringLiteral("cpu_queued"), m_workers->queued()}};
        };
        m_admin = std::make_unique<AdminService>(admin);
        registerAdminRoutes(*m_router, *m_admin);
        m_adminFeed = std::make_unique<AdminFeed>(*m_admin, *m_chat, m_config);
        m_adminFeed->attach(m_frontDoor->addWebSocketEndpoint(QStringLiteral("/ws/admin")));
    }

    QHostAddress address;
    if (!address.setAddress(m_config.server.listenAddress)) {
        *error = QStringLiteral("server.listen_address: \"%1\" is not an IP address").arg(m_config.server.listenAddress);
        return false;
    }
    if (!m_frontDoor->listen(address, quint16(m_config.server.port))) {
        *error = QStringLiteral("server.port: cannot listen on %1:%2: %3")
                     .arg(m_config.server.listenAddress).arg(m_config.server.port).arg(m_frontDoor->errorString());
        return false;
    }
    qCInfo(lcApp).noquote() << "listening on" << baseUrl();
    m_systemd->ready(QStringLiteral("listening on ") + baseUrl());
    return true;
}

bool Application::startChat(QString *error)
{
    std::optional<PersonaCard> persona = PersonaCard::load(m_config.chat.persona, error);
    if (!persona)
        return false;
    m_persona = std::make_unique<PersonaCard>(std::move(*persona));
    qCInfo(lcApp).noquote() << "persona:" << m_persona->name << "from" << PersonaCard::resolvePath(m_config.chat.persona) << "with"
                            << m_persona->emotions.size() << "emotions";
    m_ttsScheduler = std::make_unique<TtsScheduler>(tts(), m_config.chat.ttsQueueMax, m_metrics.get());
    m_promptContexts = std::make_unique<PromptContextCache>(*m_database, m_metrics.get(), m_config.chat.recentTurns);

    TurnServices chat;
    chat.config = &m_config;
    chat.persona = m_persona.get();
    chat.db = m_database.get();
    chat.metrics = m_metrics.get();
    chat.accounts = m_accounts.get();
    chat.llm = &llm();
    chat.tts = m_ttsScheduler.get();
    chat.contexts = m_promptContexts.get();
    chat.memory = m_memory.get();
    chat.knowledge = m_knowledge.get();
    chat.voices = &voices();
    chat.audio = m_audioStore.get();
    chat.asr = asr();
    m_chat = std::make_unique<ChatGateway>(chat);
    m_chat->attach(m_frontDoor->addWebSocketEndpoint(QStringLiteral("/ws")), []() { return std::make_unique<TianyiWire>(); });
    if (m_config.compat.olvEnabled) {
        const CompatSettings &compat = m_config.compat;
        m_chat->attach(m_frontDoor->addWebSocketEndpoint(compat.olvPath), [&compat]() { return std::make_unique<olv::OlvWire>(compat); });
    }

    // A deleted account's open sockets end at once (its token no longer names a user).
    connect(m_memory.get(), &MemoryService::accountDeleted, m_chat.get(), [gateway = m_chat.get()](qint64 userId) {
        gateway->closeSessionsOf(userId, chat::kCloseUnauthorized, QStringLiteral("the account was deleted"));
    });
    // Signing out everywhere and a password change end every login of the account, open sockets too.
    connect(m_accounts.get(), &AccountService::sessionsRevoked, m_chat.get(), [gateway = m_chat.get()](qint64 userId) {
        gateway->closeSessionsOf(userId, chat::kCloseUnauthorized, QStringLiteral("signed out everywhere or password changed"));
    });
    // Logging one device out (or a refresh token reused by a thief) ends that login's sockets.
    connect(m_accounts.get(), &AccountService::loginRevoked, m_chat.get(), [gateway = m_chat.get()](qint64 userId, const QString &loginId) {
        gateway->closeSessionsOfLogin(userId, loginId, chat::kCloseUnauthorized, QStringLiteral("this login was logged out"));
    });
    // What a turn's prompt holds of the user changes with their profile and their rolling summary.
    PromptContextCache *contexts = m_promptContexts.get();
    connect(m_accounts.get(), &AccountService::profileChanged, contexts, &PromptContextCache::changed);
    connect(&m_memory->summaries(), &SummaryCompressor::summaryStored, contexts, &PromptContextCache::changed);
    registerHistoryRoutes(*m_router, *m_accounts, *m_database, *m_audioStore, *contexts); // deleting a conversation changes contexts
    return true;
}

LlmProvider &Application::llm() { return m_providers->llm(); }
TtsProvider &Application::tts() { return m_providers->tts(); }
Embedder &Application::embedder() { return m_providers->embedder(); }
AsrProvider *Application::asr() { return m_providers->asr(); }
const TtsVoiceBook &Application::voices() const { return m_providers->voices(); }

quint16 Application::port() const
{
    return m_frontDoor ? m_frontDoor->serverPort() : 0;
}

QString Application::baseUrl() const
{
    if (!m_config.server.publicUrl.isEmpty())
        return m_config.server.publicUrl;
    QString host = m_config.server.listenAddress;
    if (host == QLatin1String("0.0.0.0") || host == QLatin1String("::"))
        host = QStringLiteral("127.0.0.1");
    if (host.contains(QLatin1Char(':')))
        host = QLatin1Char('[') + host + QLatin1Char(']');
    return QStringLiteral("http://%1:%2").arg(host).arg(port());
}

void Application::registerOperationalRoutes()
{
    m_router->add("GET", QStringLiteral("/healthz"), [](const HttpRequest &, Responder r) {
        r.send(HttpResponse::json(200, QJsonObject{{QStringLiteral("status"), QStringLiteral("ok")}}));
    });
    m_router->add("GET", QStringLiteral("/readyz"), [this](const HttpRequest &, Responder r) {
        m_database->read<int>(this, [](SqlSession &s) { return s.scalar(QStringLiteral("SELECT 1"))->toInt(); },
                              [r, providers = m_providers->describe()](DbResult<int> result) {
                                  const bool dbOk = result.ok() && *result.value == 1;
                                  // The database's own error text (paths, SQL) is for the log, not for whoever asks.
                                  if (!dbOk)
                                      qCWarning(lcApp) << "readiness check: the database is unavailable:" << result.error;
                                  QJsonObject checks{{QStringLiteral("database"), dbOk ? QStringLiteral("ok") : QStringLiteral("unavailable")}};
                                  r.send(HttpResponse::json(dbOk ? 200 : 503,
                                                            QJsonObject{{QStringLiteral("status"), dbOk ? QStringLiteral("ready") : QStringLiteral("not_ready")},
                                                                        {QStringLiteral("checks"), checks},
                                                                        {QStringLiteral("providers"), providers}}));
                              });
    });
    // The web client (resources/web, compiled in as ":/web"): "/" is index.html, other GETs no route
    // matched are its files (net/staticfiles.h); web.live2d_dir is served at /live2d/.
    StaticDiskMount live2d;
    if (!m_config.web.live2dDir.isEmpty()) {
        live2d.urlPrefix = QStringLiteral("/live2d");
        live2d.dir = QDir::cleanPath(QDir(m_config.web.live2dDir).absolutePath());
        live2d.workers = m_workers.get();
        live2d.anyOrigin = m_config.compat.olvEnabled; // Open-LLM-VTuber clients load the model from another origin
    }
    registerStaticFiles(*m_router, QStringLiteral(":/web"), live2d);
    m_router->add("GET", QStringLiteral("/metrics"), [this](const HttpRequest &, Responder r) {
        r.send(HttpResponse::text(200, m_metrics->render(), "text/plain; version=0.0.4; charset=utf-8"));
    });
}

void Application::shutdown()
{
    if (m_stopping)
        return;
    m_stopping = true;
    if (!m_frontDoor) {
        emit stopped();
        return;
    }
    m_systemd->stopping();
    qCInfo(lcApp) << "shutting down: no new connections; waiting up to" << m_config.server.shutdownTimeoutMs << "ms for in-flight work";
    m_frontDoor->stopAccepting();
    m_frontDoor->closeIdleHttpConnections();
    // Running turns end as interrupted (stored with what was heard) and clients learn why.
    if (m_chat)
        m_chat->closeAll(chat::kCloseServerShutdown, QStringLiteral("server shutting down"));
    if (m_adminFeed)
        m_adminFeed->closeAll(chat::kCloseServerShutdown, QStringLiteral("server shutting down"));
    m_shutdownDeadline = QDateTime::currentMSecsSinceEpoch() + m_config.server.shutdownTimeoutMs;
    m_shutdownPoll.start();
}

void Application::finishShutdown()
{
    m_shutdownPoll.stop();
    const int unfinished = m_frontDoor->busyHttpConnections();
    if (unfinished > 0)
        qCWarning(lcApp) << "shutdown timeout: aborting" << unfinished << "unfinished requests";
    m_frontDoor->abortAll();
    m_workers->waitForDone();
    m_database->close();
    qCInfo(lcApp) << "stopped";
    emit stopped();
}

} // namespace tianyi
