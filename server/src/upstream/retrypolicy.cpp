#include "upstream/retrypolicy.h"

#include "upstream/errorclassifier.h"

#include <QRandomGenerator>
#include <algorithm>
#include <cmath>

namespace tianyi {

bool RetryPolicy::isRetryable(const UpstreamError &error)
{
    switch (error.kind) {
    case UpstreamErrorKind::Quota:
    case UpstreamErrorKind::Auth:
    case UpstreamErrorKind::Malformed:
    case UpstreamErrorKind::Unavailable:
        return false;
    case UpstreamErrorKind::Network:
    case UpstreamErrorKind::Timeout:
    case UpstreamErrorKind::RateLimited:
    case UpstreamErrorKind::Server:
        return true;
    case UpstreamErrorKind::BadRequest:
        return error.httpStatus == 408 || error.httpStatus == 409;
    }
    return false;
}

bool RetryPolicy::shouldRetry(const UpstreamError &error, int attempt) const
{
    return attempt < maxRetries && isRetryable(error);
}

int RetryPolicy::delayMs(int retryIndex, const UpstreamError &error, double jitter01) const
{
    if (error.retryAfterMs >= 0)
        return std::min(error.retryAfterMs, kMaxRetryAfterMs);
    const double backoff = std::min<double>(baseDelayMs * std::pow(2.0, std::clamp(retryIndex, 0, 30)), maxDelayMs);
    const double jitter = 1.0 - 0.25 * std::clamp(jitter01, 0.0, 1.0);
    return int(std::lround(backoff * jitter));
}

int RetryPolicy::delayMs(int retryIndex, const UpstreamError &error) const
{
    return delayMs(retryIndex, error, QRandomGenerator::global()->generateDouble());
}

} // namespace tianyi
