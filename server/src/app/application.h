#pragma once
// Composition root: builds every component from the Config, wires routes, starts and stops them.
// Used by main() and, in-process, by the tests, so both run the same server.

#include "app/config.h"

#include <QObject>
#include <QTimer>
#include <memory>

namespace tianyi {

class AccountService; // auth: accounts, tokens, profile
class ChatGateway;    // chat: the /ws endpoint, sessions, turns
class AudioStore;     // history: kept sentence audio and its retention
class Database;
class FrontDoor;
class Metrics;
class Router;
class WorkerPool;
class Providers;
class LlmProvider;
class TtsProvider;
class Embedder;
class AsrProvider;
class TtsVoiceBook;
class MemoryService;  // memory: long-term memories, outbox jobs, account deletion
class AdminService;   // admin: the admin API
class AdminFeed;      // admin: /ws/admin

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
    AccountService &accounts() { return *m_accounts; } // auth: also holds the AuthGuard for other routes
    ChatGateway &chat() { return *m_chat; } // chat: sessions and the TTS scheduler
    AudioStore &audioStore() { return *m_audioStore; } // history: keep sentence audio, removeUser() on account deletion
    MemoryService &memory() { return *m_memory; } // memory: index, outbox worker, extraction; valid after start()
    AdminService &admin() { return *m_admin; } // admin: the admin API's state and actions

signals:
    void stopped();

private:
    void registerOperationalRoutes();
    void finishShutdown();

    Config m_config;
    std::unique_ptr<Metrics> m_metrics;
    std::unique_ptr<Router> m_router;
    std::unique_ptr<WorkerPool> m_workers;
    std::unique_ptr<Database> m_database;
    std::unique_ptr<Providers> m_providers;
    std::unique_ptr<AccountService> m_accounts; // auth: destroyed before the database and the pool it uses
    std::unique_ptr<AudioStore> m_audioStore;   // history: after m_accounts; declare users of it (dialog) below it
    std::unique_ptr<ChatGateway> m_chat;         // chat: uses the providers, accounts and audio store above
    std::unique_ptr<MemoryService> m_memory;     // memory: its storage work ends when the database closes (before members go)
    std::unique_ptr<AdminService> m_admin;       // admin: uses chat, accounts, storage; destroyed before m_chat
    std::unique_ptr<AdminFeed> m_adminFeed;      // admin: /ws/admin sockets
    FrontDoor *m_frontDoor = nullptr;
    QTimer m_shutdownPoll;
    qint64 m_shutdownDeadline = 0;
    bool m_stopping = false;
};

} // namespace tianyi
