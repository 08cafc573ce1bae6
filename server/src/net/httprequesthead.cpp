#include "net/httprequesthead.h"

#include <QList>
#include <QUrl>
#include <QUrlQuery>
#include <optional>

namespace tianyi {

namespace {

constexpr int kMaxHeaderCount = 100;
// Content-Length digits: 15 reach far beyond any body limit and never overflow a qint64.
constexpr int kMaxContentLengthDigits = 15;

bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || QByteArray("!#$%&'*+-.^_`|~").contains(c);
}

// RFC 9110 field values: visible characters, spaces and tabs. A bare CR, NUL or other control byte is
// read differently by different parsers, which is what request smuggling needs.
bool isFieldValue(const QByteArray &value)
{
    for (char c : value)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
            return false;
    return true;
}

// Optional whitespace around a field value is spaces and tabs only.
QByteArray trimOws(const QByteArray &value)
{
    int begin = 0;
    int end = int(value.size());
    while (begin < end && (value[begin] == ' ' || value[begin] == '\t'))
        ++begin;
    while (end > begin && (value[end - 1] == ' ' || value[end - 1] == '\t'))
        --end;
    return value.mid(begin, end - begin);
}

// Strict Content-Length: digits only, no sign, no inner space, no leading zero (but "0"), no list.
// What a lenient parser reads differently from the proxy in front is a smuggled request.
std::optional<qint64> parseContentLength(const QByteArray &text)
{
    if (text.isEmpty() || text.size() > kMaxContentLengthDigits || (text.size() > 1 && text.startsWith('0')))
        return std::nullopt;
    qint64 value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

HttpHeadParse refused(int status, const QString &code, const QString &message)
{
    HttpHeadParse result;
    result.outcome = HttpHeadParse::Outcome::Refused;
    result.refusal = {status, code, message};
    return result;
}

HttpHeadParse headersTooLarge(int maxHeaderBytes)
{
    return refused(431, QStringLiteral("headers_too_large"), QStringLiteral("request line and headers exceed %1 bytes").arg(maxHeaderBytes));
}

} // namespace

HttpHeadParse parseRequestHead(const QByteArray &received, int maxHeaderBytes)
{
    const int end = received.indexOf("\r\n\r\n");
    if (end < 0) {
        if (received.size() >= maxHeaderBytes)
            return headersTooLarge(maxHeaderBytes);
        return {};
    }
    if (end + 4 > maxHeaderBytes)
        return headersTooLarge(maxHeaderBytes);

    const QList<QByteArray> lines = received.left(end).split('\n');
    HttpHeadParse result;
    HttpRequest &req = result.request;
    const QList<QByteArray> parts = lines.first().trimmed().split(' ');
    if (parts.size() != 3 || !parts[2].startsWith("HTTP/1.") || !parts[1].startsWith('/'))
        return refused(400, QStringLiteral("bad_request"), QStringLiteral("malformed request line"));
    req.method = parts[0];
    for (char c : req.method)
        if (!isTokenChar(c))
            return refused(400, QStringLiteral("bad_request"), QStringLiteral("malformed method"));
    const QByteArray target = parts[1];
    const int q = target.indexOf('?');
    req.path = QUrl::fromPercentEncoding(q < 0 ? target : target.left(q));
    if (q >= 0)
        req.query = QUrlQuery(QString::fromUtf8(target.mid(q + 1)));
    result.http10 = parts[2] == "HTTP/1.0";

    if (lines.size() - 1 > kMaxHeaderCount)
        return refused(431, QStringLiteral("headers_too_large"), QStringLiteral("more than %1 header fields").arg(kMaxHeaderCount));
    for (int i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].endsWith('\r') ? lines[i].chopped(1) : lines[i];
        const int colon = line.indexOf(':');
        if (colon <= 0 || line.startsWith(' ') || line.startsWith('\t'))
            return refused(400, QStringLiteral("bad_request"), QStringLiteral("malformed header line"));
        const QByteArray name = line.left(colon).toLower();
        for (char c : name)
            if (!isTokenChar(c))
                return refused(400, QStringLiteral("bad_request"), QStringLiteral("malformed header name"));
        const QByteArray value = trimOws(line.mid(colon + 1));
        if (!isFieldValue(value))
            return refused(400, QStringLiteral("bad_request"), QStringLiteral("control character in a header value"));
        req.headers.append({name, value});
    }
    result.outcome = HttpHeadParse::Outcome::Complete;
    result.headBytes = end + 4;
    return result;
}

HttpBodyFraming frameRequestBody(const HttpRequest &request, bool http10, qint64 maxBodyBytes)
{
    HttpBodyFraming framing;
    const QByteArray connection = request.header("connection").toLower();
    framing.keepAlive = http10 ? connection.contains("keep-alive") : !connection.contains("close");
    auto refuse = [&framing](int status, const QString &code, const QString &message) {
        framing.refused = true;
        framing.refusal = {status, code, message};
        return framing;
    };

    // Framing must be unambiguous: a proxy in front that picks the other length (or the other
    // header) forwards a second, smuggled request inside this one's body.
    const int lengthHeaders = request.headerCount("content-length");
    const int encodingHeaders = request.headerCount("transfer-encoding");
    if (encodingHeaders > 0 && lengthHeaders > 0)
        return refuse(400, QStringLiteral("bad_request"), QStringLiteral("Transfer-Encoding together with Content-Length"));
    if (encodingHeaders > 0)
        return refuse(501, QStringLiteral("not_implemented"), QStringLiteral("chunked request bodies are not supported; send Content-Length"));
    if (lengthHeaders > 1)
        return refuse(400, QStringLiteral("bad_request"), QStringLiteral("more than one Content-Length"));
    if (lengthHeaders == 1) {
        const std::optional<qint64> length = parseContentLength(request.header("content-length"));
        if (!length)
            return refuse(400, QStringLiteral("bad_request"), QStringLiteral("invalid Content-Length"));
        framing.bodyLength = *length;
    }
    if (framing.bodyLength > maxBodyBytes)
        return refuse(413, QStringLiteral("too_large"),
                      QStringLiteral("request body of %1 bytes exceeds the limit of %2 bytes").arg(framing.bodyLength).arg(maxBodyBytes));
    return framing;
}

} // namespace tianyi
