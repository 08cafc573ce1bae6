#pragma once
// Token estimates and per-slot budgets for the prompt. The estimate is deliberately simple and
// model-independent: each CJK character (ideographs, kana, hangul) counts as one token, and other
// text as one token per 4 non-space characters (rounded up per run), which is close to what BPE
// tokenizers of Qwen/DeepSeek/Llama give for Chinese and English chat text.

#include <QString>
#include <QStringList>

namespace tianyi {

int estimateTokens(const QString &text);

// The longest prefix (keepStart) or suffix (!keepStart) of text within budget tokens.
QString clipToTokens(const QString &text, int budget, bool keepStart);

// Keeps items in order while their running total fits; returns how many were dropped.
int keepWithinTokens(QStringList &items, int budget);

} // namespace tianyi
