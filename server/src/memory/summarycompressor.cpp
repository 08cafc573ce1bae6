#include "memory/summarycompressor.h"

#include "memory/memoryservice.h"
#include "storage/database.h"
#include "storage/summaryrepository.h"
#include "storage/turnrepository.h"
#include "upstream/llm.h"

#include <QDateTime>
#include <QPointer>
#include <algorithm>

namespace tianyi {

namespace {

struct FoldInput {
    std::optional<UserSummary> previous;
    QVector<StoredTurn> turns;   // to fold, oldest first
};

} // namespace

SummaryCompressor::SummaryCompressor(Database &db, LlmProvider &llm, QObject *parent)
    : QObject(parent)
    , m_db(db)
    , m_llm(llm)
{
}

void SummaryCompressor::setBudget(int turnBudget, int keepRecentTurns)
{
    m_keepRecent = qMax(0, keepRecentTurns);
    m_turnBudget = qMax(m_keepRecent + 1, turnBudget);
}

QString SummaryCompressor::digest(const QString &previous, const QStringList &userTexts)
{
    QString out = previous.trimmed();
    for (const QString &t : userTexts) {
        const QString line = t.simplified();
        if (line.isEmpty())
            continue;
        if (!out.isEmpty())
            out += QStringLiteral("；");
        out += QStringLiteral("用户说过：") + line;
    }
    if (out.size() > kMaxSummaryChars)
        out = out.right(kMaxSummaryChars);
    return out;
}

void SummaryCompressor::handle(const OutboxJob &job, OutboxWorker::Done done)
{
    const qint64 userId = job.userId;
    const int budget = m_turnBudget;
    const int keep = m_keepRecent;
    m_db.read<FoldInput>(this, [userId, budget, keep](SqlSession &s) {
        FoldInput in;
        in.previous = SummaryRepository::find(s, userId);
        const qint64 after = in.previous ? in.previous->lastTurnId : 0;
        QSqlQuery q = s.exec(QStringLiteral("SELECT id, user_text, reply_text FROM turns WHERE user_id = ? AND id > ?"
                                            " AND status IN ('completed','interrupted') ORDER BY id"),
                             {userId, after});
        QVector<StoredTurn> turns;
        while (q.next()) {
            StoredTurn t;
            t.id = q.value(0).toLongLong();
            t.userText = q.value(1).toString();
            t.replyText = q.value(2).toString();
            turns.append(t);
        }
        if (turns.size() > budget)
            in.turns = turns.mid(0, turns.size() - keep);
        return in;
    }, [this, userId, done](DbResult<FoldInput> r) {
        if (!r.ok()) {
            done(false, QStringLiteral("cannot read turns: ") + r.error);
            return;
        }
        FoldInput in = *r.value;
        if (in.turns.isEmpty()) {
            done(true, {}); // under the budget: nothing to fold
            return;
        }
        const qint64 lastId = in.turns.last().id;
        const QString previous = in.previous ? in.previous->text : QString();
        auto store = [this, userId, lastId, done](const QString &text) {
            m_db.write<bool>(this, [userId, text, lastId](SqlSession &s) {
                SummaryRepository::store(s, userId, text, lastId, QDateTime::currentMSecsSinceEpoch());
                return true;
            }, [this, userId, done](DbResult<bool> w) {
                if (w.ok())
                    emit summaryStored(userId);
                done(w.ok(), w.error);
            });
        };
        if (m_llm.isBuiltIn()) {
            QStringList said;
            for (const StoredTurn &t : std::as_const(in.turns))
                said << t.userText;
            store(digest(previous, said));
            return;
        }
        LlmRequest request;
        request.temperature = 0.2;
        request.maxTokens = kMaxTokens;
        request.correlationId = QStringLiteral("%1#summary").arg(userId);
        request.messages.push_back({QStringLiteral("system"),
                                    QStringLiteral("You keep a running summary of a conversation between a user and an assistant. "
                                                   "Fold the new exchanges into the previous summary. Keep what matters later (facts about the user, "
                                                   "open topics, promises). Plain text in the conversation's language, at most %1 characters, nothing else.")
                                        .arg(kMaxSummaryChars)});
        QString body = QString::fromLatin1(kMarker) + QStringLiteral("\nPrevious summary: ") + (previous.isEmpty() ? QStringLiteral("(none)") : previous)
                       + QStringLiteral("\nNew exchanges:");
        for (const StoredTurn &t : std::as_const(in.turns))
            body += QStringLiteral("\nUser: ") + t.userText + QStringLiteral("\nAssistant: ") + t.replyText;
        request.messages.push_back({QStringLiteral("user"), body});
        auto reply = std::make_shared<QString>();
        LlmStream *stream = m_llm.stream(request, this);
        connect(stream, &LlmStream::delta, this, [reply](const QString &t) { *reply += t; });
        connect(stream, &LlmStream::failed, this, [stream, done](const UpstreamError &e) {
            stream->deleteLater();
            done(false, QStringLiteral("llm: %1 %2").arg(UpstreamError::kindName(e.kind), e.message));
        });
        connect(stream, &LlmStream::finished, this, [stream, reply, store, done](const QString &) {
            stream->deleteLater();
            const QString text = reply->simplified().left(kMaxSummaryChars);
            if (text.isEmpty()) {
                done(false, QStringLiteral("llm: empty summary"));
                return;
            }
            store(text);
        });
    });
}

} // namespace tianyi
