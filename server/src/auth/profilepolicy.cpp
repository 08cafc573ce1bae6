#include "auth/profilepolicy.h"

#include "auth/usernamepolicy.h"

#include <QJsonDocument>
#include <QStringList>
#include <QUrl>

namespace tianyi {

namespace {

// Control characters break one-line displays and logs; a description may have line breaks and tabs.
bool hasControlCharacters(const QString &text, bool allowLineBreaks)
{
    for (const QChar c : text) {
        if (allowLineBreaks && (c == QLatin1Char('\n') || c == QLatin1Char('\r') || c == QLatin1Char('\t')))
            continue;
        if (c.category() == QChar::Other_Control)
            return true;
    }
    return false;
}

} // namespace

QJsonObject Profile::toJson() const
{
    return QJsonObject{{QStringLiteral("nickname"), nickname},
                       {QStringLiteral("description"), description},
                       {QStringLiteral("avatar_url"), avatarUrl},
                       {QStringLiteral("preferences"), preferences}};
}

QString ProfilePolicy::nicknameProblem(const QString &nickname)
{
    if (UsernamePolicy::characterCount(nickname) > kMaxNicknameChars)
        return QStringLiteral("nickname must be at most %1 characters").arg(kMaxNicknameChars);
    if (hasControlCharacters(nickname, false))
        return QStringLiteral("nickname must not contain control characters or line breaks");
    return {};
}

QString ProfilePolicy::descriptionProblem(const QString &description)
{
    if (UsernamePolicy::characterCount(description) > kMaxDescriptionChars)
        return QStringLiteral("description must be at most %1 characters").arg(kMaxDescriptionChars);
    if (hasControlCharacters(description, true))
        return QStringLiteral("description must not contain control characters other than line breaks and tabs");
    return {};
}

QString ProfilePolicy::avatarUrlProblem(const QString &url)
{
    if (url.isEmpty())
        return {};
    if (url.size() > kMaxAvatarUrlChars)
        return QStringLiteral("avatar_url must be at most %1 characters").arg(kMaxAvatarUrlChars);
    const QUrl parsed(url, QUrl::StrictMode);
    const QString scheme = parsed.scheme().toLower();
    if (!parsed.isValid() || (scheme != QLatin1String("http") && scheme != QLatin1String("https")) || parsed.host().isEmpty())
        return QStringLiteral("avatar_url must be empty or an absolute http(s) URL");
    return {};
}

QString ProfilePolicy::preferencesProblem(const QJsonObject &preferences)
{
    const qsizetype size = QJsonDocument(preferences).toJson(QJsonDocument::Compact).size();
    if (size > kMaxPreferencesBytes)
        return QStringLiteral("preferences must be at most %1 bytes of JSON (got %2)").arg(kMaxPreferencesBytes).arg(size);
    return {};
}

ProfilePolicy::Parsed ProfilePolicy::parseChanges(const QJsonObject &body)
{
    Parsed out;
    static const QStringList known{QStringLiteral("nickname"), QStringLiteral("description"), QStringLiteral("avatar_url"),
                                   QStringLiteral("preferences")};
    QStringList unknown;
    for (auto it = body.begin(); it != body.end(); ++it)
        if (!known.contains(it.key()))
            unknown << it.key();
    if (!unknown.isEmpty()) {
        out.problem = QStringLiteral("unknown field%1: %2 (allowed: %3)")
                          .arg(unknown.size() > 1 ? QStringLiteral("s") : QString(), unknown.join(QStringLiteral(", ")),
                               known.join(QStringLiteral(", ")));
        return out;
    }

    QStringList problems;
    auto text = [&](const QString &field, std::optional<QString> &target, QString (*check)(const QString &)) {
        if (!body.contains(field))
            return;
        const QJsonValue v = body.value(field);
        if (!v.isString()) {
            problems << QStringLiteral("%1 must be a string").arg(field);
            return;
        }
        const QString problem = check(v.toString());
        if (!problem.isEmpty())
            problems << problem;
        else
            target = v.toString();
    };
    text(QStringLiteral("nickname"), out.changes.nickname, &ProfilePolicy::nicknameProblem);
    text(QStringLiteral("description"), out.changes.description, &ProfilePolicy::descriptionProblem);
    text(QStringLiteral("avatar_url"), out.changes.avatarUrl, &ProfilePolicy::avatarUrlProblem);
    if (body.contains(QStringLiteral("preferences"))) {
        const QJsonValue v = body.value(QStringLiteral("preferences"));
        if (!v.isObject()) {
            problems << QStringLiteral("preferences must be a JSON object");
        } else {
            const QString problem = preferencesProblem(v.toObject());
            if (!problem.isEmpty())
                problems << problem;
            else
                out.changes.preferences = v.toObject();
        }
    }
    out.problem = problems.join(QStringLiteral("; "));
    return out;
}

} // namespace tianyi
