#include "tianyi/emotiontagparser.h"

namespace tianyi {

namespace {
constexpr int kSpaceSlack = 2; // "[ 开心 ]" is still a tag
bool isOpen(QChar c) { return c == QLatin1Char('[') || c == QChar(0x3010) /* 【 */ || c == QChar(0xFF3B) /* ［ */; }
bool isClose(QChar c) { return c == QLatin1Char(']') || c == QChar(0x3011) /* 】 */ || c == QChar(0xFF3D) /* ］ */; }
} // namespace

EmotionTagParser::EmotionTagParser(QStringList labels)
    : m_labels(std::move(labels))
{
    for (const QString &l : m_labels)
        m_maxLabelLength = qMax(m_maxLabelLength, int(l.size()));
}

void EmotionTagParser::appendText(QVector<EmotionTagPiece> &out, const QString &text)
{
    if (text.isEmpty())
        return;
    if (!out.isEmpty() && out.last().kind == EmotionTagPiece::Kind::Text)
        out.last().text += text;
    else
        out.append({EmotionTagPiece::Kind::Text, text});
}

void EmotionTagParser::scan(QVector<EmotionTagPiece> &out, bool final)
{
    int start = 0;
    int i = 0;
    while (i < m_pending.size()) {
        if (!isOpen(m_pending[i])) {
            ++i;
            continue;
        }
        // Look for the closing bracket within the longest label.
        int close = -1;
        const int window = m_maxLabelLength + kSpaceSlack + 1; // label, optional spaces, closing bracket
        const int limit = qMin(int(m_pending.size()), i + 1 + window);
        for (int j = i + 1; j < limit; ++j) {
            if (isClose(m_pending[j])) {
                close = j;
                break;
            }
            if (isOpen(m_pending[j]))
                break;
        }
        if (close < 0) {
            const bool couldStillClose = limit == m_pending.size() && m_pending.size() - i <= window;
            if (couldStillClose && !final) {
                // Hold back from the bracket on: the rest of the tag may be in the next delta.
                appendText(out, m_pending.mid(start, i - start));
                m_pending = m_pending.mid(i);
                return;
            }
            ++i;
            continue;
        }
        const QString label = m_pending.mid(i + 1, close - i - 1).trimmed();
        if (m_labels.contains(label)) {
            appendText(out, m_pending.mid(start, i - start));
            out.append({EmotionTagPiece::Kind::Emotion, label});
            start = close + 1;
            i = close + 1;
        } else {
            ++i;
        }
    }
    appendText(out, m_pending.mid(start));
    m_pending.clear();
}

QVector<EmotionTagPiece> EmotionTagParser::feed(const QString &delta)
{
    m_pending += delta;
    QVector<EmotionTagPiece> out;
    scan(out, false);
    return out;
}

QVector<EmotionTagPiece> EmotionTagParser::finish()
{
    QVector<EmotionTagPiece> out;
    scan(out, true);
    return out;
}

} // namespace tianyi
