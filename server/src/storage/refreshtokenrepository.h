#pragma once
// SQL for the refresh_tokens table (only SHA-256 hashes of tokens are stored). Storage thread
// only, inside Database::write work; bound parameters only.

#include "storage/database.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <optional>

namespace tianyi {

struct RefreshTokenRecord {
    qint64 id = 0;
    qint64 userId = 0;
    QString familyId;
    qint64 expiresAtMs = 0;
    bool rotated = false;
    bool revoked = false;
    qint64 loginCreatedAtMs = 0; // when the family's first token was issued (kept across rotations)
};

// A browser login as its owner sees it: a family that still has a current token.
struct LiveLoginRecord {
    QString familyId;
    qint64 createdAtMs = 0;   // the login (first token of the family)
    qint64 expiresAtMs = 0;   // of the current token
    qint64 lastUsedAtMs = 0;  // the current token's issue: the last login or refresh
};

class RefreshTokenRepository
{
public:
    explicit RefreshTokenRepository(SqlSession &session) : m_s(session) {}

    // loginCreatedMs: when the family began (nowMs for a new login, the family's own on rotation).
    void insert(qint64 userId, const QString &familyId, const QByteArray &tokenHash, qint64 nowMs, qint64 expiresAtMs, qint64 loginCreatedMs);
    std::optional<RefreshTokenRecord> findByHash(const QByteArray &tokenHash);
    void markRotated(qint64 id, qint64 nowMs);
    // Returns how many live tokens were revoked.
    int revokeFamily(const QString &familyId, qint64 nowMs);
    int revokeAllOfUser(qint64 userId, qint64 nowMs);
    // True while the family still has its current token (neither rotated nor revoked): the login has
    // not been logged out, revoked for reuse, or pruned.
    bool loginIsLive(qint64 userId, const QString &familyId);
    // The user's logins whose current token is neither rotated, revoked nor expired.
    QList<LiveLoginRecord> liveLoginsOfUser(qint64 userId, qint64 nowMs);
    // Revokes one family of this user; false when the user has no live token in it (another user's
    // family is never touched).
    bool revokeFamilyOfUser(qint64 userId, const QString &familyId, qint64 nowMs);
    // Housekeeping: rows past their expiry or revoked can never be used again.
    int deleteDeadOfUser(qint64 userId, qint64 nowMs);
    // Keeps the newest `keep` rotated rows of a family (enough to notice a stolen copy of a recent
    // token being replayed) and deletes older ones.
    int pruneRotatedOfFamily(const QString &familyId, int keep);
    // Keeps the user's `keep` most recently used families (logins) and deletes the rest.
    int keepNewestFamiliesOfUser(qint64 userId, int keep);
    // Deletes at most `limit` expired rows of any user (bounded work per call).
    int deleteExpired(qint64 nowMs, int limit);
    int countOfUser(qint64 userId);

private:
    SqlSession &m_s;
};

} // namespace tianyi
