#pragma once
// Small crypto helpers shared by the auth classes: libsodium set-up, random bytes,
// strict base64url (JWT, refresh tokens), SHA-256 and a constant-time comparison.

#include <QByteArray>
#include <optional>

namespace tianyi::crypto {

// libsodium must be initialised once per process before any other call; safe from any thread.
// Returns false if the library cannot initialise (no usable randomness): the server must not start.
bool ensureSodium();

// Cryptographically secure random bytes (libsodium's CSPRNG).
QByteArray randomBytes(int count);

// base64url without padding (RFC 7515 section 2).
QByteArray base64UrlEncode(const QByteArray &data);
// Refuses padding, characters outside the url-safe alphabet and non-canonical encodings, so one
// value has exactly one textual form (a changed token can never decode to the same bytes).
std::optional<QByteArray> base64UrlDecode(const QByteArray &text);

QByteArray sha256(const QByteArray &data);
QByteArray hmacSha256(const QByteArray &key, const QByteArray &data);

// Compares in time that depends only on the length, not on where the first difference is.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);

} // namespace tianyi::crypto
