#pragma once

#include <QJsonObject>
// Builds the LLM request of one turn. Pure: no I/O, so every rule is unit-testable.
//
// system message: persona text, the emotion-tag protocol (the persona's labels), the user's
// profile, a memories slot and a knowledge slot (promptsections.h headings), then the user's recent finished turns as user/assistant messages (an interrupted turn
// contributes only what was heard, never a marker), then the new user text.

#include "base/config.h"
#include "prompt/personacard.h"
#include "prompt/promptcontext.h"
#include "upstream/llm.h"

#include <QStringList>
#include <QVector>

namespace tianyi {

// What the budgets did to one prompt: per slot {tokens, budget, dropped} (dropped = items or, for
// clipped text, 1). Admins see it beside the assembled prompt.
struct PromptReport {
    QJsonObject slotUsage;
    int totalTokens = 0;
};

// One assembled prompt as admins inspect it. Kept as built (implicitly shared, a cheap copy) and
// turned into JSON only when an admin asks, so the turn pipeline does no work for it.
struct AssembledPrompt {
    int turn = 0;
    LlmRequest request;
    PromptReport report;

    QJsonObject toJson() const;
};

class PromptBuilder
{
public:
    PromptBuilder(const PersonaCard &persona, const LlmSettings &llm, const PromptSettings &budget = {});

    // Applies the slot budgets to the context (the caller's copy is left alone).
    QString systemPrompt(const PromptContext &context) const;
    LlmRequest build(const PromptContext &context, const QString &userText, const QString &correlationId,
                     PromptReport *report = nullptr) const;

private:
    PromptContext budgeted(const PromptContext &context, QString *persona, PromptReport *report) const;
    QString render(const PromptContext &context, const QString &persona) const;

    const PersonaCard &m_persona;
    LlmSettings m_llm;
    PromptSettings m_budget;
};

} // namespace tianyi
