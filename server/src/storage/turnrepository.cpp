#include "storage/turnrepository.h"

#include "storage/database.h"

#include <QDateTime>
#include <QHash>
#include <QJsonDocument>
#include <algorithm>
#include <limits>

namespace tianyi {

namespace {

const QString kTurnColumns = QStringLiteral("id, user_id, session_id, turn_no, user_text, reply_text, status, emotion, stats, created_at, completed_at");

StoredTurn turnFromRow(QSqlQuery &q)
{
    StoredTurn t;
    t.id = q.value(0).toLongLong();
    t.userId = q.value(1).toLongLong();
    t.sessionId = q.value(2).toString();
    t.turnNo = q.value(3).toInt();
    t.userText = q.value(4).toString();
    t.replyText = q.value(5).toString();
    t.status = q.value(6).toString();
    t.emotion = q.value(7).toString();
    t.stats = QJsonDocument::fromJson(q.value(8).toString().toUtf8()).object();
    t.createdAtMs = q.value(9).toLongLong();
    t.completedAtMs = q.value(10).isNull() ? 0 : q.value(10).toLongLong();
    return t;
}

// Sentences of the given turns of one user, attached in ascending index order.
void attachSentences(SqlSession &s, qint64 userId, QVector<StoredTurn> &turns)
{
    if (turns.isEmpty())
        return;
    QHash<qint64, int> position;
    qint64 lowest = turns.first().id;
    qint64 highest = lowest;
    for (int i = 0; i < turns.size(); ++i) {
        position.insert(turns[i].id, i);
        lowest = qMin(lowest, turns[i].id);
        highest = qMax(highest, turns[i].id);
    }
    // One range query over (user, turn) instead of one per turn; rows of turns not on this page are skipped.
    QSqlQuery q = s.exec(QStringLiteral("SELECT turn_id, sentence_index, text, emotion, relative_path, duration_ms, bytes, created_at"
                                        " FROM turn_audio WHERE user_id = ? AND turn_id BETWEEN ? AND ?"
                                        " ORDER BY turn_id, sentence_index"),
                         {userId, lowest, highest});
    while (q.next()) {
        const auto it = position.constFind(q.value(0).toLongLong());
        if (it == position.constEnd())
            continue;
        SentenceAudio a;
        a.index = q.value(1).toInt();
        a.text = q.value(2).toString();
        a.emotion = q.value(3).toString();
        a.relativePath = q.value(4).toString();
        a.durationMs = q.value(5).toInt();
        a.bytes = q.value(6).toLongLong();
        a.createdAtMs = q.value(7).toLongLong();
        turns[*it].sentences.append(a);
    }
}

// A null QString binds as SQL NULL; the text columns are NOT NULL, so empty means "".
QString text(const QString &v)
{
    return v.isNull() ? QStringLiteral("") : v;
}

bool isFinalStatus(const QString &status)
{
    return status == QLatin1String("completed") || status == QLatin1String("interrupted") || status == QLatin1String("failed");
}

} // namespace

namespace TurnRepository {

qint64 insertPending(SqlSession &s, qint64 userId, const QString &sessionId, int turnNo, const QString &userText, qint64 nowMs)
{
    QSqlQuery q = s.exec(QStringLiteral("INSERT INTO turns(user_id, session_id, turn_no, user_text, status, created_at)"
                                        " VALUES (?, ?, ?, ?, 'pending', ?)"),
                         {userId, text(sessionId), turnNo, text(userText), nowMs});
    return s.lastInsertId(q);
}

void finish(SqlSession &s, qint64 turnId, qint64 userId, const QString &replyText, const QString &status, const QString &emotion,
            const QJsonObject &stats, qint64 nowMs)
{
    if (!isFinalStatus(status))
        throw DbError(QStringLiteral("finish: status must be completed, interrupted or failed, not \"%1\"").arg(status).toStdString());
    QSqlQuery q = s.exec(QStringLiteral("UPDATE turns SET reply_text = ?, status = ?, emotion = ?, stats = ?, completed_at = ?"
                                        " WHERE id = ? AND user_id = ?"),
                         {text(replyText), status, text(emotion), QString::fromUtf8(QJsonDocument(stats).toJson(QJsonDocument::Compact)), nowMs,
                          turnId, userId});
    if (q.numRowsAffected() == 0)
        throw DbError(QStringLiteral("finish: turn %1 of user %2 not found").arg(turnId).arg(userId).toStdString());
}

void addSentenceAudio(SqlSession &s, qint64 turnId, qint64 userId, const SentenceAudio &audio)
{
    const qint64 createdAt = audio.createdAtMs > 0 ? audio.createdAtMs : QDateTime::currentMSecsSinceEpoch();
    // The SELECT scopes the insert: nothing is written unless the turn is the user's.
    QSqlQuery q = s.exec(QStringLiteral("INSERT OR REPLACE INTO turn_audio(turn_id, user_id, sentence_index, text, emotion, relative_path,"
                                        " duration_ms, bytes, created_at)"
                                        " SELECT id, user_id, ?, ?, ?, ?, ?, ?, ? FROM turns WHERE id = ? AND user_id = ?"),
                         {audio.index, text(audio.text), text(audio.emotion), text(audio.relativePath), audio.durationMs, audio.bytes, createdAt, turnId, userId});
    if (q.numRowsAffected() == 0)
        throw DbError(QStringLiteral("addSentenceAudio: turn %1 of user %2 not found").arg(turnId).arg(userId).toStdString());
}

QVector<StoredTurn> recentForPrompt(SqlSession &s, qint64 userId, int limit)
{
    QVector<StoredTurn> out;
    if (limit <= 0)
        return out;
    QSqlQuery q = s.exec(QStringLiteral("SELECT %1 FROM turns WHERE user_id = ? AND status IN ('completed','interrupted')"
                                        " ORDER BY id DESC LIMIT ?").arg(kTurnColumns),
                         {userId, limit});
    while (q.next())
        out.append(turnFromRow(q));
    std::reverse(out.begin(), out.end());
    return out;
}

QVector<StoredTurn> history(SqlSession &s, qint64 userId, qint64 beforeId, int limit, bool includePending)
{
    QVector<StoredTurn> out;
    if (limit <= 0)
        return out;
    const qint64 before = beforeId > 0 ? beforeId : std::numeric_limits<qint64>::max();
    QSqlQuery q = s.exec(QStringLiteral("SELECT %1 FROM turns WHERE user_id = ? AND id < ? %2 ORDER BY id DESC LIMIT ?")
                             .arg(kTurnColumns, includePending ? QString() : QStringLiteral("AND status <> 'pending'")),
                         {userId, before, limit});
    while (q.next())
        out.append(turnFromRow(q));
    attachSentences(s, userId, out);
    return out;
}

std::optional<SentenceAudio> sentenceAudio(SqlSession &s, qint64 userId, qint64 turnId, int sentenceIndex)
{
    QSqlQuery q = s.exec(QStringLiteral("SELECT sentence_index, text, emotion, relative_path, duration_ms, bytes, created_at FROM turn_audio"
                                        " WHERE turn_id = ? AND sentence_index = ? AND user_id = ? AND relative_path <> ''"),
                         {turnId, sentenceIndex, userId});
    if (!q.next())
        return std::nullopt;
    SentenceAudio a;
    a.index = q.value(0).toInt();
    a.text = q.value(1).toString();
    a.emotion = q.value(2).toString();
    a.relativePath = q.value(3).toString();
    a.durationMs = q.value(4).toInt();
    a.bytes = q.value(5).toLongLong();
    a.createdAtMs = q.value(6).toLongLong();
    return a;
}

std::optional<StoredTurn> turn(SqlSession &s, qint64 userId, qint64 turnId)
{
    QSqlQuery q = s.exec(QStringLiteral("SELECT %1 FROM turns WHERE id = ? AND user_id = ?").arg(kTurnColumns), {turnId, userId});
    if (!q.next())
        return std::nullopt;
    QVector<StoredTurn> one{turnFromRow(q)};
    attachSentences(s, userId, one);
    return one.first();
}

SessionDeletion deleteSession(SqlSession &s, qint64 userId, const QString &sessionId, int maxTurns, bool refuseRunning)
{
    SessionDeletion out;
    if (maxTurns <= 0)
        return out;
    if (refuseRunning
        && s.scalar(QStringLiteral("SELECT 1 FROM turns WHERE user_id = ? AND session_id = ? AND status = 'pending' LIMIT 1"), {userId, sessionId})) {
        out.running = true;
        return out;
    }
    // The batch is every finished turn of the session up to the highest id of its oldest maxTurns:
    // the later statements select it by that id, so they touch exactly the turns counted here.
    QSqlQuery ids = s.exec(QStringLiteral("SELECT id FROM turns WHERE user_id = ? AND session_id = ? AND status <> 'pending'"
                                          " ORDER BY id LIMIT ?"),
                           {userId, sessionId, maxTurns + 1});
    qint64 highest = 0;
    while (ids.next()) {
        if (out.turns == maxTurns) {
            out.more = true;
            break;
        }
        highest = ids.value(0).toLongLong();
        if (out.turns++ == 0)
            out.lowestTurnId = highest;
    }
    if (out.turns == 0)
        return out;
    const QString batch = QStringLiteral("SELECT id FROM turns WHERE user_id = ? AND session_id = ? AND status <> 'pending' AND id <= ?");
    const QVariantList args{userId, sessionId, highest};
    QSqlQuery files = s.exec(QStringLiteral("SELECT turn_id, sentence_index, relative_path, bytes FROM turn_audio"
                                            " WHERE user_id = ? AND relative_path <> '' AND turn_id IN (%1)").arg(batch),
                             QVariantList{userId} + args);
    while (files.next()) {
        ReleasedAudio a;
        a.userId = userId;
        a.turnId = files.value(0).toLongLong();
        a.index = files.value(1).toInt();
        a.relativePath = files.value(2).toString();
        a.bytes = files.value(3).toLongLong();
        out.audio.append(a);
    }
    // Explicitly, not by the foreign key's cascade: the sentence rows go whatever the connection's pragmas.
    s.exec(QStringLiteral("DELETE FROM turn_audio WHERE user_id = ? AND turn_id IN (%1)").arg(batch), QVariantList{userId} + args);
    s.exec(QStringLiteral("DELETE FROM turns WHERE user_id = ? AND session_id = ? AND status <> 'pending' AND id <= ?"), args);
    return out;
}

int failPending(SqlSession &s, qint64 nowMs)
{
    QSqlQuery q = s.exec(QStringLiteral("UPDATE turns SET status = 'failed', completed_at = ? WHERE status = 'pending'"), {nowMs});
    return q.numRowsAffected();
}

qint64 audioBytesKept(SqlSession &s)
{
    return s.scalar(QStringLiteral("SELECT COALESCE(SUM(bytes), 0) FROM turn_audio WHERE relative_path <> ''"))->toLongLong();
}

RetentionPass releaseForRetention(SqlSession &s, qint64 olderThanMs, qint64 maxBytes, int maxRows)
{
    RetentionPass pass;
    auto release = [&](QSqlQuery &q) {
        ReleasedAudio r;
        r.turnId = q.value(0).toLongLong();
        r.index = q.value(1).toInt();
        r.userId = q.value(2).toLongLong();
        r.relativePath = q.value(3).toString();
        r.bytes = q.value(4).toLongLong();
        pass.released.append(r);
    };
    const QString columns = QStringLiteral("turn_id, sentence_index, user_id, relative_path, bytes");
    if (olderThanMs > 0) {
        QSqlQuery q = s.exec(QStringLiteral("SELECT %1 FROM turn_audio WHERE created_at < ? AND relative_path <> ''"
                                            " ORDER BY created_at, turn_id, sentence_index LIMIT ?").arg(columns),
                             {olderThanMs, maxRows + 1});
        while (q.next()) {
            if (pass.released.size() == maxRows) {
                pass.more = true;
                break;
            }
            release(q);
        }
        pass.byAge = int(pass.released.size());
    }
    qint64 total = audioBytesKept(s);
    for (const ReleasedAudio &r : pass.released)
        total -= r.bytes;
    if (!pass.more && total > maxBytes) {
        QSqlQuery q = s.exec(QStringLiteral("SELECT %1 FROM turn_audio WHERE relative_path <> '' AND created_at >= ?"
                                            " ORDER BY created_at, turn_id, sentence_index").arg(columns),
                             {olderThanMs});
        while (total > maxBytes && q.next()) {
            if (pass.released.size() == maxRows) {
                pass.more = true;
                break;
            }
            release(q);
            total -= pass.released.last().bytes;
            ++pass.byBytes;
        }
    }
    for (const ReleasedAudio &r : pass.released)
        s.exec(QStringLiteral("UPDATE turn_audio SET relative_path = '' WHERE turn_id = ? AND sentence_index = ?"), {r.turnId, r.index});
    pass.bytesKept = qMax<qint64>(0, total);
    return pass;
}

QStringList keptAudioPaths(SqlSession &s)
{
    QStringList out;
    QSqlQuery q = s.exec(QStringLiteral("SELECT relative_path FROM turn_audio WHERE relative_path <> ''"));
    while (q.next())
        out << q.value(0).toString();
    return out;
}

void releaseUserAudio(SqlSession &s, qint64 userId)
{
    s.exec(QStringLiteral("UPDATE turn_audio SET relative_path = '' WHERE user_id = ? AND relative_path <> ''"), {userId});
}

} // namespace TurnRepository
} // namespace tianyi
