#include "upstream/errorclassifier.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>
#include <QRegularExpression>
#include <cmath>

namespace tianyi {

namespace {

// SiliconFlow codes that mean "no money left": retrying will not help.
bool isSiliconFlowBalanceCode(int code)
{
    return code == 30001 || code == 30011;
}

bool mentionsQuota(const ErrorBody &b)
{
    if (b.code == QLatin1String("insufficient_quota") || b.type == QLatin1String("insufficient_quota"))
        return true;
    if (isSiliconFlowBalanceCode(b.numericCode))
        return true;
    const QString m = b.message.toLower();
    return m.contains(QLatin1String("insufficient_quota")) || m.contains(QLatin1String("balance is insufficient")) ||
           m.contains(QLatin1String("insufficient balance"));
}

QString describe(int status, const ErrorBody &b)
{
    QString text = status > 0 ? QStringLiteral("HTTP %1").arg(status) : QStringLiteral("stream error");
    if (!b.message.isEmpty())
        text += QStringLiteral(": ") + b.message;
    if (!b.code.isEmpty() && !b.message.contains(b.code))
        text += QStringLiteral(" (%1)").arg(b.code);
    return text;
}

QDateTime parseHttpDate(const QString &text)
{
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and
    // asctime "Sun Nov  6 08:49:37 1994" (RFC 9110 section 5.6.7). The weekday is dropped: it is
    // redundant and Qt would check it against a two-digit year's century.
    const QLocale c = QLocale::c();
    QString t = text.simplified();
    const qsizetype comma = t.indexOf(QLatin1Char(','));
    QStringList formats;
    if (comma >= 0) {
        t = t.mid(comma + 1).trimmed();
        formats << QStringLiteral("dd MMM yyyy hh:mm:ss 'GMT'") << QStringLiteral("dd-MMM-yy hh:mm:ss 'GMT'");
    } else {
        t = t.section(QLatin1Char(' '), 1);
        formats << QStringLiteral("MMM d hh:mm:ss yyyy");
    }
    for (const QString &f : std::as_const(formats)) {
        QDateTime dt = c.toDateTime(t, f);
        if (!dt.isValid())
            continue;
        dt.setTimeSpec(Qt::UTC);
        if (dt.date().year() < 1970)
            dt = dt.addYears(100);
        return dt;
    }
    return {};
}

} // namespace

QString sanitizeUpstreamText(const QString &text)
{
    static const QRegularExpression keys(QStringLiteral("\\b(sk-[A-Za-z0-9_\\-]{2})[A-Za-z0-9_\\-*]{4,}"));
    static const QRegularExpression bearer(QStringLiteral("(?i)(bearer\\s+)[A-Za-z0-9._\\-]{6,}"));
    QString t = text;
    t.replace(keys, QStringLiteral("\\1***"));
    t.replace(bearer, QStringLiteral("\\1***"));
    t.replace(QLatin1Char('\r'), QLatin1Char(' ')).replace(QLatin1Char('\n'), QLatin1Char(' '));
    t = t.trimmed();
    if (t.size() > 300)
        t = t.left(300) + QStringLiteral("...");
    return t;
}

ErrorBody parseErrorBody(const QByteArray &body)
{
    ErrorBody b;
    QJsonParseError perr{};
    // QJsonDocument refuses top-level scalars: wrap to accept a bare JSON string.
    const QJsonDocument doc = QJsonDocument::fromJson("[" + body + "]", &perr);
    if (perr.error != QJsonParseError::NoError || doc.array().size() != 1) {
        const QString text = QString::fromUtf8(body).simplified();
        if (!text.isEmpty() && !text.startsWith(QLatin1Char('<')))
            b.message = sanitizeUpstreamText(text);
        return b;
    }
    const QJsonValue root = doc.array().first();
    if (root.isString()) {
        b.recognized = true;
        b.message = sanitizeUpstreamText(root.toString());
        return b;
    }
    const QJsonObject o = root.toObject();
    const QJsonValue error = o.value(QStringLiteral("error"));
    if (error.isObject()) {
        const QJsonObject e = error.toObject();
        b.recognized = true;
        b.message = sanitizeUpstreamText(e.value(QStringLiteral("message")).toString());
        b.type = e.value(QStringLiteral("type")).toString();
        const QJsonValue code = e.value(QStringLiteral("code"));
        if (code.isString()) {
            b.code = code.toString();
            bool ok = false;
            const int n = b.code.toInt(&ok);
            if (ok)
                b.numericCode = n;
        } else if (code.isDouble()) {
            b.numericCode = code.toInt();
            b.code = QString::number(b.numericCode);
        }
        return b;
    }
    if (error.isString()) {
        b.recognized = true;
        b.message = sanitizeUpstreamText(error.toString());
        return b;
    }
    if (o.contains(QStringLiteral("code")) && o.contains(QStringLiteral("message"))) {
        b.recognized = true;
        const QJsonValue code = o.value(QStringLiteral("code"));
        b.numericCode = code.isDouble() ? code.toInt() : code.toString().toInt();
        b.code = code.isDouble() ? QString::number(b.numericCode) : code.toString();
        b.message = sanitizeUpstreamText(o.value(QStringLiteral("message")).toString());
        return b;
    }
    if (o.contains(QStringLiteral("message"))) {
        b.recognized = true;
        b.message = sanitizeUpstreamText(o.value(QStringLiteral("message")).toString());
        return b;
    }
    if (o.value(QStringLiteral("content")).isString()) { // older llama.cpp "error:" field
        b.recognized = true;
        b.message = sanitizeUpstreamText(o.value(QStringLiteral("content")).toString());
        return b;
    }
    if (o.contains(QStringLiteral("detail"))) {
        b.recognized = true;
        const QJsonValue d = o.value(QStringLiteral("detail"));
        b.message = sanitizeUpstreamText(d.isString() ? d.toString() : QString::fromUtf8(QJsonDocument(d.toArray()).toJson(QJsonDocument::Compact)));
        return b;
    }
    return b;
}

int parseRetryAfterMs(const QByteArray &retryAfterMs, const QByteArray &retryAfter, const QDateTime &nowUtc)
{
    bool ok = false;
    const double ms = retryAfterMs.trimmed().toDouble(&ok);
    if (ok && std::isfinite(ms) && ms >= 0)
        return int(std::min<double>(std::ceil(ms), kMaxRetryAfterMs));
    const QByteArray ra = retryAfter.trimmed();
    if (ra.isEmpty())
        return -1;
    const double seconds = ra.toDouble(&ok);
    if (ok && std::isfinite(seconds) && seconds >= 0)
        return int(std::min<double>(std::ceil(seconds * 1000), kMaxRetryAfterMs));
    const QDateTime when = parseHttpDate(QString::fromLatin1(ra));
    if (!when.isValid())
        return -1;
    const qint64 delta = nowUtc.msecsTo(when);
    return int(std::clamp<qint64>(delta, 0, kMaxRetryAfterMs));
}

UpstreamError classifyHttpError(int status, const QByteArray &body, const QByteArray &retryAfterMsHeader,
                                const QByteArray &retryAfterHeader, const QDateTime &nowUtc)
{
    const ErrorBody b = parseErrorBody(body);
    UpstreamError e;
    e.httpStatus = status;
    e.message = describe(status, b);
    e.retryAfterMs = parseRetryAfterMs(retryAfterMsHeader, retryAfterHeader, nowUtc);
    if (status == 402 || mentionsQuota(b))
        e.kind = UpstreamErrorKind::Quota;
    else if (status == 401 || status == 403)
        e.kind = UpstreamErrorKind::Auth;
    else if (status == 429)
        e.kind = UpstreamErrorKind::RateLimited;
    else if (status == 408)
        e.kind = UpstreamErrorKind::Timeout;
    else if (status >= 500)
        e.kind = UpstreamErrorKind::Server;
    else if (status >= 400)
        e.kind = UpstreamErrorKind::BadRequest;
    else
        e.kind = UpstreamErrorKind::Malformed; // not an error status: the caller could not make sense of it
    return e;
}

UpstreamError classifyStreamError(const QByteArray &payload)
{
    const ErrorBody b = parseErrorBody(payload);
    UpstreamError e;
    e.message = describe(0, b);
    if (mentionsQuota(b)) {
        e.kind = UpstreamErrorKind::Quota;
    } else if (b.numericCode == 429 || b.code == QLatin1String("rate_limit_exceeded")) {
        e.kind = UpstreamErrorKind::RateLimited;
    } else if (b.numericCode >= 400 && b.numericCode < 500) {
        e.kind = b.numericCode == 401 || b.numericCode == 403 ? UpstreamErrorKind::Auth : UpstreamErrorKind::BadRequest;
        e.httpStatus = b.numericCode;
    } else {
        e.kind = UpstreamErrorKind::Server;
    }
    return e;
}

UpstreamError classifyNetworkError(QNetworkReply::NetworkError code, const QString &errorText)
{
    UpstreamError e;
    e.kind = code == QNetworkReply::TimeoutError ? UpstreamErrorKind::Timeout : UpstreamErrorKind::Network;
    QString what;
    switch (code) {
    case QNetworkReply::ConnectionRefusedError: what = QStringLiteral("connection refused"); break;
    case QNetworkReply::RemoteHostClosedError: what = QStringLiteral("connection closed by the server"); break;
    case QNetworkReply::HostNotFoundError: what = QStringLiteral("host not found"); break;
    case QNetworkReply::TimeoutError: what = QStringLiteral("network timeout"); break;
    case QNetworkReply::SslHandshakeFailedError: what = QStringLiteral("TLS handshake failed"); break;
    case QNetworkReply::TemporaryNetworkFailureError:
    case QNetworkReply::NetworkSessionFailedError: what = QStringLiteral("network unavailable"); break;
    case QNetworkReply::ProxyConnectionRefusedError:
    case QNetworkReply::ProxyConnectionClosedError:
    case QNetworkReply::ProxyNotFoundError:
    case QNetworkReply::ProxyTimeoutError:
    case QNetworkReply::ProxyAuthenticationRequiredError: what = QStringLiteral("proxy error"); break;
    default: what = QStringLiteral("network error %1").arg(int(code)); break;
    }
    // Qt's error text may contain the URL: keep only our own wording.
    Q_UNUSED(errorText)
    e.message = what;
    return e;
}

} // namespace tianyi
