#pragma once
// Starts the real Application in-process on 127.0.0.1:0 with a fresh temporary data directory.

#include "app/application.h"
#include "base/config.h"

#include <QTemporaryDir>
#include <memory>

namespace tianyi::test {

// A Config fit for tests: temp data dir, port 0, fast Argon2 (still Argon2id), small limits where useful.
Config testConfig(const QString &dataDir);

class TestServer
{
public:
    // Uses a fresh temporary data directory unless one is given (restart tests reuse it).
    explicit TestServer(std::function<void(Config &)> adjust = {}, const QString &dataDir = {});
    ~TestServer();

    bool started() const { return m_started; }
    QString error() const { return m_error; }
    QString baseUrl() const;
    quint16 port() const;
    QString dataDir() const { return m_dataDir; }
    Application &app() { return *m_app; }
    // Graceful stop, waiting for Application::stopped.
    void stop();

private:
    std::unique_ptr<QTemporaryDir> m_tempDir;
    QString m_dataDir;
    std::unique_ptr<Application> m_app;
    bool m_started = false;
    QString m_error;
};

} // namespace tianyi::test
