#include "history/conversationeraser.h"

#include "base/logging.h"
#include "history/audiostore.h"
#include "outbox/outbox.h"
#include "prompt/promptcontextcache.h"
#include "storage/database.h"
#include "storage/summaryrepository.h"
#include "storage/turnrepository.h"

#include <QRegularExpression>
#include <memory>

namespace tianyi {

namespace {

using Status = ConversationDeletion::Status;

struct Pass {
    std::optional<HttpError> denied;
    bool jobRunning = false;
    SessionDeletion deletion;
};

// What one erase() carries from pass to pass.
struct Run {
    Database *db = nullptr;
    QPointer<AudioStore> audio;
    QPointer<PromptContextCache> contexts;
    QPointer<QObject> context;
    qint64 userId = 0;
    QString sessionId;
    ConversationEraser::Done done;
    ConversationEraser::Gate gate;
    ConversationDeletion outcome;
};

void report(const std::shared_ptr<Run> &run)
{
    if (run->outcome.turnsDeleted > 0 && run->outcome.status == Status::NotFound)
        run->outcome.status = Status::Deleted;
    if (run->context)
        run->done(run->outcome);
}

// The files of each pass go before the next pass runs, so what is held stays one pass's worth.
void removeFiles(const std::shared_ptr<Run> &run, const QVector<ReleasedAudio> &files, std::function<void()> then)
{
    if (files.isEmpty() || !run->audio)
        then();
    else
        run->audio->removeReleased(files, std::move(then));
}

void runPass(const std::shared_ptr<Run> &run, bool first)
{
    const qint64 userId = run->userId;
    const QString sessionId = run->sessionId;
    const ConversationEraser::Gate gate = first ? run->gate : ConversationEraser::Gate();
    run->db->write<Pass>(run->context, [userId, sessionId, gate, first](SqlSession &s) {
        Pass pass;
        if (gate && (pass.denied = gate(s)))
            return pass;
        // A started background job (memory extraction, rolling summary) may hold turns it read and
        // write their text back after the deletion; one that has not started reads what is left.
        if (first && Outbox::hasRunningJob(s, userId)) {
            pass.jobRunning = true;
            return pass;
        }
        pass.deletion = TurnRepository::deleteSession(s, userId, sessionId, ConversationEraser::kMaxTurnsPerPass, first);
        if (pass.deletion.turns > 0)
            SummaryRepository::dropIfCovers(s, userId, pass.deletion.lowestTurnId);
        return pass;
    }, [run](DbResult<Pass> result) {
        if (!result.ok()) {
            qCWarning(lcDb).noquote() << "deleting a conversation of user" << run->userId << "failed:" << result.error;
            run->outcome.status = result.busy && run->outcome.turnsDeleted == 0 ? Status::StorageBusy : Status::StorageError;
            report(run);
            return;
        }
        const Pass &pass = *result.value;
        if (pass.denied) {
            run->outcome.status = Status::Denied;
            run->outcome.denied = pass.denied;
        } else if (pass.jobRunning || pass.deletion.running) {
            run->outcome.status = Status::InProgress;
        }
        run->outcome.turnsDeleted += pass.deletion.turns;
        const bool more = pass.deletion.more;
        removeFiles(run, pass.deletion.audio, [run, more]() {
            if (more && run->context)
                runPass(run, false);
            else
                report(run);
        });
    });
    // Right after posting the write (PromptContextCache's ordering rule): a turn starting now reads
    // through storage after it, and the reload posted here runs after it too.
    if (run->contexts)
        run->contexts->changed(userId);
}

} // namespace

ConversationEraser::ConversationEraser(Database &db, AudioStore *audio, PromptContextCache &contexts)
    : m_db(db)
    , m_audio(audio)
    , m_contexts(&contexts)
{
}

bool ConversationEraser::isValidSessionId(const QString &sessionId)
{
    static const QRegularExpression shape(QStringLiteral("\\A[A-Za-z0-9._:-]{1,%1}\\z").arg(kMaxSessionIdLength));
    return shape.match(sessionId).hasMatch();
}

void ConversationEraser::erase(qint64 userId, const QString &sessionId, QObject *context, Done done, Gate gate) const
{
    if (!isValidSessionId(sessionId)) {
        done(ConversationDeletion{});
        return;
    }
    auto run = std::make_shared<Run>();
    run->db = &m_db;
    run->audio = m_audio;
    run->contexts = m_contexts;
    run->context = context;
    run->userId = userId;
    run->sessionId = sessionId;
    run->done = std::move(done);
    run->gate = std::move(gate);
    runPass(run, true);
}

} // namespace tianyi
