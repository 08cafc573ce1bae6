#pragma once
// The typed errors of the account area and the one place that maps them to HTTP
// (status, snake_case code, extra headers). Services return values of these, never HTTP.

#include "net/httpmessage.h"

#include <QString>
#include <optional>
#include <utility>

namespace tianyi {

struct AuthError {
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
        RateLimited,          // 429 rate_limited + Retry-After
        Busy,                 // 503 busy + Retry-After
        Internal,             // 500 internal
    };

    Kind kind = Kind::Internal;
    QString message;
    int retryAfterS = 0;        // RateLimited, Busy
    bool tokenPresented = false; // Unauthorized: a token was sent but is not valid (RFC 6750 invalid_token)

    static AuthError of(Kind kind, QString message) { return AuthError{kind, std::move(message), 0, false}; }
    // The storage thread's queue was full (503 busy, Retry-After 1) or its work failed (500; the caller
    // logs the detail, the client is not told it).
    static AuthError storage(bool busy);
    HttpResponse toResponse() const;
};

// Either a value or an AuthError: what every AccountService call hands to its callback.
template <typename T>
class Outcome
{
public:
    Outcome(T value) : m_value(std::move(value)) {}          // NOLINT: implicit on purpose
    Outcome(AuthError error) : m_error(std::move(error)) {}  // NOLINT: implicit on purpose

    bool ok() const { return m_value.has_value(); }
    const T &value() const { return *m_value; }
    const AuthError &error() const { return m_error; }

private:
    std::optional<T> m_value;
    AuthError m_error;
};

} // namespace tianyi
