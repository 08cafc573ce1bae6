// HTTP/1.1 request framing (server/src/net/httprequesthead): the bytes are one connection's stream,
// read the way HttpConnection reads it: a head within the header limit, its body framing, the body,
// then the next pipelined request, until a request is refused or the bytes run out.

#include "fuzzsupport.h"
#include "net/httprequesthead.h"

namespace {
// Small limits, so the fuzzer reaches them with short inputs.
constexpr int kMaxHeaderBytes = 1024;
constexpr qint64 kMaxBodyBytes = 2048;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace tianyi;
    QByteArray stream(reinterpret_cast<const char *>(data), qsizetype(size));
    while (!stream.isEmpty()) {
        // HttpConnection peeks at most maxHeaderBytes + 4 bytes.
        const QByteArray peeked = stream.left(kMaxHeaderBytes + 4);
        const HttpHeadParse head = parseRequestHead(peeked, kMaxHeaderBytes);
        if (head.outcome == HttpHeadParse::Outcome::Incomplete) {
            FUZZ_CHECK(peeked.size() < kMaxHeaderBytes); // else it must have been refused
            return 0;
        }
        if (head.outcome == HttpHeadParse::Outcome::Refused) {
            FUZZ_CHECK(head.refusal.status == 400 || head.refusal.status == 431);
            FUZZ_CHECK(!head.refusal.code.isEmpty() && !head.refusal.message.isEmpty());
            return 0;
        }
        const HttpRequest &req = head.request;
        FUZZ_CHECK(head.headBytes >= 4 && head.headBytes <= kMaxHeaderBytes && head.headBytes <= peeked.size());
        FUZZ_CHECK(peeked.mid(head.headBytes - 4, 4) == "\r\n\r\n");
        FUZZ_CHECK(!req.method.isEmpty() && req.path.startsWith(QLatin1Char('/')));
        for (const auto &h : req.headers)
            FUZZ_CHECK(!h.first.isEmpty() && h.first == h.first.toLower());
        // What routes and guards read from every request.
        (void)req.bearerToken();
        (void)req.isJson();
        (void)req.isForm();
        (void)req.query.queryItems(QUrl::FullyDecoded);

        const HttpBodyFraming framing = frameRequestBody(req, head.http10, kMaxBodyBytes);
        if (framing.refused) {
            FUZZ_CHECK(framing.refusal.status == 400 || framing.refusal.status == 413 || framing.refusal.status == 501);
            return 0;
        }
        FUZZ_CHECK(framing.bodyLength >= 0 && framing.bodyLength <= kMaxBodyBytes);
        stream.remove(0, head.headBytes);
        if (stream.size() < framing.bodyLength)
            return 0; // HttpConnection waits for the rest of the body
        stream.remove(0, framing.bodyLength);
        if (!framing.keepAlive)
            return 0;
    }
    return 0;
}
