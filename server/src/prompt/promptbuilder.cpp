#include "prompt/promptbuilder.h"

#include <QJsonArray>

#include "prompt/promptbudget.h"
#include "upstream/promptsections.h"

namespace tianyi {

QJsonObject AssembledPrompt::toJson() const
{
    QJsonArray messages;
    for (const ChatMessage &m : request.messages)
        messages.append(QJsonObject{{QStringLiteral("role"), m.role}, {QStringLiteral("content"), m.content}});
    return QJsonObject{{QStringLiteral("turn"), turn},
                       {QStringLiteral("correlation_id"), request.correlationId},
                       {QStringLiteral("estimated_tokens"), report.totalTokens},
                       {QStringLiteral("slots"), report.slotUsage},
                       {QStringLiteral("messages"), messages}};
}

PromptBuilder::PromptBuilder(const PersonaCard &persona, const LlmSettings &llm, const PromptSettings &budget)
    : m_persona(persona)
    , m_llm(llm)
    , m_budget(budget)
{
}

namespace {
void note(PromptReport *report, const QString &slot, int tokens, int budget, int dropped)
{
    if (!report)
        return;
    report->slotUsage.insert(slot, QJsonObject{{QStringLiteral("tokens"), tokens}, {QStringLiteral("budget"), budget}, {QStringLiteral("dropped"), dropped}});
    report->totalTokens += tokens;
}

int tokensOf(const QStringList &items)
{
    int n = 0;
    for (const QString &i : items)
        n += estimateTokens(i);
    return n;
}
} // namespace

PromptContext PromptBuilder::budgeted(const PromptContext &context, QString *persona, PromptReport *report) const
{
    PromptContext c = context;
    *persona = clipToTokens(m_persona.persona, m_budget.personaTokens, true);
    note(report, QStringLiteral("persona"), estimateTokens(*persona), m_budget.personaTokens, *persona == m_persona.persona ? 0 : 1);

    const QString summary = clipToTokens(c.summary.trimmed(), m_budget.summaryTokens, false); // the newest part matters most
    note(report, QStringLiteral("summary"), estimateTokens(summary), m_budget.summaryTokens, summary == c.summary.trimmed() ? 0 : 1);
    c.summary = summary;

    const int droppedMemories = keepWithinTokens(c.memories, m_budget.memoriesTokens); // ranked best first
    note(report, QStringLiteral("memories"), tokensOf(c.memories), m_budget.memoriesTokens, droppedMemories);
    const int droppedFacts = keepWithinTokens(c.knowledge, m_budget.knowledgeTokens);
    note(report, QStringLiteral("knowledge"), tokensOf(c.knowledge), m_budget.knowledgeTokens, droppedFacts);

    // Recent turns: the newest are kept whole; older ones go first.
    int used = 0;
    int firstKept = int(c.recentTurns.size());
    for (int i = int(c.recentTurns.size()) - 1; i >= 0; --i) {
        const int t = estimateTokens(c.recentTurns[i].userText) + estimateTokens(c.recentTurns[i].replyText);
        if (used + t > m_budget.recentTurnsTokens)
            break;
        used += t;
        firstKept = i;
    }
    const int droppedTurns = firstKept;
    c.recentTurns = c.recentTurns.mid(firstKept);
    note(report, QStringLiteral("recent_turns"), used, m_budget.recentTurnsTokens, droppedTurns);
    return c;
}

QString PromptBuilder::systemPrompt(const PromptContext &context) const
{
    QString persona;
    return render(budgeted(context, &persona, nullptr), persona);
}

QString PromptBuilder::render(const PromptContext &context, const QString &persona) const
{
    namespace ps = promptsections;
    QString out;
    out += ps::heading(ps::kPersona) + QLatin1Char('\n') + persona + QStringLiteral("\n\n");

    QStringList tags;
    for (const PersonaEmotion &e : m_persona.emotions)
        tags << QStringLiteral("[%1]").arg(e.label);
    const PersonaEmotion &def = m_persona.defaultEmotionRef();
    out += ps::render(ps::kEmotionProtocol,
                      {QStringLiteral("你的回答会被朗读出来，并驱动你的表情。当一句话的情绪与上一句不同时，在这句话的开头写一个情绪标签，例如 [%1]。")
                           .arg(m_persona.emotions.first().label),
                       QStringLiteral("可用的标签只有：%1。不要使用其他标签，每个标签只写在句首，情绪不变时不要重复。").arg(tags.join(QStringLiteral(" "))),
                       QStringLiteral("没有标签的开头按 [%1] 处理。不要输出动作描写、表情符号或 Markdown。").arg(def.label)});
    out += QLatin1Char('\n');

    QStringList profile;
    if (!context.nickname.trimmed().isEmpty())
        profile << QStringLiteral("昵称：%1").arg(context.nickname.trimmed());
    if (!context.description.trimmed().isEmpty())
        profile << QStringLiteral("自我介绍：%1").arg(context.description.trimmed());
    out += ps::render(ps::kUserProfile, profile) + QLatin1Char('\n');
    if (!context.summary.trimmed().isEmpty())
        out += ps::render(ps::kSummary, {context.summary.trimmed()}) + QLatin1Char('\n');
    out += ps::render(ps::kUserMemories, context.memories) + QLatin1Char('\n');
    out += ps::render(ps::kKnowledge, context.knowledge);
    return out;
}

LlmRequest PromptBuilder::build(const PromptContext &fullContext, const QString &fullUserText, const QString &correlationId,
                                 PromptReport *report) const
{
    QString persona;
    const PromptContext context = budgeted(fullContext, &persona, report);
    const QString userText = clipToTokens(fullUserText, m_budget.userTextTokens, true);
    note(report, QStringLiteral("user_text"), estimateTokens(userText), m_budget.userTextTokens, userText == fullUserText ? 0 : 1);

    LlmRequest request;
    request.temperature = m_llm.temperature;
    request.maxTokens = m_llm.maxTokens;
    request.correlationId = correlationId;
    request.messages.push_back({QStringLiteral("system"), render(context, persona)});
    for (const StoredTurn &turn : context.recentTurns) {
        if (turn.userText.trimmed().isEmpty())
            continue;
        request.messages.push_back({QStringLiteral("user"), turn.userText});
        // Interrupted turns are stored with only what was heard; nothing heard = no reply at all.
        if (!turn.replyText.trimmed().isEmpty())
            request.messages.push_back({QStringLiteral("assistant"), turn.replyText});
    }
    request.messages.push_back({QStringLiteral("user"), userText});
    return request;
}

} // namespace tianyi
