#include "upstream/funasrtranscript.h"

namespace tianyi {

namespace {

bool isOffline(const QString &mode)
{
    return mode == QLatin1String("2pass-offline") || mode == QLatin1String("offline");
}

bool isOnline(const QString &mode)
{
    return mode == QLatin1String("2pass-online") || mode == QLatin1String("online");
}

bool needsSpace(QChar c)
{
    return c.isLetterOrNumber() && c.unicode() < 0x2E80; // Latin, Cyrillic, ... (CJK and kana start at U+2E80)
}

} // namespace

QString FunAsrTranscript::join(const QString &left, const QString &right)
{
    if (left.isEmpty())
        return right;
    if (right.isEmpty())
        return left;
    if (needsSpace(left.back()) && needsSpace(right.front()))
        return left + QLatin1Char(' ') + right;
    return left + right;
}

QString FunAsrTranscript::text() const
{
    QString all;
    for (const QString &s : m_segments)
        all = join(all, s);
    return join(all, m_pieces);
}

FunAsrTranscript::Outcome FunAsrTranscript::apply(const QString &mode, const QString &rawText, bool isFinal, bool endSent)
{
    if (m_complete)
        return Outcome::Unchanged;
    const QString piece = rawText.trimmed();
    if (text().size() + piece.size() + 1 > kMaxChars)
        return Outcome::TooLong;

    const QString before = text();
    if (isOffline(mode)) {
        if (!piece.isEmpty())
            m_segments.append(piece);
        m_pieces.clear();
    } else if (isOnline(mode)) {
        m_pieces = join(m_pieces, piece);
    } else if (endSent && isFinal) {
        // The C++ runtime's answer to the end when the last segment held no words: no mode, empty text.
        // Like an offline result, it replaces the segment's pieces.
        m_pieces.clear();
    }

    if (isFinal && (!endSent || isOnline(mode)))
        m_finalMirrorsSpeaking = true;
    if (endSent) {
        const bool complete = m_finalMirrorsSpeaking ? (isOffline(mode) && !isFinal) : (isFinal && !isOnline(mode));
        if (complete) {
            m_complete = true;
            return Outcome::Complete;
        }
        if (isOffline(mode) || isFinal)
            m_maybeComplete = true;
        if (m_maybeComplete)
            return Outcome::MaybeComplete;
    }
    return text() == before ? Outcome::Unchanged : Outcome::Changed;
}

} // namespace tianyi
