#include "upstream/promptsections.h"

#include <QHash>
#include <QRegularExpression>

namespace tianyi::promptsections {

QString render(const char *section, const QStringList &itemList)
{
    QString out = heading(section) + QLatin1Char('\n');
    const QString prefix = QString::fromUtf8(kItemPrefix);
    for (const QString &item : itemList) {
        QString line = item;
        line.replace(QLatin1Char('\r'), QLatin1Char(' ')).replace(QLatin1Char('\n'), QLatin1Char(' '));
        out += prefix + line.trimmed() + QLatin1Char('\n');
    }
    return out;
}

QStringList items(const QString &prompt, const char *section)
{
    const QString head = heading(section);
    const QString headingPrefix = QString::fromUtf8(kHeadingPrefix);
    const QString itemPrefix = QString::fromUtf8(kItemPrefix);
    QStringList out;
    bool inside = false;
    const QStringList lines = prompt.split(QLatin1Char('\n'));
    for (const QString &raw : lines) {
        const QString line = raw.trimmed();
        if (line.startsWith(headingPrefix)) {
            inside = line == head;
            continue;
        }
        if (inside && line.startsWith(itemPrefix)) {
            const QString item = line.mid(itemPrefix.size()).trimmed();
            if (!item.isEmpty())
                out << item;
        }
    }
    return out;
}

QString swapPersons(const QString &text)
{
    static const QHash<QString, QString> swap{
        {QStringLiteral("我"), QStringLiteral("你")},   {QStringLiteral("你"), QStringLiteral("我")},
        {QStringLiteral("i"), QStringLiteral("you")},   {QStringLiteral("me"), QStringLiteral("you")},
        {QStringLiteral("my"), QStringLiteral("your")}, {QStringLiteral("mine"), QStringLiteral("yours")},
        {QStringLiteral("you"), QStringLiteral("me")},  {QStringLiteral("your"), QStringLiteral("my")},
        {QStringLiteral("yours"), QStringLiteral("mine")}};
    static const QRegularExpression person(QStringLiteral("[我你]|\\b(?:i|me|my|mine|you|your|yours)\\b"), QRegularExpression::CaseInsensitiveOption);
    QString out;
    qsizetype last = 0;
    for (auto it = person.globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        out += text.mid(last, m.capturedStart() - last) + swap.value(m.captured().toLower());
        last = m.capturedEnd();
    }
    return out + text.mid(last);
}

} // namespace tianyi::promptsections
