#include "net/httperror.h"

namespace tianyi {

HttpError HttpError::storage(bool busy)
{
    if (!busy)
        return of(Kind::Internal, QStringLiteral("storage error"));
    HttpError e = of(Kind::Busy, QStringLiteral("the server is busy; try again"));
    e.retryAfterS = 1;
    return e;
}

HttpResponse HttpError::toResponse() const
{
    switch (kind) {
    case Kind::BadRequest: return HttpResponse::error(400, QStringLiteral("bad_request"), message);
    case Kind::InvalidUsername: return HttpResponse::error(400, QStringLiteral("invalid_username"), message);
    case Kind::WeakPassword: return HttpResponse::error(400, QStringLiteral("weak_password"), message);
    case Kind::UsernameTaken: return HttpResponse::error(409, QStringLiteral("username_taken"), message);
    case Kind::InvalidRequest: return HttpResponse::error(400, QStringLiteral("invalid_request"), message);
    case Kind::InvalidGrant: return HttpResponse::error(400, QStringLiteral("invalid_grant"), message);
    case Kind::UnsupportedGrantType: return HttpResponse::error(400, QStringLiteral("unsupported_grant_type"), message);
    case Kind::Unauthorized: {
        // RFC 6750 3: no error attribute when no credentials were sent at all.
        QByteArray challenge = "Bearer realm=\"tianyi\"";
        if (tokenPresented)
            challenge += ", error=\"invalid_token\"";
        return HttpResponse::error(401, QStringLiteral("unauthorized"), message).withHeader("WWW-Authenticate", challenge);
    }
    case Kind::AccountDisabled: return HttpResponse::error(403, QStringLiteral("account_disabled"), message);
    case Kind::Forbidden: return HttpResponse::error(403, QStringLiteral("forbidden"), message);
    case Kind::NotFound: return HttpResponse::error(404, QStringLiteral("not_found"), message);
    case Kind::RateLimited:
        return HttpResponse::error(429, QStringLiteral("rate_limited"), message).withHeader("Retry-After", QByteArray::number(qMax(1, retryAfterS)));
    case Kind::Busy:
        return HttpResponse::error(503, QStringLiteral("busy"), message).withHeader("Retry-After", QByteArray::number(qMax(1, retryAfterS)));
    case Kind::ShuttingDown: return HttpResponse::error(503, QStringLiteral("unavailable"), message);
    case Kind::Internal: break;
    }
    return HttpResponse::error(500, QStringLiteral("internal"), message.isEmpty() ? QStringLiteral("internal error") : message);
}

} // namespace tianyi
