#pragma once
// What routes read from a request's path and query. Integers: strict (digits only, no sign, no spaces, at most
// 18 of them, so they fit in qint64), with problems worded for a 400 answer that names the parameter.

#include <QString>
#include <QUrlQuery>
#include <optional>

namespace tianyi {

// A non-negative integer written in digits only; nullopt for anything else.
std::optional<qint64> parseDigits(const QString &text);

// An optional query parameter within [min, max]: fallback when absent; otherwise *problem names it
// (given twice, or not an integer in range) and fallback is returned.
qint64 queryInteger(const QUrlQuery &query, const QString &name, qint64 fallback, qint64 min, qint64 max, QString *problem);

// A sentence's audio file name in a URL, "<index>.wav" -> index; nullopt for anything else.
std::optional<int> parseSentenceFileName(const QString &name);

} // namespace tianyi
