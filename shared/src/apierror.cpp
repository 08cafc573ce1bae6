#include "tianyi/apierror.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

namespace tianyi {

QByteArray ApiError::toJson() const
{
    return QJsonDocument(QJsonObject{{QStringLiteral("error"), QJsonObject{{QStringLiteral("code"), code}, {QStringLiteral("message"), message}}}})
        .toJson(QJsonDocument::Compact);
}

std::optional<ApiError> ApiError::fromJson(const QByteArray &body)
{
    const QJsonDocument doc = QJsonDocument::fromJson(body);
    // The OAuth2 token endpoint answers as RFC 6749 5.2 says: {"error":"invalid_grant","error_description":"..."}.
    const QJsonValue oauth = doc.object().value(QStringLiteral("error"));
    if (oauth.isString())
        return ApiError{oauth.toString(), doc.object().value(QStringLiteral("error_description")).toString()};
    const QJsonObject err = doc.object().value(QStringLiteral("error")).toObject();
    if (!err.value(QStringLiteral("code")).isString())
        return std::nullopt;
    return ApiError{err.value(QStringLiteral("code")).toString(), err.value(QStringLiteral("message")).toString()};
}

} // namespace tianyi
