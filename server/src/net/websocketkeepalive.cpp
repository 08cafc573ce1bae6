#include "net/websocketkeepalive.h"

#include <QWebSocket>
#include <algorithm>

namespace tianyi {

WebSocketKeepAlive::WebSocketKeepAlive(QWebSocket *socket, int pingIntervalMs, int silenceTimeoutMs, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_timeoutMs(silenceTimeoutMs)
{
    connect(socket, &QWebSocket::pong, this, [this](quint64, const QByteArray &) { seen(); });
    m_sinceSeen.start();
    m_pingTimer.setInterval(std::max(100, pingIntervalMs));
    connect(&m_pingTimer, &QTimer::timeout, this, [this]() {
        if (!m_socket)
            return;
        if (m_sinceSeen.elapsed() > m_timeoutMs) {
            m_pingTimer.stop();
            emit silent(m_sinceSeen.elapsed());
            return;
        }
        m_socket->ping();
    });
    m_pingTimer.start();
    m_authTimer.setSingleShot(true);
    connect(&m_authTimer, &QTimer::timeout, this, &WebSocketKeepAlive::authDeadlinePassed);
}

void WebSocketKeepAlive::seen()
{
    m_sinceSeen.restart();
}

void WebSocketKeepAlive::startAuthDeadline(int ms)
{
    m_authTimer.start(ms);
}

void WebSocketKeepAlive::stopAuthDeadline()
{
    m_authTimer.stop();
}

void WebSocketKeepAlive::stop()
{
    m_authTimer.stop();
    m_pingTimer.stop();
}

} // namespace tianyi
