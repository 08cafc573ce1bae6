#pragma once
// A user's logins as they see and manage them: browser logins (refresh-token families still live)
// and device logins (long-lived device tokens for clients that cannot log in, such as a VTuber
// client). Storage-thread functions, run inside the caller's Database work; plus the device-name rule.

#include "storage/database.h"

#include <QJsonArray>
#include <QString>
#include <optional>

namespace tianyi {

class Logins
{
public:
    // Device tokens one user may hold at once: each is a year-long credential, so a stolen access
    // token plus the password cannot fill the table, and the list stays short enough to review.
    static constexpr int kMaxDeviceTokensPerUser = 10;
    static constexpr int kMaxDeviceNameChars = 64;
    // Login ids are 32 hex characters; a longer path segment is not looked up at all.
    static constexpr int kMaxLoginIdChars = 64;

    // Trims `name` in place; returns what is wrong with it, or an empty string.
    static QString deviceNameProblem(QString &name);
    static QString newDeviceLoginId();

    struct NewDevice {
        QString id;
        QString name;
        qint64 expiresAtMs = 0;
    };
    enum class IssueRefusal { None, TooMany };
    struct Issued {
        IssueRefusal refusal = IssueRefusal::None;
        NewDevice device;
    };
    // Records a device login for the account at `tokenVersion` unless it already has the maximum
    // of live ones; first deletes the account's device logins that can never be used again.
    static Issued issueDevice(SqlSession &s, qint64 userId, qint64 tokenVersion, const QString &name, qint64 nowMs, qint64 ttlMs);

    // [{id, kind:"browser"|"device", name?, created_at, expires_at, last_used_at (or null), current}],
    // oldest first; `currentLoginId` is the caller's.
    static QJsonArray list(SqlSession &s, qint64 userId, qint64 tokenVersion, const QString &currentLoginId, qint64 nowMs);

    // Ends one login of this user (device or browser). False when the user has no such live login:
    // another user's id and an unknown id answer alike.
    static bool revoke(SqlSession &s, qint64 userId, const QString &loginId, qint64 nowMs);
};

} // namespace tianyi
