#pragma once
// Errors of remote AI services, classified so callers can decide (retry, tell the user, rest a backend).

#include <QMetaType>
#include <QString>

namespace tianyi {

enum class UpstreamErrorKind {
    Auth,         // 401/403: wrong or missing key
    RateLimited,  // 429 (retryAfterMs set when the server said so)
    Quota,        // insufficient_quota / SiliconFlow balance errors: retrying will not help
    BadRequest,   // 400/404/422: our request was refused
    Server,       // 5xx
    Network,      // connection refused/reset, DNS, TLS
    Timeout,      // first-byte or inactivity timeout
    Malformed,    // a reply we could not parse (or silent audio from GPT-SoVITS)
    Unavailable,  // no backend could take the request (all rested by the circuit breaker, not configured)
};

struct UpstreamError {
    UpstreamErrorKind kind = UpstreamErrorKind::Server;
    QString message;      // human text, never containing secrets
    int httpStatus = 0;
    int retryAfterMs = -1;

    static QString kindName(UpstreamErrorKind kind);
};

} // namespace tianyi

Q_DECLARE_METATYPE(tianyi::UpstreamError)
