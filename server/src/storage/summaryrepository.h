#pragma once
// The rolling summary of each user's older turns (table summaries, one row per user). Storage
// thread only (inside Database::read/write work); throws DbError on failure.

#include <QString>
#include <optional>

namespace tianyi {

class SqlSession;

struct UserSummary {
    QString text;
    qint64 lastTurnId = 0;   // turns up to this id are in text
};

namespace SummaryRepository {

std::optional<UserSummary> find(SqlSession &s, qint64 userId);
// Replaces the user's summary only with one that covers more turns (a re-run of an older fold is a
// no-op); nothing for an account that is gone.
void store(SqlSession &s, qint64 userId, const QString &text, qint64 lastTurnId, qint64 nowMs);
// Turns from oldestDeletedTurnId on were deleted: a summary that folded any of them goes (the next
// fold starts again from the turns that remain). Returns whether it did.
bool dropIfCovers(SqlSession &s, qint64 userId, qint64 oldestDeletedTurnId);

} // namespace SummaryRepository

} // namespace tianyi
