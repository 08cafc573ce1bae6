#include "auth/usernamepolicy.h"

#include <QList>

namespace tianyi {

UsernamePolicy::UsernamePolicy(int minLength, int maxLength)
    : m_min(minLength)
    , m_max(maxLength)
{
}

int UsernamePolicy::characterCount(const QString &text)
{
    int n = 0;
    for (auto it = text.cbegin(); it != text.cend(); ++it) {
        if (it->isHighSurrogate() && (it + 1) != text.cend() && (it + 1)->isLowSurrogate())
            ++it;
        ++n;
    }
    return n;
}

QString UsernamePolicy::keyFor(const QString &username)
{
    // Case folding may leave text non-normalized, so normalize on both sides of it.
    return username.normalized(QString::NormalizationForm_C).toCaseFolded().normalized(QString::NormalizationForm_C);
}

UsernamePolicy::Checked UsernamePolicy::check(const QString &raw) const
{
    Checked result;
    const int rawLength = characterCount(raw);
    // Refuse absurd input before normalizing it (bounded work for a 10,000-character name).
    if (rawLength > m_max * 4) {
        result.problem = QStringLiteral("username must be %1 to %2 characters long (got %3)").arg(m_min).arg(m_max).arg(rawLength);
        return result;
    }
    const QString name = raw.normalized(QString::NormalizationForm_C);
    const int length = characterCount(name);
    if (length < m_min || length > m_max) {
        result.problem = QStringLiteral("username must be %1 to %2 characters long (got %3)").arg(m_min).arg(m_max).arg(length);
        return result;
    }
    bool hasLetterOrDigit = false;
    bool previousIsLetter = false;
    for (const uint code : name.toUcs4()) {
        const char32_t c = code;
        const bool letter = QChar::isLetter(c);
        const bool digit = QChar::isDigit(c);
        // Combining marks are part of letters in many scripts (Devanagari, Thai) even after NFC.
        const bool mark = QChar::isMark(c) && previousIsLetter;
        const bool punctuation = c == U'_' || c == U'-' || c == U'.';
        if (!letter && !digit && !mark && !punctuation) {
            const QString shown = QChar::isPrint(c) && !QChar::isSpace(c) ? QString::fromUcs4(&c, 1)
                                                                            : QStringLiteral("U+%1").arg(uint(c), 4, 16, QLatin1Char('0')).toUpper();
            result.problem = QStringLiteral("username may contain only letters, digits, '_', '-' and '.'; \"%1\" is not allowed").arg(shown);
            return result;
        }
        hasLetterOrDigit = hasLetterOrDigit || letter || digit;
        previousIsLetter = letter || mark;
    }
    if (!hasLetterOrDigit) {
        result.problem = QStringLiteral("username must contain at least one letter or digit");
        return result;
    }
    result.username = name;
    result.key = keyFor(name);
    return result;
}

} // namespace tianyi
