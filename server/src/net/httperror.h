#pragma once
// The typed errors of every HTTP route and the one place that maps them to HTTP (status, snake_case
// code, extra headers). Services return values of these, never HTTP responses.

#include "net/httpmessage.h"

#include <QString>
#include <optional>
#include <utility>

namespace tianyi {

struct HttpError {
    enum class Kind {
        BadRequest,           // 400 bad_request: malformed body, wrong types, unknown fields
        InvalidUsername,      // 400 invalid_username
        WeakPassword,         // 400 weak_password
        UsernameTaken,        // 409 username_taken
        InvalidRequest,       // 400 invalid_request (RFC 6749 5.2: missing or repeated parameter)
        InvalidGrant,         // 400 invalid_grant (bad credentials or refresh token)
        UnsupportedGrantType, // 400 unsupported_grant_type
        Unauthorized,         // 401 unauthorized + WWW-Authenticate: Bearer
        AccountDisabled,      // 403 account_disabled
        Forbidden,            // 403 forbidden (wrong role)
        NotFound,             // 404 not_found (also for another user's things: nothing is revealed)
        RateLimited,          // 429 rate_limited + Retry-After
        Busy,                 // 503 busy + Retry-After
        ShuttingDown,         // 503 unavailable: the service a route needs is already gone
        Internal,             // 500 internal
    };

    Kind kind = Kind::Internal;
    QString message;
    int retryAfterS = 0;        // RateLimited, Busy
    bool tokenPresented = false; // Unauthorized: a token was sent but is not valid (RFC 6750 invalid_token)

    static HttpError of(Kind kind, QString message) { return HttpError{kind, std::move(message), 0, false}; }
    // The storage thread's queue was full (503 busy, Retry-After 1) or its work failed (500; the caller
    // logs the detail, the client is not told it).
    static HttpError storage(bool busy);
    static HttpError notFound(const QString &what) { return of(Kind::NotFound, QStringLiteral("no such %1").arg(what)); }
    // A route's service goes away before the router at shutdown: a late request gets this, not a crash.
    static HttpError shuttingDown() { return of(Kind::ShuttingDown, QStringLiteral("the server is shutting down")); }
    HttpResponse toResponse() const;
};

// Either a value or an HttpError: what every service call behind a route hands to its callback.
template <typename T>
class Outcome
{
public:
    Outcome(T value) : m_value(std::move(value)) {}          // NOLINT: implicit on purpose
    Outcome(HttpError error) : m_error(std::move(error)) {}  // NOLINT: implicit on purpose

    bool ok() const { return m_value.has_value(); }
    const T &value() const { return *m_value; }
    const HttpError &error() const { return m_error; }

private:
    std::optional<T> m_value;
    HttpError m_error;
};

} // namespace tianyi
