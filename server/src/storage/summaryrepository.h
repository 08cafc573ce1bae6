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

} // namespace SummaryRepository

} // namespace tianyi
