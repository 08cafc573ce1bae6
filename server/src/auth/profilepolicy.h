#pragma once
// The user's profile as the API shows it, and the rules a profile update must follow
// (field names, types, lengths). Pure functions: no storage, no HTTP.

#include <QJsonObject>
#include <QString>
#include <optional>

namespace tianyi {

struct Profile {
    QString nickname;
    QString description;
    QString avatarUrl;
    QJsonObject preferences;

    QJsonObject toJson() const;
};

struct ProfileChanges {
    std::optional<QString> nickname;
    std::optional<QString> description;
    std::optional<QString> avatarUrl;
    std::optional<QJsonObject> preferences;
};

class ProfilePolicy
{
public:
    static constexpr int kMaxNicknameChars = 64;
    static constexpr int kMaxDescriptionChars = 2000;
    static constexpr int kMaxAvatarUrlChars = 2048;
    static constexpr int kMaxPreferencesBytes = 16 * 1024; // serialized, compact JSON

    struct Parsed {
        ProfileChanges changes;
        QString problem; // empty when valid; names the offending field(s)
    };
    // A PUT body: any subset of the fields; unknown fields are refused by name.
    static Parsed parseChanges(const QJsonObject &body);

    // Each returns empty when acceptable, else what is wrong.
    static QString nicknameProblem(const QString &nickname);
    static QString descriptionProblem(const QString &description);
    static QString avatarUrlProblem(const QString &url);
    static QString preferencesProblem(const QJsonObject &preferences);
};

} // namespace tianyi
