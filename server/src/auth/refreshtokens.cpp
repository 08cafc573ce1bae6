#include "auth/refreshtokens.h"

#include "auth/cryptoutil.h"
#include "storage/refreshtokenrepository.h"
#include "storage/userrepository.h"

namespace tianyi {

namespace {
constexpr int kTokenBytes = 32;
constexpr int kTokenChars = 43; // base64url of 32 bytes, no padding
// Rotated rows kept per family: a replayed copy of one of the last few tokens is still recognised
// as reuse (and revokes the family); older copies are merely unknown. Bounds rows per login.
constexpr int kRotatedKeptPerFamily = 4;
// Logins (families) kept per user: a new login beyond this ends the least recently used one.
constexpr int kFamiliesKeptPerUser = 32;
// Expired rows of any user deleted per login: users who never return are cleaned up over time
// without one login paying for the whole table.
constexpr int kExpiredSweptPerIssue = 64;
} // namespace

QByteArray RefreshTokens::generate()
{
    return crypto::base64UrlEncode(crypto::randomBytes(kTokenBytes));
}

QString RefreshTokens::newFamilyId()
{
    return QString::fromLatin1(crypto::randomBytes(16).toHex());
}

QByteArray RefreshTokens::hashOf(const QByteArray &token)
{
    return crypto::sha256(token);
}

bool RefreshTokens::wellFormed(const QByteArray &token)
{
    return token.size() == kTokenChars && crypto::base64UrlDecode(token).has_value();
}

QString RefreshTokens::issue(SqlSession &s, qint64 userId, const QByteArray &token, qint64 nowMs, qint64 ttlMs)
{
    RefreshTokenRepository repo(s);
    repo.deleteDeadOfUser(userId, nowMs);
    repo.deleteExpired(nowMs, kExpiredSweptPerIssue);
    const QString familyId = newFamilyId();
    repo.insert(userId, familyId, hashOf(token), nowMs, nowMs + ttlMs, nowMs);
    repo.keepNewestFamiliesOfUser(userId, kFamiliesKeptPerUser);
    return familyId;
}

RefreshTokens::Rotation RefreshTokens::rotate(SqlSession &s, const QByteArray &presented, const QByteArray &replacement, qint64 nowMs, qint64 ttlMs)
{
    using Outcome = Rotation::Outcome;
    Rotation r;
    RefreshTokenRepository repo(s);
    const std::optional<RefreshTokenRecord> row = repo.findByHash(hashOf(presented));
    if (!row) {
        r.outcome = Outcome::Unknown;
        return r;
    }
    r.userId = row->userId;
    r.loginId = row->familyId;
    if (row->rotated || row->revoked) {
        repo.revokeFamily(row->familyId, nowMs);
        // Rotated: a copy of an old token is in use (theft or a confused client). Revoked: after
        // logout or an earlier reuse; revoking again is a no-op but keeps the rule simple.
        r.outcome = row->rotated ? Outcome::Reused : Outcome::Revoked;
        return r;
    }
    if (row->expiresAtMs <= nowMs) {
        r.outcome = Outcome::Expired;
        return r;
    }
    const std::optional<UserRecord> user = UserRepository(s).findById(row->userId);
    if (!user) {
        r.outcome = Outcome::Unknown;
        return r;
    }
    if (user->disabled) {
        repo.revokeFamily(row->familyId, nowMs);
        r.outcome = Outcome::AccountDisabled;
        return r;
    }
    repo.markRotated(row->id, nowMs);
    repo.insert(row->userId, row->familyId, hashOf(replacement), nowMs, nowMs + ttlMs, row->loginCreatedAtMs);
    repo.pruneRotatedOfFamily(row->familyId, kRotatedKeptPerFamily);
    r.outcome = Outcome::Rotated;
    r.role = user->role;
    r.tokenVersion = user->tokenVersion;
    r.username = user->username;
    return r;
}

std::optional<RefreshTokens::RevokedLogin> RefreshTokens::revokeFamilyOf(SqlSession &s, const QByteArray &presented, qint64 nowMs)
{
    RefreshTokenRepository repo(s);
    const std::optional<RefreshTokenRecord> row = repo.findByHash(hashOf(presented));
    if (!row)
        return std::nullopt;
    repo.revokeFamily(row->familyId, nowMs);
    return RevokedLogin{row->userId, row->familyId};
}

} // namespace tianyi
