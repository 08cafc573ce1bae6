#include "credentialstore.h"

#include <qt6keychain/keychain.h>

#include <QCoreApplication>

namespace tianyi::admin {

void KeychainCredentialStore::read(const QString &key, std::function<void(const QString &, const QString &)> done)
{
    auto *job = new QKeychain::ReadPasswordJob(QString::fromLatin1(kService));
    job->setAutoDelete(true);
    job->setKey(key);
    QObject::connect(job, &QKeychain::Job::finished, job, [job, done](QKeychain::Job *) {
        if (job->error() == QKeychain::NoError)
            done(job->textData(), QString());
        else
            done(QString(), job->errorString());
    });
    job->start();
}

void KeychainCredentialStore::write(const QString &key, const QString &password, std::function<void(const QString &)> done)
{
    auto *job = new QKeychain::WritePasswordJob(QString::fromLatin1(kService));
    job->setAutoDelete(true);
    job->setKey(key);
    job->setTextData(password);
    QObject::connect(job, &QKeychain::Job::finished, job, [job, done](QKeychain::Job *) {
        done(job->error() == QKeychain::NoError ? QString() : job->errorString());
    });
    job->start();
}

void KeychainCredentialStore::remove(const QString &key)
{
    auto *job = new QKeychain::DeletePasswordJob(QString::fromLatin1(kService));
    job->setAutoDelete(true);
    job->setKey(key);
    job->start();
}

void MemoryCredentialStore::read(const QString &key, std::function<void(const QString &, const QString &)> done)
{
    if (m_entries.contains(key))
        done(m_entries.value(key), QString());
    else
        done(QString(), QCoreApplication::translate("tianyi::admin::CredentialStore", "no saved password"));
}

void MemoryCredentialStore::write(const QString &key, const QString &password, std::function<void(const QString &)> done)
{
    if (!failWith.isEmpty()) {
        done(failWith);
        return;
    }
    m_entries.insert(key, password);
    done(QString());
}

} // namespace tianyi::admin
