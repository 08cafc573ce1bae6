#include "devicename.h"

#include <QCoreApplication>
#include <QList>
#include <QPair>
#include <QRegularExpression>
#include <QStringList>

namespace tianyi::admin {

namespace {

// First match wins: the more specific tokens first (Edge and Opera also say "Chrome", Chrome also
// says "Safari", every browser says "Mozilla").
const char *const kBrowsers[][2] = {
    {"Edg", "Edge"},          {"EdgA", "Edge"},     {"EdgiOS", "Edge"},  {"OPR", "Opera"},
    {"SamsungBrowser", "Samsung Internet"},         {"YaBrowser", "Yandex"}, {"Vivaldi", "Vivaldi"},
    {"FxiOS", "Firefox"},     {"Firefox", "Firefox"}, {"CriOS", "Chrome"}, {"Chromium", "Chromium"},
    {"Chrome", "Chrome"},     {"Version", "Safari"}, // Safari names its version "Version/17.4 ... Safari/605"
};

// Checked in order on the platform part of a browser's User-Agent.
const char *const kSystems[][2] = {
    {"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"},       {"CrOS", "ChromeOS"},
    {"Windows", "Windows"}, {"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
};

QString browserName(const QString &ua)
{
    // "Name/" as a product token of its own (so that "Edg/" does not match inside "Edge/").
    static const QList<QPair<QRegularExpression, QString>> products = []() {
        QList<QPair<QRegularExpression, QString>> out;
        for (const auto &b : kBrowsers)
            out.append({QRegularExpression(QStringLiteral("(^|[\\s;)])%1/").arg(QRegularExpression::escape(QLatin1String(b[0])))),
                        QLatin1String(b[1])});
        return out;
    }();
    for (const auto &p : products)
        if (p.first.match(ua).hasMatch())
            return p.second;
    return {};
}

QString systemName(const QString &ua)
{
    for (const auto &s : kSystems)
        if (ua.contains(QLatin1String(s[0])))
            return QLatin1String(s[1]);
    return {};
}

} // namespace

QString elideDeviceName(const QString &text)
{
    return text.size() <= kMaxDeviceChars ? text : text.left(kMaxDeviceChars - 1).trimmed() + QChar(0x2026);
}

QString shortDeviceName(const QString &userAgent)
{
    const QString ua = userAgent.simplified();
    if (ua.isEmpty())
        return {};
    if (ua.startsWith(QLatin1String("Mozilla/"))) {
        const QString browser = browserName(ua);
        const QString system = systemName(ua);
        if (!browser.isEmpty() && !system.isEmpty())
            return QCoreApplication::translate("tianyi::admin::DeviceName", "%1 on %2", "browser on operating system").arg(browser, system);
        if (!browser.isEmpty() || !system.isEmpty())
            return browser.isEmpty() ? QCoreApplication::translate("tianyi::admin::DeviceName", "browser on %1").arg(system) : browser;
        return elideDeviceName(ua);
    }
    // A program: "tianyi-cli/0.1.0", "curl/8.5.0", "python-requests/2.31 (...)" -> "name version".
    static const QRegularExpression product(QStringLiteral("^([^\\s/]+)/([^\\s;()]+)"));
    const QRegularExpressionMatch m = product.match(ua);
    if (m.hasMatch())
        return elideDeviceName(m.captured(1) + QLatin1Char(' ') + m.captured(2));
    return elideDeviceName(ua);
}

} // namespace tianyi::admin
