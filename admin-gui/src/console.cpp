#include "console.h"

namespace tianyi::admin {

Console::Console(QObject *parent)
    : QObject(parent)
    , m_api(this)
    , m_feed(m_api, this)
{
    connect(&m_feed, &AdminFeedClient::message, this, &Console::onMessage);
}

void Console::start()
{
    m_sessions.clear();
    m_queues.clear();
    m_feed.start();
}

void Console::stop()
{
    m_feed.stop();
}

void Console::onMessage(const QJsonObject &message)
{
    m_sessions.apply(message);
    m_queues.apply(message);
    if (message.value(QStringLiteral("type")).toString() == QLatin1String("users_changed"))
        emit userChanged(message.value(QStringLiteral("user")).toObject(), message.value(QStringLiteral("change")).toString());
    emit feedMessage(message);
}

} // namespace tianyi::admin
