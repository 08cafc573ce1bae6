#pragma once
// Reading an HTTP/1.1 request as pure functions of the bytes received, with no socket: the request
// line and header fields, then how long the body is. HttpConnection reads every request with them,
// and tests/fuzz feeds them hostile bytes directly.

#include "net/httpmessage.h"

#include <QByteArray>
#include <QString>

namespace tianyi {

// Why a request is refused before it is handled: the response is `status` with the API's error shape.
struct HttpRefusal {
    int status = 0;
    QString code;
    QString message;
};

struct HttpHeadParse {
    enum class Outcome { Incomplete, Refused, Complete };
    Outcome outcome = Outcome::Incomplete;
    HttpRefusal refusal;     // Refused
    HttpRequest request;     // Complete: method, path, query and headers (peer and id are the caller's)
    int headBytes = 0;       // Complete: request line + header fields + the empty line
    bool http10 = false;     // Complete: an HTTP/1.0 request (keep-alive only when asked for)
};

// Parses the head at the start of `received` (the bytes so far; more may follow). Incomplete: wait for
// more bytes (the head is still within maxHeaderBytes).
HttpHeadParse parseRequestHead(const QByteArray &received, int maxHeaderBytes);

struct HttpBodyFraming {
    bool refused = false;
    HttpRefusal refusal;
    qint64 bodyLength = 0;   // bytes of body that follow the head
    bool keepAlive = true;   // the connection stays open after the response
};

// The body framing of a parsed head: Content-Length within maxBodyBytes (no chunked bodies).
HttpBodyFraming frameRequestBody(const HttpRequest &request, bool http10, qint64 maxBodyBytes);

} // namespace tianyi
