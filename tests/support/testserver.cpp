#include "testserver.h"

#include <QSignalSpy>

namespace tianyi::test {

Config testConfig(const QString &dataDir)
{
    Config c;
    c.server.listenAddress = QStringLiteral("127.0.0.1");
    c.server.port = 0;
    c.server.dataDir = dataDir;
    c.server.shutdownTimeoutMs = 5000;
    // Argon2id at its minimum cost keeps the suite fast under ASan; production defaults are in config.h.
    c.auth.argon2OpsLimit = 1;
    c.auth.argon2MemLimitKiB = 8;
    return c;
}

TestServer::TestServer(std::function<void(Config &)> adjust, const QString &dataDir)
{
    if (dataDir.isEmpty()) {
        m_tempDir = std::make_unique<QTemporaryDir>();
        m_dataDir = m_tempDir->path();
    } else {
        m_dataDir = dataDir;
    }
    Config c = testConfig(m_dataDir);
    if (adjust)
        adjust(c);
    m_app = std::make_unique<Application>(c);
    m_started = m_app->start(&m_error);
}

TestServer::~TestServer()
{
    m_app.reset();
}

QString TestServer::baseUrl() const
{
    return m_app->baseUrl();
}

quint16 TestServer::port() const
{
    return m_app->port();
}

void TestServer::stop()
{
    QSignalSpy stopped(m_app.get(), &Application::stopped);
    m_app->shutdown();
    if (stopped.isEmpty())
        stopped.wait(15000);
}

} // namespace tianyi::test
