#pragma once
// Where a remembered password goes: never a plain file. The console uses the desktop's secret
// service through qtkeychain; where there is none (headless, CI) the calls fail with a reason the
// console shows ("password not saved: …") and everything else keeps working. Tests use the
// in-memory store.

#include <QHash>
#include <QString>
#include <functional>

namespace tianyi::admin {

class CredentialStore
{
public:
    virtual ~CredentialStore() = default;
    // done(password, error): error empty on success; a missing entry is an error too.
    virtual void read(const QString &key, std::function<void(const QString &password, const QString &error)> done) = 0;
    virtual void write(const QString &key, const QString &password, std::function<void(const QString &error)> done) = 0;
    virtual void remove(const QString &key) = 0;
    // The key of one login: the same admin name on two servers are two entries.
    static QString keyFor(const QString &server, const QString &username) { return username + QLatin1Char('@') + server; }
};

// The system keychain (Secret Service, KWallet, macOS Keychain, Windows Credential Store).
class KeychainCredentialStore : public CredentialStore
{
public:
    static constexpr const char *kService = "tianyi-admin";
    void read(const QString &key, std::function<void(const QString &, const QString &)> done) override;
    void write(const QString &key, const QString &password, std::function<void(const QString &)> done) override;
    void remove(const QString &key) override;
};

// Memory only: tests, and a `--no-keychain` run.
class MemoryCredentialStore : public CredentialStore
{
public:
    void read(const QString &key, std::function<void(const QString &, const QString &)> done) override;
    void write(const QString &key, const QString &password, std::function<void(const QString &)> done) override;
    void remove(const QString &key) override { m_entries.remove(key); }
    QString failWith; // non-empty: every write fails with this reason (as a keychain without a service)
    const QHash<QString, QString> &entries() const { return m_entries; }

private:
    QHash<QString, QString> m_entries;
};

} // namespace tianyi::admin
