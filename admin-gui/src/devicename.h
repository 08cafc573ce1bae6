#pragma once
// A session's device in a few words for the sessions table: a browser's whole User-Agent string
// ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 ... Chrome/126.0 Mobile Safari/537.36")
// pushed the latency columns off-screen. The full text stays in the cell's tooltip.

#include <QString>

namespace tianyi::admin {

// "Chrome on Android", "Firefox on Linux", "Safari on iPhone", "tianyi-cli 0.1.0", "curl 8.5.0";
// an unknown string is cut to kMaxDeviceChars with "…"; empty stays empty.
QString shortDeviceName(const QString &userAgent);

constexpr int kMaxDeviceChars = 32;

// `text` cut to kMaxDeviceChars with "…" (a client's own ?device= name can be 64 characters).
QString elideDeviceName(const QString &text);

} // namespace tianyi::admin
