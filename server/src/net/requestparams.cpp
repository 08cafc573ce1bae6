#include "net/requestparams.h"

#include <QStringList>
#include <limits>

namespace tianyi {

std::optional<qint64> parseDigits(const QString &text)
{
    if (text.isEmpty() || text.size() > 18)
        return std::nullopt;
    for (const QChar c : text)
        if (c < QLatin1Char('0') || c > QLatin1Char('9'))
            return std::nullopt;
    return text.toLongLong();
}

qint64 queryInteger(const QUrlQuery &query, const QString &name, qint64 fallback, qint64 min, qint64 max, QString *problem)
{
    const QStringList values = query.allQueryItemValues(name, QUrl::FullyDecoded);
    if (values.isEmpty())
        return fallback;
    if (values.size() > 1) {
        *problem = QStringLiteral("%1 must be given at most once").arg(name);
        return fallback;
    }
    const std::optional<qint64> v = parseDigits(values.first());
    if (!v || *v < min || *v > max) {
        *problem = QStringLiteral("%1 must be an integer from %2 to %3").arg(name).arg(min).arg(max);
        return fallback;
    }
    return *v;
}

std::optional<int> parseSentenceFileName(const QString &name)
{
    if (!name.endsWith(QLatin1String(".wav")))
        return std::nullopt;
    const std::optional<qint64> index = parseDigits(name.chopped(4));
    if (!index || *index > std::numeric_limits<int>::max())
        return std::nullopt;
    return int(*index);
}

} // namespace tianyi
