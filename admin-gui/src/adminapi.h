#pragma once
// The admin REST API (docs/protocol.md "Admin") over the shared ApiClient: never blocking, one
// callback per call. It owns the login: tokens from the password grant, and when the server
// rejects the access token (401, e.g. expired after a long night) it signs in again — with the
// refresh token first, then with the password kept in memory for this run — and retries once.

#include <tianyi/apiclient.h>

#include <QObject>
#include <QPointer>
#include <QUrl>
#include <functional>

namespace tianyi::admin {

using client::ApiResult;

class AdminApi : public QObject
{
    Q_OBJECT
public:
    using Callback = std::function<void(const ApiResult &)>;
    // Sentence WAVs are the largest answers (a long espeak-ng sentence is a few hundred KiB).
    static constexpr qint64 kMaxResponseBytes = 16 << 20;

    explicit AdminApi(QObject *parent = nullptr);
    ~AdminApi() override;

    // Password grant, then one admin call to prove the role. done(nullptr) on success, else the
    // refusing answer (describe() words it: wrong password, not an admin, disabled, unreachable).
    void signIn(const QUrl &server, const QString &username, const QString &password, std::function<void(const ApiResult *refused)> done);
    bool isSignedIn() const { return !m_access.isEmpty(); }
    QUrl server() const { return m_server; }
    QString username() const { return m_username; }
    QString accessToken() const { return m_access; }
    // Gets a fresh access token (refresh grant, else password). done(false) when neither works.
    void reauthenticate(std::function<void(bool ok)> done);

    void sessions(Callback done) { call("GET", QStringLiteral("/api/v1/admin/sessions"), std::move(done)); }
    void queues(Callback done) { call("GET", QStringLiteral("/api/v1/admin/queues"), std::move(done)); }
    void users(qint64 afterId, int limit, Callback done);
    void setUserDisabled(qint64 userId, bool disabled, Callback done);
    void stopSession(const QString &sessionId, Callback done);
    void disconnectSession(const QString &sessionId, Callback done);
    void turn(qint64 turnId, Callback done) { call("GET", QStringLiteral("/api/v1/admin/turns/%1").arg(turnId), std::move(done)); }
    // A path the server gave (audio_url of a sentence); the WAV is in result.body.
    void fetch(const QString &path, Callback done) { call("GET", path, std::move(done)); }

    // A sentence for the operator about a failed call.
    static QString describe(const ApiResult &result);

signals:
    // The tokens changed (sign-in or re-login): the feed reconnects with the new one.
    void accessTokenChanged();

private:
    void call(const QByteArray &method, const QString &path, Callback done, bool retried = false);
    void takeTokens(const ApiResult &result);

    QPointer<client::ApiClient> m_client;
    QUrl m_server;
    QString m_username;
    QString m_password;   // memory only: the re-login of last resort; never written anywhere
    QString m_access;
    QString m_refresh;
    bool m_reauthRunning = false;
    std::vector<std::function<void(bool)>> m_reauthWaiters; // bounded by the calls in flight
};

} // namespace tianyi::admin
