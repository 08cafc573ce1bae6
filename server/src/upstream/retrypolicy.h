#pragma once
// The retry policy of the official OpenAI SDKs: retry 408, 409, 429 (unless the quota is gone),
// 5xx and network failures; back off 0.5 s x 2^n capped at 8 s, minus up to 25 % jitter; honour a
// server-sent delay (retry-after-ms / Retry-After, capped at 120 s). The caller must never retry
// once any of the reply has been handed on.

#include "upstream/upstreamerror.h"

namespace tianyi {

struct RetryPolicy {
    int maxRetries = 2;
    int baseDelayMs = 500;
    int maxDelayMs = 8000;

    static bool isRetryable(const UpstreamError &error);
    // Whether attempt number `attempt` (0 = the first request) that failed with `error` gets another try.
    bool shouldRetry(const UpstreamError &error, int attempt) const;
    // Delay before retry number `retryIndex` (0 = the first retry). jitter01 in [0, 1).
    int delayMs(int retryIndex, const UpstreamError &error, double jitter01) const;
    // Same with a random jitter.
    int delayMs(int retryIndex, const UpstreamError &error) const;
};

} // namespace tianyi
