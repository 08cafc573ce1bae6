#include "upstream/speechhttp.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <algorithm>

namespace tianyi::speech {

QUrl joinUrl(const QUrl &base, const QString &relativePath)
{
    QUrl url = base;
    QString path = url.path();
    if (!path.endsWith(QLatin1Char('/')))
        path += QLatin1Char('/');
    QString rel = relativePath;
    while (rel.startsWith(QLatin1Char('/')))
        rel.remove(0, 1);
    url.setPath(path + rel);
    url.setQuery(QString());
    return url;
}

namespace {

QString shorten(QString text)
{
    text = text.simplified();
    if (text.size() > 300)
        text = text.left(300) + QStringLiteral("...");
    return text;
}

QString detailText(const QJsonValue &detail)
{
    if (detail.isString())
        return detail.toString();
    if (!detail.isArray())
        return {};
    QStringList items;
    for (const QJsonValue &v : detail.toArray()) {
        const QJsonObject o = v.toObject();
        QStringList loc;
        for (const QJsonValue &l : o.value(QStringLiteral("loc")).toArray())
            loc << (l.isDouble() ? QString::number(l.toInt()) : l.toString());
        const QString msg = o.value(QStringLiteral("msg")).toString();
        items << (loc.isEmpty() ? msg : loc.join(QLatin1Char('.')) + QStringLiteral(": ") + msg);
    }
    return items.join(QStringLiteral("; "));
}

} // namespace

QString errorBodyText(const QByteArray &body)
{
    QJsonParseError perr;
    // A bare JSON string is not a document for QJsonDocument: wrap it.
    const QJsonDocument doc = QJsonDocument::fromJson("[" + body + "]", &perr);
    if (perr.error == QJsonParseError::NoError && doc.isArray() && doc.array().size() == 1) {
        const QJsonValue v = doc.array().at(0);
        if (v.isString())
            return shorten(v.toString());
        if (v.isObject()) {
            const QJsonObject o = v.toObject();
            const QJsonValue err = o.value(QStringLiteral("error"));
            if (err.isObject() && err.toObject().value(QStringLiteral("message")).isString())
                return shorten(err.toObject().value(QStringLiteral("message")).toString());
            if (err.isString())
                return shorten(err.toString());
            if (o.value(QStringLiteral("message")).isString()) {
                QString text = o.value(QStringLiteral("message")).toString();
                const QJsonValue ex = o.value(QStringLiteral("Exception"));
                if (!ex.isUndefined() && !ex.isNull())
                    text += QStringLiteral(": ") + (ex.isString() ? ex.toString() : QString::fromUtf8(QJsonDocument(QJsonArray{ex}).toJson(QJsonDocument::Compact)));
                return shorten(text);
            }
            if (o.contains(QStringLiteral("detail")))
                return shorten(detailText(o.value(QStringLiteral("detail"))));
        }
    }
    return shorten(QString::fromUtf8(body));
}

namespace {

int retryAfterMs(const QNetworkReply *reply)
{
    if (!reply)
        return -1;
    bool ok = false;
    const QByteArray ms = reply->rawHeader("retry-after-ms");
    if (!ms.isEmpty()) {
        const double v = ms.trimmed().toDouble(&ok);
        if (ok && v >= 0)
            return int(qMin(v, 120000.0));
    }
    const QByteArray ra = reply->rawHeader("retry-after").trimmed();
    if (ra.isEmpty())
        return -1;
    const double secs = ra.toDouble(&ok);
    if (ok && secs >= 0)
        return int(qMin(secs, 120.0) * 1000);
    const QDateTime when = QDateTime::fromString(QString::fromLatin1(ra), Qt::RFC2822Date);
    if (when.isValid())
        return int(std::clamp<qint64>(QDateTime::currentDateTimeUtc().msecsTo(when), 0, 120000));
    return -1;
}

} // namespace

UpstreamError httpError(const QString &service, int status, const QByteArray &body, const QNetworkReply *reply)
{
    UpstreamError e;
    e.httpStatus = status;
    if (status == 401 || status == 403)
        e.kind = UpstreamErrorKind::Auth;
    else if (status == 429) {
        e.kind = UpstreamErrorKind::RateLimited;
        e.retryAfterMs = retryAfterMs(reply);
    } else if (status == 402)
        e.kind = UpstreamErrorKind::Quota;
    else if (status == 408)
        e.kind = UpstreamErrorKind::Timeout;
    else if (status >= 400 && status < 500)
        e.kind = UpstreamErrorKind::BadRequest;
    else
        e.kind = UpstreamErrorKind::Server;
    const QString detail = errorBodyText(body);
    e.message = QStringLiteral("%1 answered HTTP %2%3").arg(service).arg(status).arg(detail.isEmpty() ? QString() : QStringLiteral(": ") + detail);
    return e;
}

UpstreamError transportError(const QString &service, QNetworkReply::NetworkError code, const QString &errorString, bool timedOut)
{
    UpstreamError e;
    if (timedOut || code == QNetworkReply::TimeoutError) {
        e.kind = UpstreamErrorKind::Timeout;
        e.message = QStringLiteral("%1 timed out").arg(service);
        return e;
    }
    e.kind = UpstreamErrorKind::Network;
    e.message = QStringLiteral("%1 unreachable: %2").arg(service, errorString);
    return e;
}

} // namespace tianyi::speech
