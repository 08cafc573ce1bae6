#include "auth/passwordpolicy.h"

#include "auth/usernamepolicy.h"

#include <QSet>

namespace tianyi {

namespace {

// The head of every leaked-password list (and a few common in Chinese-speaking communities).
const QSet<QString> &commonPasswords()
{
    static const QSet<QString> list = [] {
        QSet<QString> s;
        for (const char *p : {"password", "password1", "password123", "passw0rd", "12345678", "123456789", "1234567890",
                              "12341234", "87654321", "11111111", "00000000", "88888888", "66666666", "123123123",
                              "qwertyui", "qwerty123", "qwertyuiop", "1q2w3e4r", "1qaz2wsx", "zxcvbnm1", "abc12345",
                              "abcd1234", "a1234567", "aa123456", "iloveyou", "letmein1", "welcome1", "admin123",
                              "sunshine", "princess", "football", "baseball", "trustno1", "superman", "woaini1314",
                              "woaini520", "5201314520", "tianyi123", "luotianyi"})
            s.insert(QString::fromLatin1(p));
        return s;
    }();
    return list;
}

bool allSameCharacter(const QString &text)
{
    for (const QChar c : text)
        if (c != text.front())
            return false;
    return true;
}

} // namespace

PasswordPolicy::PasswordPolicy(int minLength, int maxLength)
    : m_min(minLength)
    , m_max(maxLength)
{
}

QString PasswordPolicy::problem(const QString &password, const QString &username) const
{
    const int length = UsernamePolicy::characterCount(password);
    if (length < m_min)
        return QStringLiteral("password must be at least %1 characters long").arg(m_min);
    if (length > m_max)
        return QStringLiteral("password must be at most %1 characters long").arg(m_max);
    const QString folded = UsernamePolicy::keyFor(password);
    if (!username.isEmpty() && folded == UsernamePolicy::keyFor(username))
        return QStringLiteral("password must not be the same as the username");
    if (commonPasswords().contains(folded) || allSameCharacter(password))
        return QStringLiteral("password is too common or too easy to guess; choose another");
    return {};
}

} // namespace tianyi
