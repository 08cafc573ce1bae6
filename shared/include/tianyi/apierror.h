#pragma once
// The error body every HTTP endpoint uses: {"error":{"code":"snake_case","message":"human text"}}
// (the OAuth2 token endpoint's RFC 6749 {"error":"code","error_description":"text"} is read as well).
// Shared so that clients (tianyi-cli, tianyi-admin, bench) parse exactly what the server writes.

#include <QByteArray>
#include <QString>
#include <optional>

namespace tianyi {

struct ApiError {
    QString code;
    QString message;

    QByteArray toJson() const;
    // Parses an error body; nullopt if the body is not of that shape.
    static std::optional<ApiError> fromJson(const QByteArray &body);
};

} // namespace tianyi
