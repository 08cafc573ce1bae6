#pragma once
// Composition root: builds every component from the Config, wires routes, starts and stops them.
// Used by main() and, in-process, by the tests, so both run the same server.

#include "base/config.h"

#include <QObject>
#include <QTimer>
#include <memory>

namespace tianyi {

class AccountService;
class AdminFeed;
class AdminService;
class AsrProvider;
class AudioStore;
class ChatGateway;
class Database;
class Embedder;
class FrontDoor;
class KnowledgeBase;
class LlmProvider;
class MemoryService;
class Metrics;
class PromptContextCache;
class Providers;
class Router;
class SystemdNotifier;
class TtsProvider;
class TtsScheduler;
class TtsVoiceBook;
class WorkerPool;
struct PersonaCard;

class Application : public QObject
{
    Q_OBJECT
public:
    explicit Application(Config config, QObject *parent = nullptr);
    ~Application() override;

    // Prepares the data directory, opens the database, listens. Returns false with a message on failure.
    bool start(QString *error);
    // Graceful stop: no new connections, in-flight requests get up to server.shutdown_timeout_ms,
    // then the database is closed. Emits stopped() when done.
    void shutdown();

    quint16 port() const;
    QString baseUrl() const;   // where to point a browser or curl
    const Config &config() const { return m_config; }
    Router &router() { return *m_router; }
    FrontDoor &frontDoor() { return *m_frontDoor; }
    Database &database() { return *m_database; }
    Metrics &metrics() { return *m_metrics; }
    WorkerPool &workers() { return *m_workers; }
    // The AI services chosen by configuration (real clients or built-ins); valid after start().
    LlmProvider &llm();
    TtsProvider &tts();
    Embedder &embedder();
    AsrProvider *asr();          // null when speech input is not configured
    const TtsVoiceBook &voices() const;
    // The parts, valid after start().
    AccountService &accounts() { return *m_accounts; }   // also holds the AuthGuard for other routes
    ChatGateway &chat() { return *m_chat; }              // sessions, the TTS scheduler, prompt contexts
    AudioStore &audioStore() { return *m_audioStore; }   // kept sentence audio and its retention
    MemoryService &memory() { return *m_memory; }        // index, outbox worker, extraction, account deletion
    AdminService &admin() { return *m_admin; }           // the admin API's state and actions

signals:
    void stopped();

private:
    void registerOperationalRoutes();
    bool startChat(QString *error);
    void finishShutdown();

    Config m_config;
    std::unique_ptr<Metrics> m_metrics;
    std::unique_ptr<Router> m_router;
    std::unique_ptr<WorkerPool> m_workers;
    std::unique_ptr<Database> m_database;
    std::unique_ptr<Providers> m_providers;
    // Members go in reverse order: each one below may use those above it.
    std::unique_ptr<AccountService> m_accounts;
    std::unique_ptr<AudioStore> m_audioStore;
    std::unique_ptr<MemoryService> m_memory;     // its storage work ends when the database closes (before members go)
    std::unique_ptr<KnowledgeBase> m_knowledge;
    std::unique_ptr<PersonaCard> m_persona;
    std::unique_ptr<TtsScheduler> m_ttsScheduler;
    std::unique_ptr<PromptContextCache> m_promptContexts;
    std::unique_ptr<ChatGateway> m_chat;
    std::unique_ptr<AdminService> m_admin;
    std::unique_ptr<AdminFeed> m_adminFeed;
    FrontDoor *m_frontDoor = nullptr;
    std::unique_ptr<SystemdNotifier> m_systemd; // READY/STOPPING/WATCHDOG for a Type=notify unit
    QTimer m_shutdownPoll;
    qint64 m_shutdownDeadline = 0;
    bool m_stopping = false;
};

} // namespace tianyi
