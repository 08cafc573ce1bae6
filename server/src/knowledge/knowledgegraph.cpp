#include "knowledge/knowledgegraph.h"

Q_LOGGING_CATEGORY(lcKnowledge, "tianyi.knowledge")

namespace tianyi {

const QStringList &kgEntityTypes()
{
    static const QStringList types{QStringLiteral("Person"), QStringLiteral("Singer"), QStringLiteral("Song"),
                                   QStringLiteral("Album"), QStringLiteral("Event"), QStringLiteral("Location"),
                                   QStringLiteral("Organization"), QStringLiteral("Year"), QStringLiteral("Glory")};
    return types;
}

const QStringList &kgRelationTypes()
{
    // The seed project's nine, then the few the bundled graph needs besides.
    static const QStringList types{QStringLiteral("produced_by"), QStringLiteral("lyrics_by"), QStringLiteral("composed_by"),
                                   QStringLiteral("arranged_by"), QStringLiteral("sung_by"), QStringLiteral("in_album"),
                                   QStringLiteral("released_in"), QStringLiteral("win_award"), QStringLiteral("performed_at"),
                                   QStringLiteral("voiced_by"), QStringLiteral("designed_by"), QStringLiteral("member_of"),
                                   QStringLiteral("located_in")};
    return types;
}

QString kgAliasKey(const QString &text)
{
    return text.normalized(QString::NormalizationForm_KC).toCaseFolded().trimmed();
}

} // namespace tianyi
