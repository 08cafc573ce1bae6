#pragma once
// Which file a URL path names under a served folder, by one rule for the web client's resources,
// the Live2D folder on disk and the configuration that points into it: plain segments only (letters,
// digits, '.', '-', '_'; no empty, hidden, "." or ".." segment), and the result stays inside root.

#include <QString>

namespace tianyi {

// "/" is root/index.html; an empty string when the path must not be served.
QString staticResourcePath(const QString &root, const QString &requestPath);

// The file a relative path of our own layout ("7/123/0.wav") names under root, by the same rule; an
// empty string for an empty path or one that breaks the rule (a row that would reach outside root).
QString fileUnder(const QString &root, const QString &relativePath);

} // namespace tianyi
