#include "upstream/upstreamerror.h"

namespace tianyi {

QString UpstreamError::kindName(UpstreamErrorKind kind)
{
    switch (kind) {
    case UpstreamErrorKind::Auth: return QStringLiteral("auth");
    case UpstreamErrorKind::RateLimited: return QStringLiteral("rate_limited");
    case UpstreamErrorKind::Quota: return QStringLiteral("quota");
    case UpstreamErrorKind::BadRequest: return QStringLiteral("bad_request");
    case UpstreamErrorKind::Server: return QStringLiteral("server");
    case UpstreamErrorKind::Network: return QStringLiteral("network");
    case UpstreamErrorKind::Timeout: return QStringLiteral("timeout");
    case UpstreamErrorKind::Malformed: return QStringLiteral("malformed");
    case UpstreamErrorKind::Unavailable: return QStringLiteral("unavailable");
    }
    return QStringLiteral("unknown");
}

} // namespace tianyi
