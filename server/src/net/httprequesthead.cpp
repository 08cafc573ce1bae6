#include "net/httprequesthead.h"

#include <QList>
#include <QUrl>
#include <QUrlQuery>

namespace tianyi {

namespace {

constexpr int kMaxHeaderCount = 100;

bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || QByteArray("!#$%&'*+-.^_`|~").contains(c);
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
        req.headers.append({name, line.mid(colon + 1).trimmed()});
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

    if (!request.header("transfer-encoding").isEmpty())
        return refuse(501, QStringLiteral("not_implemented"), QStringLiteral("chunked request bodies are not supported; send Content-Length"));
    const QByteArray lengthText = request.header("content-length");
    if (!lengthText.isEmpty()) {
        bool ok = false;
        framing.bodyLength = lengthText.toLongLong(&ok);
        if (!ok || framing.bodyLength < 0)
            return refuse(400, QStringLiteral("bad_request"), QStringLiteral("invalid Content-Length"));
    }
    if (framing.bodyLength > maxBodyBytes)
        return refuse(413, QStringLiteral("too_large"),
                      QStringLiteral("request body of %1 bytes exceeds the limit of %2 bytes").arg(framing.bodyLength).arg(maxBodyBytes));
    return framing;
}

} // namespace tianyi
