#pragma once
// What a new password must satisfy. Deliberately simple (NIST SP 800-63B): a length range,
// not the username, not one of the passwords every guessing list starts with. No composition rules.

#include <QString>

namespace tianyi {

class PasswordPolicy
{
public:
    PasswordPolicy(int minLength, int maxLength);

    // Empty when acceptable; otherwise a message that says what is wrong (never echoes the password).
    QString problem(const QString &password, const QString &username) const;

private:
    int m_min;
    int m_max;
};

} // namespace tianyi
