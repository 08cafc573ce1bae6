#include "compat/olvhistory.h"

#include "storage/database.h"

#include <QDateTime>
#include <QJsonObject>
#include <QSet>

namespace tianyi::olv {

namespace {

// OLV writes Python's datetime.isoformat(timespec="seconds"): local time without a zone.
QString timestamp(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms).toString(Qt::ISODate);
}

qint64 endedAt(const StoredTurn &t)
{
    return t.completedAtMs > 0 ? t.completedAtMs : t.createdAtMs;
}

} // namespace

QJsonArray OlvHistory::toList(const QVector<StoredTurn> &turnsNewestFirst)
{
    QJsonArray out;
    QSet<QString> seen;
    for (const StoredTurn &t : turnsNewestFirst) {
        if (seen.contains(t.sessionId))
            continue;
        if (int(seen.size()) >= kMaxHistories)
            break;
        seen.insert(t.sessionId);
        const bool replied = !t.replyText.isEmpty();
        out.append(QJsonObject{{QStringLiteral("uid"), t.sessionId},
                               {QStringLiteral("latest_message"),
                                QJsonObject{{QStringLiteral("role"), replied ? QStringLiteral("ai") : QStringLiteral("human")},
                                            {QStringLiteral("timestamp"), timestamp(endedAt(t))},
                                            {QStringLiteral("content"), replied ? t.replyText : t.userText}}},
                               {QStringLiteral("timestamp"), timestamp(endedAt(t))}});
    }
    return out;
}

QJsonArray OlvHistory::toMessages(const QVector<StoredTurn> &turnsNewestFirst, const QString &historyUid, const QString &characterName)
{
    QJsonArray out;
    for (auto it = turnsNewestFirst.crbegin(); it != turnsNewestFirst.crend(); ++it) {
        const StoredTurn &t = *it;
        if (t.sessionId != historyUid)
            continue;
        // id: the frontend's Message has one (its list key); unique per stored turn and role.
        out.append(QJsonObject{{QStringLiteral("id"), QStringLiteral("%1-human").arg(t.id)},
                               {QStringLiteral("role"), QStringLiteral("human")},
                               {QStringLiteral("timestamp"), timestamp(t.createdAtMs)},
                               {QStringLiteral("content"), t.userText},
                               {QStringLiteral("name"), QStringLiteral("Human")}});
        if (!t.replyText.isEmpty())
            out.append(QJsonObject{{QStringLiteral("id"), QStringLiteral("%1-ai").arg(t.id)},
                                   {QStringLiteral("role"), QStringLiteral("ai")},
                                   {QStringLiteral("timestamp"), timestamp(endedAt(t))},
                                   {QStringLiteral("content"), t.replyText},
                                   {QStringLiteral("name"), characterName}});
    }
    return out;
}

void OlvHistory::scan(QObject *context, qint64 userId, std::function<void(std::optional<QVector<StoredTurn>>)> done) const
{
    m_db.read<QVector<StoredTurn>>(
        context, [userId](SqlSession &s) { return TurnRepository::history(s, userId, 0, kScanTurns); },
        [done = std::move(done)](DbResult<QVector<StoredTurn>> result) {
            done(result.ok() ? std::optional<QVector<StoredTurn>>(std::move(*result.value)) : std::nullopt);
        });
}

void OlvHistory::list(QObject *context, qint64 userId, std::function<void(std::optional<QJsonArray>)> done) const
{
    scan(context, userId, [done = std::move(done)](std::optional<QVector<StoredTurn>> turns) {
        done(turns ? std::optional<QJsonArray>(toList(*turns)) : std::nullopt);
    });
}

void OlvHistory::messages(QObject *context, qint64 userId, const QString &historyUid, std::function<void(std::optional<QJsonArray>)> done) const
{
    const QString name = m_characterName;
    scan(context, userId, [done = std::move(done), historyUid, name](std::optional<QVector<StoredTurn>> turns) {
        done(turns ? std::optional<QJsonArray>(toMessages(*turns, historyUid, name)) : std::nullopt);
    });
}

} // namespace tianyi::olv
