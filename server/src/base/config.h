#pragma once
// Typed configuration, read once at startup (defaults < config file < environment).
// Every key is declared in exactly one table (config.cpp); the docs, --print-config,
// the TIANYI_SECTION_KEY environment names and validation all come from that table.

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <functional>
#include <optional>
#include <vector>

namespace tianyi {

struct ServerSettings {
    QString listenAddress = QStringLiteral("127.0.0.1");
    int port = 8080;
    QString dataDir = QStringLiteral("./data");
    QString publicUrl;              // shown to users; derived from address/port when empty
    int shutdownTimeoutMs = 10000;  // how long in-flight work may finish after SIGTERM
    int workerThreads = 0;          // CPU pool (hashing, TTS, embeddings); 0 = number of cores
};

struct LimitSettings {
    int maxConnections = 10000;
    int maxConnectionsPerIp = 256;
    int idleTimeoutMs = 30000;         // HTTP connection with no complete request
    int maxHeaderBytes = 16384;        // request line + headers
    qint64 maxBodyBytes = 1 << 20;     // 413 beyond this, answered before the body is read
    int wsHandshakeTimeoutMs = 5000;
    int wsMaxMessageBytes = 1 << 20;
    int wsMaxSendQueueBytes = 4 << 20; // slow consumers beyond this are dropped
    qint64 maxUnsentBytes = 1 << 20;   // HTTP: no further request is read while more than this waits to be sent
    // Key server.trusted_proxies (addresses or CIDR subnets). Kept with the front door's settings
    // because the front door is the only reader: it takes the client address from Forwarded /
    // X-Forwarded-For only when the TCP peer is one of these.
    QStringList trustedProxies;
};

struct StorageSettings {
    QString sqlitePath;                // empty = <data_dir>/tianyi.sqlite3
    int busyTimeoutMs = 5000;
};

struct AuthSettings {
    QByteArray jwtSecret;              // empty = generated at first start into <data_dir>/jwt_secret (0600)
    int accessTokenTtlS = 900;
    int deviceTokenTtlDays = 365;      // long-lived tokens for devices that cannot log in (a VTuber client)
    int refreshTokenTtlS = 30 * 24 * 3600;
    int usernameMinLength = 2;
    int usernameMaxLength = 32;
    int passwordMinLength = 8;
    int passwordMaxLength = 256;
    int loginMaxFailures = 5;          // per (username, IP) pair and per IP, within the window
    int loginFailureWindowS = 300;
    int loginLockoutS = 60;
    int accountMaxFailures = 50;       // per username from all addresses together, within its window
    int accountFailureWindowS = 3600;
    int accountLockoutS = 900;
    int registerPerAddressMax = 20;    // registrations admitted per client address within the window
    int registerPerAddressWindowS = 3600;
    int registerGlobalMax = 60;        // registrations admitted server-wide within the window
    int registerGlobalWindowS = 60;
    int argon2OpsLimit = 2;            // crypto_pwhash opslimit (libsodium INTERACTIVE = 2)
    int argon2MemLimitKiB = 65536;     // crypto_pwhash memlimit (INTERACTIVE = 64 MiB)
};

struct LogSettings {
    QString format = QStringLiteral("text");   // text | json
    QString level = QStringLiteral("info");    // debug | info | warning: of the tianyi.* categories
    QString rules;                             // QLoggingCategory filter rules, e.g. "tianyi.db.debug=true"

