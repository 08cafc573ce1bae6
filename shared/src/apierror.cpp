#include "tianyi/apierror.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace tianyi {

QByteArray ApiError::toJson() const
{
    return QJsonDocument(QJsonObject{{QStringLiteral("error"), QJsonObject{{QStringLiteral("code"), code}, {QStringLiteral("message"), message}}}})
        .toJson(QJsonDocument::Compact);
}

std::optional<ApiError> ApiError::fromJson(const QByteArray &body)
{
    const QJsonDocument doc = QJsonDocument::fromJson(body);
    const QJsonObject err = doc.object().value(QStringLiteral("error")).toObject();
    if (!err.value(QStringLiteral("code")).isString())
        return std::nullopt;
    return ApiError{err.value(QStringLiteral("code")).toString(), err.value(QStringLiteral("message")).toString()};
}

} // namespace tianyi
