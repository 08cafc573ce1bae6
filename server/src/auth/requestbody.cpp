#include "auth/requestbody.h"

#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>

namespace tianyi {

JsonBody parseJsonObject(const HttpRequest &request)
{
    JsonBody out;
    if (request.body.trimmed().isEmpty()) {
        out.problem = QStringLiteral("the request body must be a JSON object");
        return out;
    }
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(request.body, &error);
    if (error.error != QJsonParseError::NoError) {
        out.problem = QStringLiteral("malformed JSON at offset %1: %2").arg(error.offset).arg(error.errorString());
        return out;
    }
    if (!doc.isObject()) {
        out.problem = QStringLiteral("the request body must be a JSON object");
        return out;
    }
    out.object = doc.object();
    return out;
}

FlatParameters parseFormUrlEncoded(const QByteArray &body)
{
    FlatParameters out;
    // QUrlQuery would keep '+' as '+': forms encode spaces as '+' (and a real '+' as %2B).
    for (const QByteArray &pair : body.split('&')) {
        if (pair.isEmpty())
            continue;
        const int eq = pair.indexOf('=');
        auto decode = [](QByteArray raw) { return QString::fromUtf8(QByteArray::fromPercentEncoding(raw.replace('+', ' '))); };
        const QString name = decode(eq < 0 ? pair : pair.left(eq));
        const QString value = eq < 0 ? QString() : decode(pair.mid(eq + 1));
        // RFC 6749 3.1: request parameters must not be included more than once.
        if (out.values.contains(name)) {
            out.problem = QStringLiteral("parameter %1 is repeated").arg(name);
            return out;
        }
        out.values.insert(name, value);
    }
    return out;
}

FlatParameters parseFlatParameters(const HttpRequest &request)
{
    if (request.isForm())
        return parseFormUrlEncoded(request.body);
    FlatParameters out;
    const JsonBody json = parseJsonObject(request);
    if (!json.problem.isEmpty()) {
        out.problem = json.problem + QStringLiteral(" (or send application/x-www-form-urlencoded)");
        return out;
    }
    for (auto it = json.object.begin(); it != json.object.end(); ++it) {
        if (it.value().isNull())
            continue; // null = absent
        if (!it.value().isString()) {
            out.problem = QStringLiteral("%1 must be a string").arg(it.key());
            return out;
        }
        out.values.insert(it.key(), it.value().toString());
    }
    return out;
}

} // namespace tianyi
