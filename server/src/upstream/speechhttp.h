#pragma once
// HTTP helpers shared by the speech clients (GPT-SoVITS, transcription): URL joining and turning
// an HTTP status + body, or a QNetworkReply error, into a classified UpstreamError.

#include "upstream/upstreamerror.h"

#include <QByteArray>
#include <QNetworkReply>
#include <QString>
#include <QUrl>

namespace tianyi::speech {

// base "http://h:9880", "http://h:9880/" or "http://h/v1" + "tts" -> "http://h:9880/tts", "http://h/v1/tts".
QUrl joinUrl(const QUrl &base, const QString &relativePath);

// The human part of an error body: {"message"[, "Exception"]} (GPT-SoVITS), {"detail":[{loc,msg}]} or
// {"detail":"..."} (FastAPI), {"error":{"message"}} or {"error":"..."} (OpenAI style), a bare JSON
// string, or plain text (trimmed and shortened).
QString errorBodyText(const QByteArray &body);

// 401/403 Auth, 429 RateLimited (Retry-After / retry-after-ms honoured), 402 Quota, 408 Timeout,
// other 4xx BadRequest, 5xx (and anything else) Server. `service` starts the message.
UpstreamError httpError(const QString &service, int status, const QByteArray &body, const QNetworkReply *reply = nullptr);

// A reply that produced no usable HTTP answer: connection refused/reset/cut, DNS, TLS -> Network;
// our own deadline (timedOut) or Qt's transfer timeout -> Timeout.
UpstreamError transportError(const QString &service, QNetworkReply::NetworkError code, const QString &errorString, bool timedOut);

} // namespace tianyi::speech
