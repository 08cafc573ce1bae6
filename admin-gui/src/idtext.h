#pragma once
// Words the server sends as ids (states, statuses, emotions) shown in the operator's language:
// a table of {id, QT_TRANSLATE_NOOP(context, text)}; unknown ids are shown as they are.

#include <QCoreApplication>
#include <QString>
#include <cstddef>

namespace tianyi::admin {

template <std::size_t N>
QString idText(const char *const (&table)[N][2], const char *context, const QString &id)
{
    for (const auto &entry : table)
        if (id == QLatin1String(entry[0]))
            return QCoreApplication::translate(context, entry[1]);
    return id;
}

} // namespace tianyi::admin
