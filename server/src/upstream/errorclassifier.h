#pragma once
// Turns what an OpenAI-compatible upstream answered (HTTP status, error body, Retry-After headers,
// network errors) into an UpstreamError. Error bodies come in three shapes:
//   OpenAI       {"error":{"message","type","param","code"}}   (code a string or an integer)
//   SiliconFlow  {"code":20012,"message":"...","data":null}
//   bare string  "Invalid token"
// plus the occasional {"error":"text"} (Ollama), {"detail":...} (FastAPI) or a non-JSON page.

#include "upstream/upstreamerror.h"

#include <QByteArray>
#include <QDateTime>
#include <QNetworkReply>
#include <QString>

namespace tianyi {

// The longest server-requested retry delay we honour.
constexpr int kMaxRetryAfterMs = 120 * 1000;

struct ErrorBody {
    bool recognized = false;  // one of the known shapes
    QString message;
    QString type;             // OpenAI error.type
    QString code;             // OpenAI error.code as text ("insufficient_quota", "500")
    int numericCode = 0;      // SiliconFlow code, or an integer OpenAI code
};

ErrorBody parseErrorBody(const QByteArray &body);

// retry-after-ms first, then Retry-After (delta seconds or an HTTP date), capped at kMaxRetryAfterMs.
// Returns -1 when neither header is usable.
int parseRetryAfterMs(const QByteArray &retryAfterMs, const QByteArray &retryAfter,
                      const QDateTime &nowUtc = QDateTime::currentDateTimeUtc());

// Classifies an HTTP error answer (status >= 400).
UpstreamError classifyHttpError(int status, const QByteArray &body, const QByteArray &retryAfterMsHeader = {},
                                const QByteArray &retryAfterHeader = {}, const QDateTime &nowUtc = QDateTime::currentDateTimeUtc());

// An error reported inside a 200 stream: data: {"error":{...}} or the "error:" SSE field.
UpstreamError classifyStreamError(const QByteArray &payload);

// A transport failure (no HTTP answer, or the connection broke mid-body).
UpstreamError classifyNetworkError(QNetworkReply::NetworkError code, const QString &errorText);

// Makes server-provided text safe to log and show: one line, bounded, API keys masked.
QString sanitizeUpstreamText(const QString &text);

} // namespace tianyi
