#include "base/config.h"

#include "base/servablepath.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QHostAddress>
#include <QTextStream>
#include <QUrl>
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

namespace tianyi {

QString Config::sqlitePath() const
{
    if (!storage.sqlitePath.isEmpty())
        return storage.sqlitePath;
    return QDir(server.dataDir).filePath(QStringLiteral("tianyi.sqlite3"));
}

const QStringList kNonConfigEnvironment = {
    QStringLiteral("TIANYI_ADMIN_PASSWORD"),  // tianyi-server --create-admin
    QStringLiteral("TIANYI_CLI_PASSWORD"),    // tianyi-cli
    QStringLiteral("TIANYI_WEB_DIR"),         // the browser tests: the page's files from disk
    QStringLiteral("TIANYI_SERVER_BIN"),      // the benchmark and test scripts: which binaries to start
    QStringLiteral("TIANYI_FAKE_BIN"),
    QStringLiteral("TIANYI_TEST_JOBS"),       // tests/run.sh: ctest parallelism
};

QString LogSettings::filterRules() const
{
    QString out;
    if (level == QLatin1String("debug"))
        out = QStringLiteral("tianyi.*.debug=true");
    else if (level == QLatin1String("warning"))
        out = QStringLiteral("tianyi.*.debug=false\ntianyi.*.info=false");
    else
        out = QStringLiteral("tianyi.*.debug=false");
    if (!rules.isEmpty())
        out += QLatin1Char('\n') + QString(rules).replace(QLatin1Char(';'), QLatin1Char('\n'));
    return out;
}

QString ConfigKey::envName() const
{
    QString n = name.toUpper();
    n.replace(QLatin1Char('.'), QLatin1Char('_'));
    return QStringLiteral("TIANYI_") + n;
}

namespace {

template <typename T>
using Field = std::function<T &(Config &)>;

// Integers, byte counts and reals: one way to parse, range-check and show a number. Parsed is the
// type read and compared (qint64 or double), T the field's.
template <typename T, typename Parsed>
ConfigKey numberKey(const char *name, Field<T> field, Parsed min, Parsed max, const char *doc, const char *expected)
{
    ConfigKey k;
    k.name = QString::fromLatin1(name);
    k.description = QString::fromUtf8(doc);
    Config defaults;
    k.defaultText = QString::number(field(defaults));
    k.apply = [field, min, max, expected](const QString &text, Config &cfg) -> QString {
        bool ok = false;
        Parsed v{};
        if constexpr (std::is_floating_point_v<Parsed>)
            v = text.trimmed().toDouble(&ok);
        else
            v = text.trimmed().toLongLong(&ok);
        if (!ok)
            return QStringLiteral("expected %1, got \"%2\"").arg(QLatin1String(expected), text);
        if (v < min || v > max)
            return QStringLiteral("must be between %1 and %2, got %3").arg(min).arg(max).arg(v);
        field(cfg) = T(v);
        return {};
    };
    k.show = [field](const Config &cfg) { return QString::number(field(const_cast<Config &>(cfg))); };
    return k;
}

ConfigKey integerKey(const char *name, Field<int> field, qint64 min, qint64 max, const char *doc)
{
    return numberKey<int, qint64>(name, std::move(field), min, max, doc, "an integer");
}

ConfigKey bytesKey(const char *name, Field<qint64> field, qint64 min, qint64 max, const char *doc)
{
    return numberKey<qint64, qint64>(name, std::move(field), min, max, doc, "a number of bytes");
}

ConfigKey realKey(const char *name, Field<double> field, double min, double max, const char *doc)
{
    return numberKey<double, double>(name, std::move(field), min, max, doc, "a number");
}

ConfigKey boolKey(const char *name, Field<bool> field, const char *doc)
{
    ConfigKey k;
    k.name = QString::fromLatin1(name);
    k.description = QString::fromUtf8(doc);
    Config defaults;
    k.defaultText = field(defaults) ? QStringLiteral("true") : QStringLiteral("false");
    k.apply = [field](const QString &text, Config &cfg) -> QString {
        const QString t = text.trimmed().toLower();
        if (t == QLatin1String("true") || t == QLatin1String("1") || t == QLatin1String("yes") || t == QLatin1String("on"))
            field(cfg) = true;
        else if (t == QLatin1String("false") || t == QLatin1String("0") || t == QLatin1String("no") || t == QLatin1String("off"))
            field(cfg) = false;
        else
            return QStringLiteral("expected true or false, got \"%1\"").arg(text);
        return {};
    };
    k.show = [field](const Config &cfg) { return field(const_cast<Config &>(cfg)) ? QStringLiteral("true") : QStringLiteral("false"); };
    return k;
}

using TextCheck = std::function<QString(const QString &)>;

ConfigKey textKey(const char *name, Field<QString> field, const char *doc, TextCheck check = {})
{
    ConfigKey k;
    k.name = QString::fromLatin1(name);
    k.description = QString::fromUtf8(doc);
    Config defaults;
    k.defaultText = field(defaults);
    k.apply = [field, check](const QString &text, Config &cfg) -> QString {
        const QString v = text.trimmed();
        if (check) {
            const QString err = check(v);
            if (!err.isEmpty())
                return err;
        }
        field(cfg) = v;
        return {};
    };
    k.show = [field](const Config &cfg) { return field(const_cast<Config &>(cfg)); };
    return k;
}

ConfigKey secretKey(const char *name, Field<QByteArray> field, const char *doc, int minLength = 0)
{
    ConfigKey k;
    k.name = QString::fromLatin1(name);
    k.description = QString::fromUtf8(doc);
    k.secret = true;
    k.apply = [field, minLength](const QString &text, Config &cfg) -> QString {
        const QByteArray v = text.trimmed().toUtf8();
        if (!v.isEmpty() && v.size() < minLength)
            return QStringLiteral("must be at least %1 bytes long").arg(minLength);
        field(cfg) = v;
        return {};
    };
    k.show = [field](const Config &cfg) {
        return field(const_cast<Config &>(cfg)).isEmpty() ? QString() : QStringLiteral("<set>");
    };
    return k;
}

QString checkUrl(const QString &v)
{
    if (v.isEmpty())
        return {};
    const QUrl url(v, QUrl::StrictMode);
    if (!url.isValid() || (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) || url.host().isEmpty())
        return QStringLiteral("expected an http:// or https:// URL, got \"%1\"").arg(v);
    return {};
}

// Either provider's endpoint; crossCheck pairs the scheme with asr.provider.
QString checkAsrUrl(const QString &v)
{
    if (v.isEmpty())
        return {};
    const QUrl url(v, QUrl::StrictMode);
    const QString scheme = url.scheme();
    if (!url.isValid() || url.host().isEmpty()
        || (scheme != QLatin1String("http") && scheme != QLatin1String("https") && scheme != QLatin1String("ws")
            && scheme != QLatin1String("wss")))
        return QStringLiteral("expected an http(s):// or ws(s):// URL, got \"%1\"").arg(v);
    return {};
}

// A comma-separated list; each entry is trimmed and checked on its own.
ConfigKey listKey(const char *name, Field<QStringList> field, const char *doc, TextCheck checkEntry)
{
    ConfigKey k;
    k.name = QString::fromLatin1(name);
    k.description = QString::fromUtf8(doc);
    k.apply = [field, checkEntry](const QString &text, Config &cfg) -> QString {
        QStringList entries;
        for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QString entry = part.trimmed();
            if (entry.isEmpty())
                continue;
            const QString err = checkEntry(entry);
            if (!err.isEmpty())
                return err;
            entries << entry;
        }
        field(cfg) = entries;
        return {};
    };
    k.show = [field](const Config &cfg) { return field(const_cast<Config &>(cfg)).join(QLatin1Char(',')); };
    return k;
}

ConfigKey urlListKey(const char *name, Field<QStringList> field, const char *doc)
{
    return listKey(name, field, doc, checkUrl);
}

QString checkAddressOrSubnet(const QString &v)
{
    const bool subnet = v.contains(QLatin1Char('/'));
    if (subnet ? QHostAddress::parseSubnet(v).first.isNull() : QHostAddress(v).isNull())
        return QStringLiteral("expected an IPv4/IPv6 address or a CIDR subnet, got \"%1\"").arg(v);
    return {};
}

ConfigKey trustedProxiesKey(const char *name, Field<QStringList> field, const char *doc)
{
    return listKey(name, field, doc, checkAddressOrSubnet);
}

TextCheck oneOf(QStringList allowed)
{
    return [allowed](const QString &v) -> QString {
        if (allowed.contains(v))
            return {};
        return QStringLiteral("expected one of %1, got \"%2\"").arg(allowed.join(QStringLiteral(", ")), v);
    };
}

constexpr qint64 kMaxInt = std::numeric_limits<int>::max();

std::vector<ConfigKey> buildKeys()
{
    std::vector<ConfigKey> keys;
    // server
    keys.push_back(textKey("server.listen_address", [](Config &c) -> QString & { return c.server.listenAddress; },
                           "Address to listen on (use 0.0.0.0 behind a reverse proxy on another host).",
                           [](const QString &v) { return v.isEmpty() ? QStringLiteral("must not be empty") : QString(); }));
    keys.push_back(integerKey("server.port", [](Config &c) -> int & { return c.server.port; }, 0, 65535,
                              "TCP port for HTTP and WebSocket (one port). 0 picks a free port."));
    keys.push_back(textKey("server.data_dir", [](Config &c) -> QString & { return c.server.dataDir; },
                           "Directory for the database, the JWT secret and synthesized audio.",
                           [](const QString &v) { return v.isEmpty() ? QStringLiteral("must not be empty") : QString(); }));
    keys.push_back(textKey("server.public_url", [](Config &c) -> QString & { return c.server.publicUrl; },
                           "URL users reach the server at (printed at startup). Empty: derived from address and port.", checkUrl));
    keys.push_back(integerKey("server.shutdown_timeout_ms", [](Config &c) -> int & { return c.server.shutdownTimeoutMs; }, 0, 600000,
                              "On SIGTERM/SIGINT, how long in-flight requests may take to finish."));
    keys.push_back(integerKey("server.worker_threads", [](Config &c) -> int & { return c.server.workerThreads; }, 0, 256,
                              "Threads for CPU work (password hashing, local TTS, embeddings). 0 = one per core."));
    keys.push_back(trustedProxiesKey("server.trusted_proxies", [](Config &c) -> QStringList & { return c.limits.trustedProxies; },
                                     "Reverse proxies (comma-separated IPv4/IPv6 addresses or CIDR subnets, e.g. 127.0.0.1,::1,10.0.0.0/8) whose "
                                     "Forwarded / X-Forwarded-For header names the client; only for these is the header believed. Per-IP limits "
                                     "then count the forwarded address. Empty: the headers are ignored and the TCP peer is the client."));
    // limits
    keys.push_back(integerKey("limits.max_connections", [](Config &c) -> int & { return c.limits.maxConnections; }, 1, kMaxInt,
                              "Open connections (HTTP + WebSocket) in total; beyond it new connections get 503 and are closed."));
    keys.push_back(integerKey("limits.max_connections_per_ip", [](Config &c) -> int & { return c.limits.maxConnectionsPerIp; }, 1, kMaxInt,
                              "Open connections from one IP address."));
    keys.push_back(integerKey("limits.idle_timeout_ms", [](Config &c) -> int & { return c.limits.idleTimeoutMs; }, 100, kMaxInt,
                              "An HTTP connection that sends no complete request for this long is closed."));
    keys.push_back(integerKey("limits.max_header_bytes", [](Config &c) -> int & { return c.limits.maxHeaderBytes; }, 1024, 1 << 24,
                              "Request line plus headers; larger gets 431."));
    keys.push_back(bytesKey("limits.max_body_bytes", [](Config &c) -> qint64 & { return c.limits.maxBodyBytes; }, 0, qint64(1) << 32,
                            "Request body; larger gets 413 as soon as the headers are read, before the body is buffered."));
    keys.push_back(integerKey("limits.ws_handshake_timeout_ms", [](Config &c) -> int & { return c.limits.wsHandshakeTimeoutMs; }, 100, kMaxInt,
                              "A WebSocket upgrade that does not complete within this time is dropped."));
    keys.push_back(integerKey("limits.ws_max_message_bytes", [](Config &c) -> int & { return c.limits.wsMaxMessageBytes; }, 1024, 1 << 28,
                              "Largest WebSocket frame or message accepted from a client."));
    keys.push_back(integerKey("limits.ws_max_send_queue_bytes", [](Config &c) -> int & { return c.limits.wsMaxSendQueueBytes; }, 65536, kMaxInt,
                              "Bytes waiting to be sent to one WebSocket; a client that falls further behind is disconnected."));
    keys.push_back(bytesKey("limits.max_unsent_bytes", [](Config &c) -> qint64 & { return c.limits.maxUnsentBytes; }, 65536, qint64(1) << 30,
                            "HTTP responses waiting to be sent on one connection; beyond it the connection's next (pipelined) request is not "
                            "read until the client takes its responses. A connection whose pending output makes no progress for "
                            "limits.idle_timeout_ms is aborted."));
    // storage
    keys.push_back(textKey("storage.sqlite_path", [](Config &c) -> QString & { return c.storage.sqlitePath; },
                           "SQLite database file. Empty: <data_dir>/tianyi.sqlite3."));
    keys.push_back(integerKey("storage.busy_timeout_ms", [](Config &c) -> int & { return c.storage.busyTimeoutMs; }, 0, 600000,
                              "How long SQLite waits for a lock before failing."));
    // auth
    keys.push_back(secretKey("auth.jwt_secret", [](Config &c) -> QByteArray & { return c.auth.jwtSecret; },
                             "HS256 signing secret (at least 32 bytes). Empty: generated at first start into <data_dir>/jwt_secret (mode 0600).", 32));
    keys.push_back(integerKey("auth.access_token_ttl_s", [](Config &c) -> int & { return c.auth.accessTokenTtlS; }, 10, 86400 * 7,
                              "Lifetime of access tokens (JWT), seconds."));
    keys.push_back(integerKey("auth.device_token_ttl_days", [](Config &c) -> int & { return c.auth.deviceTokenTtlDays; }, 1, 3650,
                              "Lifetime of a device token (a long-lived token for a client that cannot log in, such as an "
                              "Open-LLM-VTuber frontend); revocable from the profile page."));
    keys.push_back(integerKey("auth.refresh_token_ttl_s", [](Config &c) -> int & { return c.auth.refreshTokenTtlS; }, 60, 86400 * 365,
                              "Lifetime of refresh tokens, seconds."));
    keys.push_back(integerKey("auth.username_min_length", [](Config &c) -> int & { return c.auth.usernameMinLength; }, 1, 64,
                              "Shortest username, in characters."));
    keys.push_back(integerKey("auth.username_max_length", [](Config &c) -> int & { return c.auth.usernameMaxLength; }, 1, 64,
                              "Longest username, in characters."));
    keys.push_back(integerKey("auth.password_min_length", [](Config &c) -> int & { return c.auth.passwordMinLength; }, 6, 1024,
                              "Shortest password, in characters."));
    keys.push_back(integerKey("auth.password_max_length", [](Config &c) -> int & { return c.auth.passwordMaxLength; }, 8, 4096,
                              "Longest password, in characters (bounds hashing work)."));
    keys.push_back(integerKey("auth.login_max_failures", [](Config &c) -> int & { return c.auth.loginMaxFailures; }, 1, 10000,
                              "Failed logins per (username, client address) pair, and per client address, allowed within the window before 429 (logins still being checked count as failures)."));
    keys.push_back(integerKey("auth.login_failure_window_s", [](Config &c) -> int & { return c.auth.loginFailureWindowS; }, 1, 86400,
                              "Window in which failed logins are counted, seconds."));
    keys.push_back(integerKey("auth.login_lockout_s", [](Config &c) -> int & { return c.auth.loginLockoutS; }, 1, 86400,
                              "How long logins are refused (429 + Retry-After) once the limit is reached, seconds."));
    keys.push_back(integerKey("auth.account_max_failures", [](Config &c) -> int & { return c.auth.accountMaxFailures; }, 1, 1000000,
                              "Failed logins per username from all addresses together allowed within auth.account_failure_window_s before 429."));
    keys.push_back(integerKey("auth.account_failure_window_s", [](Config &c) -> int & { return c.auth.accountFailureWindowS; }, 1, 7 * 86400,
                              "Window in which a username's failed logins from all addresses are counted, seconds."));
    keys.push_back(integerKey("auth.account_lockout_s", [](Config &c) -> int & { return c.auth.accountLockoutS; }, 1, 86400,
                              "How long a username's logins are refused from every address once auth.account_max_failures is reached, seconds."));
    keys.push_back(integerKey("auth.register_per_address_max", [](Config &c) -> int & { return c.auth.registerPerAddressMax; }, 1, 1000000,
                              "Registrations admitted per client address within auth.register_per_address_window_s; more get 429 before any password is hashed."));
    keys.push_back(integerKey("auth.register_per_address_window_s", [](Config &c) -> int & { return c.auth.registerPerAddressWindowS; }, 1, 7 * 86400,
                              "Sliding window of auth.register_per_address_max, seconds."));
    keys.push_back(integerKey("auth.register_global_max", [](Config &c) -> int & { return c.auth.registerGlobalMax; }, 1, 1000000,
                              "Registrations admitted server-wide within auth.register_global_window_s; more get 429 before any password is hashed."));
    keys.push_back(integerKey("auth.register_global_window_s", [](Config &c) -> int & { return c.auth.registerGlobalWindowS; }, 1, 86400,
                              "Sliding window of auth.register_global_max, seconds."));
    keys.push_back(integerKey("auth.argon2_ops_limit", [](Config &c) -> int & { return c.auth.argon2OpsLimit; }, 1, 64,
                              "Argon2id passes (libsodium opslimit)."));
    keys.push_back(integerKey("auth.argon2_mem_limit_kib", [](Config &c) -> int & { return c.auth.argon2MemLimitKiB; }, 8, 4 << 20,
                              "Argon2id memory per hash, KiB (libsodium memlimit / 1024)."));
    // log
    keys.push_back(textKey("log.format", [](Config &c) -> QString & { return c.log.format; },
                           "Log line format: text or json.", oneOf({QStringLiteral("text"), QStringLiteral("json")})));
    keys.push_back(textKey("log.level", [](Config &c) -> QString & { return c.log.level; },
                           "Lowest level logged by the server's own categories: debug (every request), info or warning.",
                           oneOf({QStringLiteral("debug"), QStringLiteral("info"), QStringLiteral("warning")})));
    keys.push_back(textKey("log.rules", [](Config &c) -> QString & { return c.log.rules; },
                           "QLoggingCategory rules separated by ';', applied after log.level, e.g. \"tianyi.db.debug=true\"."));
    // llm
    keys.push_back(textKey("llm.base_url", [](Config &c) -> QString & { return c.llm.baseUrl; },
                           "OpenAI-compatible API base, e.g. https://api.siliconflow.cn/v1. Empty: the built-in offline demo responder.", checkUrl));
    keys.push_back(secretKey("llm.api_key", [](Config &c) -> QByteArray & { return c.llm.apiKey; }, "Bearer key for the LLM API."));
    keys.push_back(textKey("llm.model", [](Config &c) -> QString & { return c.llm.model; }, "Model name sent to the LLM API."));
    keys.push_back(realKey("llm.temperature", [](Config &c) -> double & { return c.llm.temperature; }, 0.0, 2.0, "Sampling temperature."));
    keys.push_back(integerKey("llm.max_tokens", [](Config &c) -> int & { return c.llm.maxTokens; }, 1, 1 << 20, "Longest reply, tokens."));
    keys.push_back(integerKey("llm.max_concurrent", [](Config &c) -> int & { return c.llm.maxConcurrent; }, 1, 100000,
                              "Concurrent LLM requests; more wait in a visible queue."));
    keys.push_back(integerKey("llm.first_byte_timeout_ms", [](Config &c) -> int & { return c.llm.firstByteTimeoutMs; }, 100, kMaxInt,
                              "Time allowed until the first byte of the reply."));
    keys.push_back(integerKey("llm.inactivity_timeout_ms", [](Config &c) -> int & { return c.llm.inactivityTimeoutMs; }, 100, kMaxInt,
                              "Longest silence allowed inside a streamed reply."));
    keys.push_back(integerKey("llm.max_retries", [](Config &c) -> int & { return c.llm.maxRetries; }, 0, 10,
                              "Retries before the first delta (SDK-style backoff)."));
    // embedding
    keys.push_back(textKey("embedding.base_url", [](Config &c) -> QString & { return c.embedding.baseUrl; },
                           "OpenAI-compatible embeddings API base. Empty: the built-in hashing embedder.", checkUrl));
    keys.push_back(secretKey("embedding.api_key", [](Config &c) -> QByteArray & { return c.embedding.apiKey; }, "Bearer key for the embeddings API."));
    keys.push_back(textKey("embedding.model", [](Config &c) -> QString & { return c.embedding.model; }, "Embedding model name."));
    keys.push_back(integerKey("embedding.dimensions", [](Config &c) -> int & { return c.embedding.dimensions; }, 8, 65536,
                              "Expected vector dimension; replies of another size are rejected."));
    keys.push_back(integerKey("embedding.batch_size", [](Config &c) -> int & { return c.embedding.batchSize; }, 1, 2048, "Inputs per request."));
    keys.push_back(integerKey("embedding.timeout_ms", [](Config &c) -> int & { return c.embedding.timeoutMs; }, 100, kMaxInt, "Request timeout."));
    // tts
    keys.push_back(urlListKey("tts.base_urls", [](Config &c) -> QStringList & { return c.tts.baseUrls; },
                              "Comma-separated GPT-SoVITS api_v2 servers, e.g. http://127.0.0.1:9880. Empty: built-in espeak-ng."));
    keys.push_back(integerKey("tts.per_backend_concurrency", [](Config &c) -> int & { return c.tts.perBackendConcurrency; }, 1, 1024,
                              "Requests at once per GPT-SoVITS instance (it mixes audio under concurrency: keep 1)."));
    keys.push_back(boolKey("tts.streaming", [](Config &c) -> bool & { return c.tts.streaming; }, "Use GPT-SoVITS streaming mode."));
    keys.push_back(integerKey("tts.timeout_ms", [](Config &c) -> int & { return c.tts.timeoutMs; }, 100, kMaxInt, "Per-sentence synthesis timeout."));
    keys.push_back(integerKey("tts.breaker_failures", [](Config &c) -> int & { return c.tts.breakerFailures; }, 1, 1000,
                              "Consecutive failures after which a backend is rested."));
    keys.push_back(integerKey("tts.breaker_rest_ms", [](Config &c) -> int & { return c.tts.breakerRestMs; }, 100, kMaxInt,
                              "How long a failing backend is rested."));
    keys.push_back(integerKey("tts.health_interval_ms", [](Config &c) -> int & { return c.tts.healthIntervalMs; }, 100, kMaxInt,
                              "Health check period for TTS backends."));
    keys.push_back(textKey("tts.text_lang", [](Config &c) -> QString & { return c.tts.textLang; }, "GPT-SoVITS text_lang.",
                           oneOf({QStringLiteral("auto"), QStringLiteral("en"), QStringLiteral("zh"), QStringLiteral("ja"), QStringLiteral("yue"),
                                  QStringLiteral("ko"), QStringLiteral("all_zh"), QStringLiteral("all_ja"), QStringLiteral("all_yue"),
                                  QStringLiteral("all_ko"), QStringLiteral("auto_yue")})));
    keys.push_back(textKey("tts.voices_file", [](Config &c) -> QString & { return c.tts.voicesFile; },
                           "JSON file mapping emotion id to its reference voice {ref_audio_path, prompt_text, prompt_lang} "
                           "(plus optional espeak_rate, espeak_pitch); needs a \"default\" (or \"neutral\") entry. Required with tts.base_urls; "
                           "empty: built-in espeak-ng voices."));
    // asr
    keys.push_back(textKey("asr.provider", [](Config &c) -> QString & { return c.asr.provider; },
                           "openai: one transcription request per utterance (SiliconFlow SenseVoice, whisper servers); "
                           "funasr: FunASR's streaming WebSocket (partial transcripts while the user speaks).",
                           oneOf({QStringLiteral("openai"), QStringLiteral("funasr")})));
    keys.push_back(textKey("asr.base_url", [](Config &c) -> QString & { return c.asr.baseUrl; },
                           "Speech recognition endpoint: an OpenAI-compatible API base (http/https) for openai, the FunASR "
                           "server (ws/wss, e.g. wss://host:10095) for funasr. Empty: speech input is refused with a clear error.",
                           checkAsrUrl));
    keys.push_back(secretKey("asr.api_key", [](Config &c) -> QByteArray & { return c.asr.apiKey; }, "Bearer key for the ASR API."));
    keys.push_back(textKey("asr.model", [](Config &c) -> QString & { return c.asr.model; }, "Transcription model."));
    keys.push_back(textKey("asr.language", [](Config &c) -> QString & { return c.asr.language; }, "Optional language hint (e.g. zh)."));
    keys.push_back(integerKey("asr.timeout_ms", [](Config &c) -> int & { return c.asr.timeoutMs; }, 100, kMaxInt,
                              "Request timeout. funasr: also the longest wait to connect and for the final transcript after the "
                              "utterance ended."));
    keys.push_back(textKey("asr.ca_file", [](Config &c) -> QString & { return c.asr.caFile; },
                           "funasr over wss://: PEM file of certificates to trust besides the system's. A self-signed server "
                           "certificate listed here is accepted as-is (pinned) even when its name does not match the host. "
                           "Empty: only the system's CAs. See docs/asr.md (FunASR's own sample certificate is expired)."));
    // voice
    keys.push_back(integerKey("voice.speech_min_ms", [](Config &c) -> int & { return c.voice.speechMinMs; }, 30, 2000,
                              "Voiced audio needed before speech_start (shorter sounds are clicks, not speech)."));
    keys.push_back(integerKey("voice.endpointing_ms", [](Config &c) -> int & { return c.voice.endpointingMs; }, 200, 5000,
                              "Silence after speech that ends an utterance (its transcript then becomes a turn)."));
    keys.push_back(integerKey("voice.interruption_min_ms", [](Config &c) -> int & { return c.voice.interruptionMinMs; }, 100, 5000,
                              "Speech that confirms a barge-in by voice while she speaks; shorter sounds only duck her."));
    keys.push_back(integerKey("voice.max_utterance_seconds", [](Config &c) -> int & { return c.voice.maxUtteranceSeconds; }, 1, 600,
                              "Longest utterance; a longer one is cut there (error utterance_too_long) and transcribed."));
    keys.push_back(integerKey("voice.max_silent_seconds", [](Config &c) -> int & { return c.voice.maxSilentSeconds; }, 5, 86400,
                              "A listening stream without speech for this long is closed (error listen_timeout)."));
    keys.push_back(integerKey("voice.max_bytes_per_second", [](Config &c) -> int & { return c.voice.maxBytesPerSecond; }, 32000, 1 << 20,
                              "Microphone PCM a client may send per second, averaged over a few seconds (real time is 32000)."));
    keys.push_back(integerKey("voice.echo_gate_dbfs", [](Config &c) -> int & { return c.voice.echoGateDbfs; }, -90, 0,
                              "While her voice may be playing, quieter microphone frames are not speech (her own voice leaking back)."));
    keys.push_back(integerKey("voice.noise_suppression", [](Config &c) -> int & { return c.voice.noiseSuppression; }, 0, 3,
                              "WebRTC noise suppression before voice detection: 0 off, 1 moderate, 2 high, 3 very high."));
    // chat
    keys.push_back(textKey("chat.persona", [](Config &c) -> QString & { return c.chat.persona; },
                           "Persona card: an id from resources/personas (e.g. luotianyi) or a path to a persona JSON file.",
                           [](const QString &v) { return v.isEmpty() ? QStringLiteral("must not be empty") : QString(); }));
    keys.push_back(integerKey("chat.max_sessions_per_user", [](Config &c) -> int & { return c.chat.maxSessionsPerUser; }, 1, 1000,
                              "Chat sockets one user may have open at once (devices)."));
    keys.push_back(integerKey("chat.auth_timeout_ms", [](Config &c) -> int & { return c.chat.authTimeoutMs; }, 100, 600000,
                              "Time allowed for the first auth message when no ?token= was given."));
    keys.push_back(integerKey("chat.ping_interval_ms", [](Config &c) -> int & { return c.chat.pingIntervalMs; }, 100, 3600000,
                              "Keep-alive ping period on chat sockets."));
    keys.push_back(integerKey("chat.pong_timeout_ms", [](Config &c) -> int & { return c.chat.pongTimeoutMs; }, 100, 3600000,
                              "A chat socket that answers no ping for this long is closed."));
    keys.push_back(integerKey("chat.turns_per_minute", [](Config &c) -> int & { return c.chat.turnsPerMinute; }, 1, 100000,
                              "Turns one user may start per minute, across devices."));
    keys.push_back(integerKey("chat.max_text_chars", [](Config &c) -> int & { return c.chat.maxTextChars; }, 1, 1000000,
                              "Longest chat message, in characters."));
    keys.push_back(integerKey("chat.max_malformed", [](Config &c) -> int & { return c.chat.maxMalformed; }, 1, 10000,
                              "Malformed messages tolerated before the socket is closed with 4002."));
    keys.push_back(integerKey("chat.recent_turns", [](Config &c) -> int & { return c.chat.recentTurns; }, 0, 1000,
                              "Finished turns of the user replayed into the prompt."));
    keys.push_back(integerKey("chat.max_sentence_chars", [](Config &c) -> int & { return c.chat.maxSentenceChars; }, 10, 10000,
                              "Longer runs without punctuation are cut at a safe point for speech."));
    keys.push_back(boolKey("chat.early_first_clause", [](Config &c) -> bool & { return c.chat.earlyFirstClause; },
                           "Cut a reply's first sentence at its first comma so speech starts sooner."));
    keys.push_back(integerKey("chat.first_clause_min_chars", [](Config &c) -> int & { return c.chat.firstClauseMinChars; }, 1, 1000,
                              "Characters the early first clause needs before its comma."));
    keys.push_back(integerKey("chat.tts_queue_max", [](Config &c) -> int & { return c.chat.ttsQueueMax; }, 1, 1000000,
                              "Sentences waiting for synthesis across all sessions; beyond it new sentences are not spoken (tts_unavailable)."));
    keys.push_back(integerKey("chat.max_audio_input_seconds", [](Config &c) -> int & { return c.chat.maxAudioInputSeconds; }, 1, 3600,
                              "Longest speech input (audio_start .. audio_end)."));
    keys.push_back(integerKey("chat.max_audio_input_bytes", [](Config &c) -> int & { return c.chat.maxAudioInputBytes; }, 1024, 1 << 30,
                              "Largest speech input in bytes of PCM."));
    // prompt
    keys.push_back(integerKey("prompt.persona_tokens", [](Config &c) -> int & { return c.prompt.personaTokens; }, 16, 1 << 20,
                              "Budget of the persona text in the prompt, estimated tokens."));
    keys.push_back(integerKey("prompt.summary_tokens", [](Config &c) -> int & { return c.prompt.summaryTokens; }, 0, 1 << 20,
                              "Budget of the rolling summary (its newest part is kept), estimated tokens."));
    keys.push_back(integerKey("prompt.memories_tokens", [](Config &c) -> int & { return c.prompt.memoriesTokens; }, 0, 1 << 20,
                              "Budget of the user's memories (best first), estimated tokens."));
    keys.push_back(integerKey("prompt.knowledge_tokens", [](Config &c) -> int & { return c.prompt.knowledgeTokens; }, 0, 1 << 20,
                              "Budget of knowledge-graph facts (best first), estimated tokens."));
    keys.push_back(integerKey("prompt.recent_turns_tokens", [](Config &c) -> int & { return c.prompt.recentTurnsTokens; }, 0, 1 << 20,
                              "Budget of replayed earlier turns (newest kept), estimated tokens."));
    keys.push_back(integerKey("prompt.user_text_tokens", [](Config &c) -> int & { return c.prompt.userTextTokens; }, 16, 1 << 20,
                              "Budget of the new message (its start is kept), estimated tokens."));
    // audio
    keys.push_back(boolKey("audio.keep", [](Config &c) -> bool & { return c.audio.keep; },
                           "Keep synthesized sentences on disk for history replay."));
    keys.push_back(bytesKey("audio.max_bytes", [](Config &c) -> qint64 & { return c.audio.maxBytes; }, 0, qint64(1) << 50,
                            "Disk budget for kept audio; the oldest files are removed beyond it."));
    keys.push_back(integerKey("audio.max_days", [](Config &c) -> int & { return c.audio.maxDays; }, 0, 36500,
                              "Kept audio older than this many days is removed (0 = no age limit)."));
    // web client
    keys.push_back(textKey("web.live2d_dir", [](Config &c) -> QString & { return c.web.live2dDir; },
                           "Directory served at /live2d/: a Live2D Cubism model, and in lib/ the scripts the page loads "
                           "(packaging/install-live2d-libs.sh; Cubism Core is supplied by you). Empty: nothing is served there."));
    keys.push_back(textKey("web.live2d_model", [](Config &c) -> QString & { return c.web.live2dModel; },
                           "The model's .model3.json, relative to web.live2d_dir (e.g. tianyi/tianyi.model3.json); the page "
                           "then shows it instead of the drawn avatar. Empty: the drawn avatar."));
    // compatibility endpoints
    keys.push_back(boolKey("compat.olv_enabled", [](Config &c) -> bool & { return c.compat.olvEnabled; },
                           "Serve Open-LLM-VTuber's frontend protocol (its web page and desktop pet) at compat.olv_path."));
    keys.push_back(textKey("compat.olv_path", [](Config &c) -> QString & { return c.compat.olvPath; },
                           "WebSocket path of the Open-LLM-VTuber endpoint (OLV clients default to /client-ws)."));
    keys.push_back(integerKey("compat.olv_playback_timeout_ms", [](Config &c) -> int & { return c.compat.olvPlaybackTimeoutMs; }, 1000, 600000,
                              "How long an Open-LLM-VTuber turn waits for the client's frontend-playback-complete before it ends the "
                              "conversation chain anyway."));
    return keys;
}

QString crossCheck(const Config &cfg)
{
    if (cfg.auth.usernameMinLength > cfg.auth.usernameMaxLength)
        return QStringLiteral("auth.username_min_length: must not exceed auth.username_max_length");
    if (cfg.auth.passwordMinLength > cfg.auth.passwordMaxLength)
        return QStringLiteral("auth.password_min_length: must not exceed auth.password_max_length");
    if (!cfg.asr.baseUrl.isEmpty()) {
        const bool webSocket = cfg.asr.baseUrl.startsWith(QLatin1String("ws://")) || cfg.asr.baseUrl.startsWith(QLatin1String("wss://"));
        if (cfg.asr.provider == QLatin1String("funasr") && !webSocket)
            return QStringLiteral("asr.base_url: asr.provider funasr needs a ws:// or wss:// URL (FunASR's WebSocket server), got \"%1\"")
                .arg(cfg.asr.baseUrl);
        if (cfg.asr.provider == QLatin1String("openai") && webSocket)
            return QStringLiteral("asr.base_url: asr.provider openai needs an http:// or https:// URL (a ws:// URL is FunASR's: set asr.provider=funasr)");
    }
    if (!cfg.web.live2dModel.isEmpty()) {
        if (cfg.web.live2dDir.isEmpty())
            return QStringLiteral("web.live2d_model: needs web.live2d_dir (the directory it is in)");
        const QString root = QDir::cleanPath(QDir(cfg.web.live2dDir).absolutePath());
        const QString path = staticResourcePath(root, QLatin1Char('/') + cfg.web.live2dModel);
        if (path.isEmpty() || cfg.web.live2dModel == QLatin1String("/"))
            return QStringLiteral("web.live2d_model: must be a plain path inside web.live2d_dir (letters, digits, '.', '-', '_' and '/'), got \"%1\"")
                .arg(cfg.web.live2dModel);
        if (!QFileInfo(path).isFile())
            return QStringLiteral("web.live2d_model: no such file: %1").arg(path);
    }
    if (cfg.compat.olvEnabled) {
        const QString path = cfg.compat.olvPath;
        static const QStringList taken{QStringLiteral("/ws"), QStringLiteral("/ws/admin")};
        if (!path.startsWith(QLatin1Char('/')) || path.startsWith(QStringLiteral("/api/")) || taken.contains(path)
            || staticResourcePath(QStringLiteral("/x"), path).isEmpty())
            return QStringLiteral("compat.olv_path: must be a plain absolute path other than /ws, /ws/admin and /api/..., got \"%1\"").arg(path);
    }
    if (!cfg.web.live2dDir.isEmpty() && !QFileInfo(cfg.web.live2dDir).isDir())
        return QStringLiteral("web.live2d_dir: not a directory: %1").arg(cfg.web.live2dDir);
    if (!cfg.tts.baseUrls.isEmpty() && cfg.tts.voicesFile.isEmpty())
        return QStringLiteral("tts.voices_file: required when tts.base_urls is set (GPT-SoVITS needs a reference voice per emotion)");
    return {};
}

// Edits between two names (insert, delete, replace one character).
int editDistance(const QString &a, const QString &b)
{
    std::vector<int> row(size_t(b.size()) + 1);
    for (size_t j = 0; j < row.size(); ++j)
        row[j] = int(j);
    for (qsizetype i = 1; i <= a.size(); ++i) {
        int diagonal = row[0];
        row[0] = int(i);
        for (qsizetype j = 1; j <= b.size(); ++j) {
            const int above = row[size_t(j)];
            row[size_t(j)] = std::min({above + 1, row[size_t(j - 1)] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[size_t(b.size())];
}

QString unknownVariableWarning(const QString &name, const QHash<QString, const ConfigKey *> &byEnv)
{
    QString closest;
    int best = std::numeric_limits<int>::max();
    for (auto it = byEnv.constBegin(); it != byEnv.constEnd(); ++it) {
        const int d = editDistance(name, it.key());
        if (d < best || (d == best && it.key() < closest)) {
            best = d;
            closest = it.key();
        }
    }
    QString warning = QStringLiteral("environment variable %1 is not a configuration key and is ignored").arg(name);
    if (best <= std::max(3, int(name.size() / 4)))
        warning += QStringLiteral("; did you mean %1?").arg(closest);
    return warning;
}

} // namespace

const std::vector<ConfigKey> &configKeys()
{
    static const std::vector<ConfigKey> keys = buildKeys();
    return keys;
}

ConfigLoadResult loadConfig(const QString &filePath, const QStringList &environment)
{
    ConfigLoadResult result;
    Config cfg;
    QHash<QString, const ConfigKey *> byName;
    QHash<QString, const ConfigKey *> byEnv;
    for (const ConfigKey &k : configKeys()) {
        byName.insert(k.name, &k);
        byEnv.insert(k.envName(), &k);
    }

    if (!filePath.isEmpty()) {
        QFile file(filePath);
        if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
            result.error = QStringLiteral("cannot read config file %1: %2").arg(filePath, file.errorString());
            return result;
        }
        QTextStream in(&file);
        QString section;
        int lineNo = 0;
        while (!in.atEnd()) {
            const QString line = in.readLine().trimmed();
            ++lineNo;
            if (line.isEmpty() || line.startsWith(QLatin1Char('#')) || line.startsWith(QLatin1Char(';')))
                continue;
            const QString where = QStringLiteral("%1:%2").arg(filePath).arg(lineNo);
            if (line.startsWith(QLatin1Char('['))) {
                if (!line.endsWith(QLatin1Char(']'))) {
                    result.error = QStringLiteral("%1: malformed section header \"%2\"").arg(where, line);
                    return result;
                }
                section = line.mid(1, line.size() - 2).trimmed();
                continue;
            }
            const int eq = line.indexOf(QLatin1Char('='));
            if (eq <= 0) {
                result.error = QStringLiteral("%1: expected key = value, got \"%2\"").arg(where, line);
                return result;
            }
            const QString key = line.left(eq).trimmed();
            QString value = line.mid(eq + 1).trimmed();
            if (value.size() >= 2 && value.startsWith(QLatin1Char('"')) && value.endsWith(QLatin1Char('"')))
                value = value.mid(1, value.size() - 2);
            const QString fullName = section.isEmpty() ? key : section + QLatin1Char('.') + key;
            const ConfigKey *ck = byName.value(fullName);
            if (!ck) {
                result.error = QStringLiteral("%1: unknown key \"%2\"").arg(where, fullName);
                return result;
            }
            const QString err = ck->apply(value, cfg);
            if (!err.isEmpty()) {
                result.error = QStringLiteral("%1 (%2): %3").arg(fullName, where, err);
                return result;
            }
        }
    }

    for (const QString &entry : environment) {
        const int eq = entry.indexOf(QLatin1Char('='));
        if (eq <= 0)
            continue;
        const QString name = entry.left(eq);
        const ConfigKey *ck = byEnv.value(name);
        if (!ck) {
            if (name.startsWith(QLatin1String("TIANYI_")) && !kNonConfigEnvironment.contains(name))
                result.warnings << unknownVariableWarning(name, byEnv);
            continue;
        }
        const QString err = ck->apply(entry.mid(eq + 1), cfg);
        if (!err.isEmpty()) {
            result.error = QStringLiteral("%1 (environment %2): %3").arg(ck->name, name, err);
            return result;
        }
    }

    const QString cross = crossCheck(cfg);
    if (!cross.isEmpty()) {
        result.error = cross;
        return result;
    }
    result.config = cfg;
    return result;
}

QString renderConfig(const Config &cfg)
{
    QString out;
    QString section;
    for (const ConfigKey &k : configKeys()) {
        const QString sec = k.name.section(QLatin1Char('.'), 0, 0);
        if (sec != section) {
            out += (section.isEmpty() ? QString() : QStringLiteral("\n")) + QStringLiteral("[%1]\n").arg(sec);
            section = sec;
        }
        out += QStringLiteral("# %1\n%2 = %3\n").arg(k.description, k.name.section(QLatin1Char('.'), 1), k.show(cfg));
    }
    return out;
}

QString renderConfigReference()
{
    QString out = QStringLiteral("| key | environment | default | meaning |\n|---|---|---|---|\n");
    for (const ConfigKey &k : configKeys()) {
        QString def = k.defaultText.isEmpty() ? QStringLiteral("(empty)") : QStringLiteral("`%1`").arg(k.defaultText);
        out += QStringLiteral("| `%1` | `%2` | %3 | %4 |\n").arg(k.name, k.envName(), def, k.description);
    }
    return out;
}

} // namespace tianyi
