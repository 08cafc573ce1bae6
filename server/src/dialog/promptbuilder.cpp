#include "dialog/promptbuilder.h"

#include "upstream/promptsections.h"

namespace tianyi {

PromptBuilder::PromptBuilder(const PersonaCard &persona, const LlmSettings &llm)
    : m_persona(persona)
    , m_llm(llm)
{
}

QString PromptBuilder::systemPrompt(const PromptContext &context) const
{
    namespace ps = promptsections;
    QString out;
    out += ps::heading(ps::kPersona) + QLatin1Char('\n') + m_persona.persona + QStringLiteral("\n\n");

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

LlmRequest PromptBuilder::build(const PromptContext &context, const QString &userText, const QString &correlationId) const
{
    LlmRequest request;
    request.temperature = m_llm.temperature;
    request.maxTokens = m_llm.maxTokens;
    request.correlationId = correlationId;
    request.messages.push_back({QStringLiteral("system"), systemPrompt(context)});
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
