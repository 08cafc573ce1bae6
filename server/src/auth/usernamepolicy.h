#pragma once
// What a username may be, and the key that makes "Alice" and "alice" the same account.
// Pure functions of the text: no storage, no I/O.

#include <QString>

namespace tianyi {

class UsernamePolicy
{
public:
    UsernamePolicy(int minLength, int maxLength);

    struct Checked {
        QString username; // NFC form, as shown to people
        QString key;      // case-folded: the uniqueness and lookup key (users.username_key)
        QString problem;  // empty when acceptable; otherwise says what is wrong
        bool ok() const { return problem.isEmpty(); }
    };

    Checked check(const QString &raw) const;

    // The lookup key of any text (for logins: no rules applied, the user may simply not exist).
    static QString keyFor(const QString &username);
    // Length in characters (code points), as the limits are documented.
    static int characterCount(const QString &text);

    int maxLength() const { return m_max; }

private:
    int m_min;
    int m_max;
};

} // namespace tianyi
