#include "base/servablepath.h"

#include <QDir>
#include <QStringList>

namespace tianyi {

QString staticResourcePath(const QString &root, const QString &requestPath)
{
    if (requestPath == QLatin1String("/") || requestPath.isEmpty())
        return root + QStringLiteral("/index.html");
    if (!requestPath.startsWith(QLatin1Char('/')) || requestPath.endsWith(QLatin1Char('/')))
        return {};
    const QStringList segments = requestPath.mid(1).split(QLatin1Char('/'));
    for (const QString &seg : segments) {
        // Plain names only: no empty, ".", ".." or hidden segments, no odd characters.
        if (seg.isEmpty() || seg.startsWith(QLatin1Char('.')))
            return {};
        for (const QChar c : seg) {
            const bool ok = (c >= QLatin1Char('a') && c <= QLatin1Char('z')) || (c >= QLatin1Char('A') && c <= QLatin1Char('Z'))
                || (c >= QLatin1Char('0') && c <= QLatin1Char('9')) || c == QLatin1Char('.') || c == QLatin1Char('-')
                || c == QLatin1Char('_');
            if (!ok)
                return {};
        }
    }
    const QString path = QDir::cleanPath(root + requestPath);
    if (!path.startsWith(root + QLatin1Char('/')))
        return {};
    return path;
}

QString fileUnder(const QString &root, const QString &relativePath)
{
    if (relativePath.isEmpty())
        return {};
    return staticResourcePath(root, QLatin1Char('/') + relativePath);
}

} // namespace tianyi
