#include "prompt/promptbudget.h"

namespace tianyi {

namespace {

bool isCjk(char32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2FA1F) // ideographs
        || (c >= 0x3040 && c <= 0x30FF)                                                                      // kana
        || (c >= 0xAC00 && c <= 0xD7AF)                                                                      // hangul
        || (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFFEF);                                    // CJK punctuation, full width
}

} // namespace

int estimateTokens(const QString &text)
{
    int tokens = 0;
    int run = 0; // non-space, non-CJK characters in the current run
    auto closeRun = [&]() {
        tokens += (run + 3) / 4;
        run = 0;
    };
    for (char32_t c : text.toUcs4()) {
        if (isCjk(c)) {
            closeRun();
            ++tokens;
        } else if (QChar::isSpace(c)) {
            closeRun();
        } else {
            ++run;
        }
    }
    closeRun();
    return tokens;
}

QString clipToTokens(const QString &text, int budget, bool keepStart)
{
    if (estimateTokens(text) <= budget)
        return text;
    // Binary search on the length of the kept part (estimateTokens is monotonic in it).
    int lo = 0, hi = int(text.size());
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        const QString part = keepStart ? text.left(mid) : text.right(mid);
        if (estimateTokens(part) <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    QString kept = keepStart ? text.left(lo) : text.right(lo);
    // Never leave half of a surrogate pair at the cut.
    if (keepStart && !kept.isEmpty() && kept.back().isHighSurrogate())
        kept.chop(1);
    if (!keepStart && !kept.isEmpty() && kept.front().isLowSurrogate())
        kept.remove(0, 1);
    return kept;
}

int keepWithinTokens(QStringList &items, int budget)
{
    int used = 0;
    for (int i = 0; i < items.size(); ++i) {
        used += estimateTokens(items[i]);
        if (used > budget) {
            const int dropped = int(items.size()) - i;
            items = items.mid(0, i);
            return dropped;
        }
    }
    return 0;
}

} // namespace tianyi
