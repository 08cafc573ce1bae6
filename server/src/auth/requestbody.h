#pragma once
// Reading request bodies for the account endpoints: a JSON object, or flat string parameters
// from a form (application/x-www-form-urlencoded) or a JSON object (the OAuth2 token endpoint
// accepts both). Errors name the offending field.

#include "net/httpmessage.h"

#include <QHash>
#include <QJsonObject>
#include <QString>

namespace tianyi {

struct JsonBody {
    QJsonObject object;
    QString problem; // empty when the body is a JSON object
};

struct FlatParameters {
    QHash<QString, QString> values;
    QString problem; // empty when parsed; says what is wrong (repeated parameter, non-string value)

    // The value of name, or a null QString when absent.
    QString value(const QString &name) const { return values.value(name); }
    bool has(const QString &name) const { return values.contains(name); }
};

JsonBody parseJsonObject(const HttpRequest &request);
FlatParameters parseFlatParameters(const HttpRequest &request);
// application/x-www-form-urlencoded as browsers send it ('+' is a space, percent-escapes are UTF-8).
FlatParameters parseFormUrlEncoded(const QByteArray &body);

} // namespace tianyi
