#include "net/websocketpeer.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QWebSocket>
#include <algorithm>

namespace tianyi {

namespace {
constexpr qint64 kMaxTimerMs = 24LL * 3600 * 1000; // QTimer takes int milliseconds: re-armed beyond this
} // namespace

WebSocketPeer::WebSocketPeer(QWebSocket *socket, const Limits &limits, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_limits(limits)
{
    socket->setParent(this);
    socket->setMaxAllowedIncomingFrameSize(quint64(limits.maxIncomingBytes));
    socket->setMaxAllowedIncomingMessageSize(quint64(limits.maxIncomingBytes));
    connect(socket, &QWebSocket::textMessageReceived, this, [this](const QString &message) {
        seen();
        emit textReceived(message);
    });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &message) {
        seen();
        emit binaryReceived(message);
    });
    connect(socket, &QWebSocket::pong, this, [this](quint64, const QByteArray &) { seen(); });
    connect(socket, &QWebSocket::bytesWritten, this, [this](qint64) { checkBackpressure(); });
    connect(socket, &QWebSocket::disconnected, this, [this]() {
        m_closed = true;
        m_pingTimer.stop();
        m_authTimer.stop();
        m_tokenTimer.stop();
        emit disconnected();
    });

    m_sinceSeen.start();
    m_pingTimer.setInterval(std::max(100, limits.pingIntervalMs));
    connect(&m_pingTimer, &QTimer::timeout, this, [this]() {
        if (!m_socket)
            return;
        if (m_sinceSeen.elapsed() > m_limits.silenceTimeoutMs) {
            m_pingTimer.stop();
            emit silent(m_sinceSeen.elapsed());
            return;
        }
        m_socket->ping();
    });
    m_pingTimer.start();
    m_authTimer.setSingleShot(true);
    connect(&m_authTimer, &QTimer::timeout, this, &WebSocketPeer::authDeadlinePassed);
    m_tokenTimer.setSingleShot(true);
    connect(&m_tokenTimer, &QTimer::timeout, this, [this]() {
        if (m_tokenExpiresAtS * 1000 > QDateTime::currentMSecsSinceEpoch()) {
            armTokenExpiry(m_tokenExpiresAtS); // a long-lived token: the timer's range ended first
            return;
        }
        emit tokenExpired();
    });
}

WebSocketPeer::~WebSocketPeer()
{
    delete m_socket;
}

void WebSocketPeer::sendJson(const QJsonObject &object)
{
    if (!m_socket || m_closed)
        return;
    m_socket->sendTextMessage(QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact)));
    checkBackpressure();
}

void WebSocketPeer::sendBinary(const QByteArray &bytes)
{
    if (!m_socket || m_closed)
        return;
    m_socket->sendBinaryMessage(bytes);
    checkBackpressure();
}

void WebSocketPeer::checkBackpressure()
{
    if (!m_socket || m_closed)
        return;
    const qint64 queued = m_socket->bytesToWrite();
    if (queued > m_limits.maxSendQueueBytes)
        emit slowConsumer(queued);
}

void WebSocketPeer::close(int code, const QString &reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_pingTimer.stop();
    m_authTimer.stop();
    m_tokenTimer.stop();
    if (!m_socket)
        return;
    m_socket->close(QWebSocketProtocol::CloseCode(code), reason);
    QPointer<QWebSocket> socket = m_socket;
    QTimer::singleShot(kAbortAfterCloseMs, this, [socket]() {
        if (socket && socket->state() != QAbstractSocket::UnconnectedState)
            socket->abort();
    });
}

void WebSocketPeer::startAuthDeadline(int ms)
{
    m_authTimer.start(ms);
}

void WebSocketPeer::stopAuthDeadline()
{
    m_authTimer.stop();
}

void WebSocketPeer::armTokenExpiry(qint64 expiresAtS)
{
    if (m_closed)
        return;
    m_tokenExpiresAtS = expiresAtS;
    const qint64 leftMs = expiresAtS * 1000 - QDateTime::currentMSecsSinceEpoch();
    // A QTimer counts in int milliseconds: a long-lived token is re-armed when the timer fires early.
    m_tokenTimer.start(int(std::clamp<qint64>(leftMs, 0, kMaxTimerMs)));
}

} // namespace tianyi
