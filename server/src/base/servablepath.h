#pragma once
// Which file a URL path names under a served folder, by one rule for the web client's resources,
// the Live2D folder on disk and the configuration that points into it: plain segments only (letters,
// digits, '.', '-', '_'; no empty, hidden, "." or ".." segment), and the result stays inside root.

#include <QString>

namespace tianyi {

// "/" is root/index.html; an empty string when the path must not be served.
QString staticResourcePath(const QString &root, const QString &requestPath);

} // namespace tianyi
