#include "tianyi/sentencesegmenter.h"

namespace tianyi {

namespace {

bool isStrongEnd(QChar c)
{
    switch (c.unicode()) {
    case 0x3002: // 。
    case 0xFF01: // ！
    case 0xFF1F: // ？
    case 0xFF1B: // ；
    case '!':
    case '?':
    case ';':
    case '\n':
        return true;
    default:
        return false;
    }
}

bool isEllipsis(QChar c)
{
    return c == QChar(0x2026); // …
}

bool isCloser(QChar c)
{
    switch (c.unicode()) {
    case '"': case '\'': case ')': case ']':
    case 0x201D: // ”
    case 0x2019: // ’
    case 0xFF09: // ）
    case 0x300D: // 」
    case 0x300F: // 』
    case 0x3011: // 】
    case 0x300B: // 》
        return true;
    default:
        return false;
    }
}

bool isComma(QChar c)
{
    switch (c.unicode()) {
    case ',': case ':':
    case 0xFF0C: // ，
    case 0x3001: // 、
    case 0xFF1A: // ：
        return true;
    default:
        return false;
    }
}

int visibleLength(const QString &s, int end)
{
    int n = 0;
    for (int i = 0; i < end; ++i)
        if (!s[i].isSpace() && !s[i].isLowSurrogate())
            ++n;
    return n;
}

} // namespace

SentenceSegmenter::SentenceSegmenter(SegmenterOptions options)
    : m_options(options)
{
}

int SentenceSegmenter::findBoundary(bool final) const
{
    const QString &b = m_buffer;
    const int n = b.size();
    for (int i = 0; i < n; ++i) {
        const QChar c = b[i];
        int end = -1;
        if (isStrongEnd(c) || isEllipsis(c)) {
            end = i + 1;
        } else if (c == QLatin1Char('.')) {
            // "3.14", "v1.2": a dot between digits is not an end; "..." is an ellipsis.
            if (i + 1 >= n) {
                if (!final)
                    return -1; // cannot tell yet what follows
                end = i + 1;
            } else if (b[i + 1].isDigit() && i > 0 && b[i - 1].isDigit()) {
                continue;
            } else if (b[i + 1] == QLatin1Char('.') || b[i + 1].isSpace() || isCloser(b[i + 1]) || !b[i + 1].isLetterOrNumber()) {
                end = i + 1;
            } else {
                continue; // "e.g" inside a word, a domain name, ...
            }
        }
        if (end < 0)
            continue;
        // Keep runs of terminators ("！！", "?!", "……", "...") and closing quotes/brackets together.
        while (end < n && (isStrongEnd(b[end]) || isEllipsis(b[end]) || b[end] == QLatin1Char('.') || isCloser(b[end])))
            ++end;
        if (end == n && !final)
            return -1; // more terminators or a closing quote may still come
        return end;
    }

    // Early first clause: the reply's first sentence ends at its first comma after a few characters.
    if (m_options.earlyFirstClause && m_produced == 0) {
        for (int i = 0; i < n; ++i) {
            if (isComma(b[i]) && visibleLength(b, i) >= m_options.firstClauseMinChars) {
                if (b[i] == QLatin1Char(',') && i + 1 < n && b[i + 1].isDigit() && i > 0 && b[i - 1].isDigit())
                    continue; // 1,000
                if (i + 1 >= n && !final && (b[i] == QLatin1Char(',') || b[i] == QLatin1Char(':')))
                    return -1; // an ASCII comma at the very end might be "1,0…"
                return i + 1;
            }
        }
    }

    // Over-long: cut at the last comma or space before the limit, else at the limit.
    if (visibleLength(b, n) > m_options.maxSentenceChars) {
        int limit = 0;
        int seen = 0;
        for (; limit < n && seen < m_options.maxSentenceChars; ++limit)
            if (!b[limit].isSpace() && !b[limit].isLowSurrogate())
                ++seen;
        for (int i = limit - 1; i > limit / 3; --i)
            if (isComma(b[i]) || b[i].isSpace())
                return i + 1;
        if (limit < n && b[limit].isLowSurrogate())
            ++limit; // never split a surrogate pair
        return limit;
    }
    return -1;
}

void SentenceSegmenter::take(int end, QStringList &out)
{
    const QString sentence = m_buffer.left(end).trimmed();
    m_buffer.remove(0, end);
    if (sentence.isEmpty())
        return;
    // Punctuation alone ("……" after a cut) is not speech: it joins the previous sentence of this
    // batch, or is dropped (the client already has it as text_delta).
    bool hasContent = false;
    for (char32_t codePoint : sentence.toUcs4())
        if (QChar::isLetterOrNumber(codePoint)) {
            hasContent = true;
            break;
        }
    if (!hasContent) {
        if (!out.isEmpty())
            out.last() += sentence;
        return;
    }
    out << sentence;
    ++m_produced;
}

QStringList SentenceSegmenter::feed(const QString &text)
{
    m_buffer += text;
    QStringList out;
    for (int end = findBoundary(false); end > 0; end = findBoundary(false))
        take(end, out);
    return out;
}

QStringList SentenceSegmenter::finish()
{
    QStringList out;
    for (int end = findBoundary(true); end > 0; end = findBoundary(true))
        take(end, out);
    take(m_buffer.size(), out);
    return out;
}

} // namespace tianyi
