#pragma once
// Refresh tokens: 32 random bytes (base64url) given to the client once; only their SHA-256 is
// stored. Each login starts a family; each use rotates the token within its family. Presenting a
// token that was already rotated or revoked means it leaked (or the client is confused): the
// whole family is revoked, so neither the thief nor the victim can continue without a new login.
// issue/rotate/revoke run on the storage thread inside one Database::write transaction.

#include "storage/database.h"

#include <QByteArray>
#include <QString>
#include <optional>

namespace tianyi {

class RefreshTokens
{
public:
    static QByteArray generate();
    static QString newFamilyId();
    static QByteArray hashOf(const QByteArray &token);
    // Cheap shape check before touching storage (43 base64url characters).
    static bool wellFormed(const QByteArray &token);

    // Stores a fresh token of a new family for userId; prunes the user's expired and revoked rows,
    // its least recently used families beyond a cap, and a bounded batch of anyone's expired rows.
    // Returns the new family's id (the login id access tokens of this login carry).
    static QString issue(SqlSession &s, qint64 userId, const QByteArray &token, qint64 nowMs, qint64 ttlMs);

    struct Rotation {
        enum class Outcome { Rotated, Unknown, Expired, Reused, Revoked, AccountDisabled } outcome = Outcome::Unknown;
        qint64 userId = 0;
        QString role;
        QString username;
        qint64 tokenVersion = 0;
        QString loginId; // the family; set whenever the token was found
    };
    // Exchanges `presented` for `replacement` (same family). Everything it decides is written in
    // the caller's transaction: a reuse both revokes the family and fails. Rotated rows of the
    // family beyond the newest few are deleted, so rows stay bounded however often it rotates.
    static Rotation rotate(SqlSession &s, const QByteArray &presented, const QByteArray &replacement, qint64 nowMs, qint64 ttlMs);

    struct RevokedLogin {
        qint64 userId = 0;
        QString loginId;
    };
    // Revokes the family of `presented` (logout). nullopt when the token is unknown.
    static std::optional<RevokedLogin> revokeFamilyOf(SqlSession &s, const QByteArray &presented, qint64 nowMs);
};

} // namespace tianyi
