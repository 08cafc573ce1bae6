#pragma once
// What a turn's prompt knows besides the persona and the user's new text: the user's profile,
// rolling summary and recent finished turns (per user, cacheable), and the memories and knowledge
// facts retrieved for this text. Plain data, filled by the turn and read by the PromptBuilder.

#include "storage/summaryrepository.h"
#include "storage/turnrepository.h"

#include <QStringList>
#include <QVector>

namespace tianyi {

struct PromptContext {
    QString nickname;
    QString description;
    QVector<StoredTurn> recentTurns;   // oldest first (TurnRepository::recentForPrompt)
    QStringList memories;              // of THIS user
    QStringList knowledge;             // knowledge-graph facts
    QString summary;                   // rolling summary of older turns (empty: no section)

    // The summary replaces the turns it covers.
    void foldSummary(const UserSummary &rolling);
};

} // namespace tianyi