    // The QLoggingCategory rules for level, then the explicit rules (which win).
    QString filterRules() const;
};

// Upstream AI services. An empty base_url selects the built-in offline provider.
struct LlmSettings {
    QString baseUrl;
    QByteArray apiKey;
    QString model = QStringLiteral("Qwen/Qwen2.5-7B-Instruct");
    double temperature = 0.8;
    int maxTokens = 512;
    int maxConcurrent = 64;
    int firstByteTimeoutMs = 20000;
    int inactivityTimeoutMs = 30000;
    int maxRetries = 2;
};

struct EmbeddingSettings {
    QString baseUrl;
    QByteArray apiKey;
    QString model = QStringLiteral("BAAI/bge-m3");
    int dimensions = 1024;
    int batchSize = 32;
    int timeoutMs = 15000;
};

struct TtsSettings {
    QStringList baseUrls;              // several GPT-SoVITS instances; empty = built-in espeak-ng
    int perBackendConcurrency = 1;
    bool streaming = true;
    int timeoutMs = 30000;
    int breakerFailures = 3;           // consecutive failures that rest a backend
    int breakerRestMs = 30000;
    int healthIntervalMs = 10000;
    QString textLang = QStringLiteral("zh");
    QString voicesFile;                // JSON: emotion id -> {ref_audio_path, prompt_text, prompt_lang}; empty = built-in voices
};

struct AsrSettings {
    // "openai": one POST /audio/transcriptions per utterance (SiliconFlow SenseVoice, whisper servers);
    // "funasr": FunASR's streaming WebSocket (2pass: partial transcripts while the user speaks).
    QString provider = QStringLiteral("openai");
    QString baseUrl;                   // empty = no speech input; http(s) for openai, ws(s) for funasr
    QByteArray apiKey;
    QString model = QStringLiteral("FunAudioLLM/SenseVoiceSmall");
    QString language;
    int timeoutMs = 30000;
    QString caFile;                    // funasr wss://: extra trusted certificates (PEM); exact matches are pinned
};

// Hands-free listening: voice activity detection and endpointing of the microphone stream
// (protocol "Listening (v1.1)"). Times are audio time (the stream's own frames), not wall clock,
// except maxSilentSeconds, which also runs while a client sends nothing.
struct VoiceSettings {
    int speechMinMs = 200;             // voiced audio that makes speech_start (shorter: a click, not speech)
    int endpointingMs = 600;           // silence after speech that ends the utterance
    int interruptionMinMs = 500;       // speech that confirms a barge-in while she speaks
    int maxUtteranceSeconds = 30;      // one utterance; longer is cut (error utterance_too_long)
    int maxSilentSeconds = 300;        // listening without any speech; then the stream is closed (error listen_timeout)
    int maxBytesPerSecond = 48000;     // PCM arrival rate cap (real time is 32000 B/s), averaged over a few seconds
    int echoGateDbfs = -35;            // while her voice may be playing: quieter frames are not speech
    int noiseSuppression = 1;          // WebRTC noise suppression before VAD: 0 off, 1..3 moderate..very high
};

// Conversation over the chat socket.
struct ChatSettings {
    QString persona = QStringLiteral("luotianyi");  // a card in resources/personas (by id) or a path to a JSON file
    int maxSessionsPerUser = 5;        // devices at once; one more is refused with close 4003
    int authTimeoutMs = 5000;          // a socket without ?token= must send {"type":"auth"} within this
    int pingIntervalMs = 20000;        // WebSocket ping period
    int pongTimeoutMs = 60000;         // no pong for this long -> the socket is closed
    int turnsPerMinute = 20;           // per user, across devices; beyond it: error rate_limited + retry_after_ms
    int maxTextChars = 2000;           // chat text
    int maxMalformed = 5;              // malformed messages before close 4002
    int recentTurns = 10;              // finished turns replayed into the prompt
    int maxSentenceChars = 80;
    bool earlyFirstClause = true;
    int firstClauseMinChars = 4;
    int ttsQueueMax = 2000;            // sentences waiting for synthesis, all sessions together
    int maxAudioInputSeconds = 60;     // speech input
    int maxAudioInputBytes = 4 << 20;
};

// Budgets of the prompt's slots, in estimated tokens (dialog/promptbudget.h says how they are estimated).
struct PromptSettings {
    int personaTokens = 800;       // persona text
    int summaryTokens = 400;       // rolling summary of older turns (its newest part is kept)
    int memoriesTokens = 300;      // this user's memories, best first
    int knowledgeTokens = 500;     // knowledge-graph facts, best first
    int recentTurnsTokens = 1500;  // replayed turns, newest kept
    int userTextTokens = 600;      // the new message (its start is kept)
};

// Synthesized audio kept on disk for replay.
struct AudioRetentionSettings {
    bool keep = true;
    qint64 maxBytes = qint64(1) << 30; // oldest files are removed beyond this
    int maxDays = 30;
};

struct WebSettings {
    QString live2dDir;    // served at /live2d/; empty: nothing served there
    QString live2dModel;  // the .model3.json relative to live2dDir; empty: the drawn avatar only
};

// Endpoints for clients of other projects, each off unless enabled.
struct CompatSettings {
    bool olvEnabled = false;           // Open-LLM-VTuber's frontend protocol
    QString olvPath = QStringLiteral("/client-ws");
    int olvPlaybackTimeoutMs = 30000;  // waiting for frontend-playback-complete (OLV's own server waits forever)
};

struct Config {
    ServerSettings server;
    LimitSettings limits;
    StorageSettings storage;
    AuthSettings auth;
    LogSettings log;
    LlmSettings llm;
    EmbeddingSettings embedding;
    TtsSettings tts;
    AsrSettings asr;
    VoiceSettings voice;
    ChatSettings chat;
    PromptSettings prompt;
    AudioRetentionSettings audio;
    WebSettings web;
    CompatSettings compat;

    QString sqlitePath() const;
};

// One configurable key: "section.key", its environment name TIANYI_SECTION_KEY,
// its default, its documentation, and how to parse it into a Config.
struct ConfigKey {
    QString name;
    QString defaultText;
    QString description;
    bool secret = false;
    // Parses text into cfg; returns an error message (without the key name) or empty.
    std::function<QString(const QString &text, Config &cfg)> apply;
    std::function<QString(const Config &cfg)> show;

    QString envName() const;
};

const std::vector<ConfigKey> &configKeys();

struct ConfigLoadResult {
    std::optional<Config> config;
    QString error;        // names the key (or file line) that is wrong
    QStringList warnings; // unknown TIANYI_* variables, each with the closest key's name
};

// Environment variables of the tianyi programs that are not configuration keys (not warned about).
extern const QStringList kNonConfigEnvironment;

// Loads defaults, then the optional INI-style file, then TIANYI_* environment variables.
// Unknown keys in the file are errors; an unknown TIANYI_* variable is a warning naming the closest
// key (the environment is shared with other programs, but a typo must not be silent).
ConfigLoadResult loadConfig(const QString &filePath, const QStringList &environment);

// The effective configuration as a config file (secrets shown as "<set>").
QString renderConfig(const Config &cfg);
// Markdown table of every key, for docs/configuration.md.
QString renderConfigReference();

} // namespace tianyi
