#include "adminfeedclient.h"

#include "adminapi.h"

#include <tianyi/chatprotocol.h>

#include <QJsonDocument>
#include <QPointer>
#include <QUrlQuery>
#include <QWebSocket>

namespace tianyi::admin {

namespace {
constexpr int kCloseForbidden = 4003; // a valid token, but not of an enabled admin
}

AdminFeedClient::AdminFeedClient(AdminApi &api, QObject *parent)
    : QObject(parent)
    , m_api(api)
{
    m_retry.setSingleShot(true);
    connect(&m_retry, &QTimer::timeout, this, &AdminFeedClient::open);
    // A new login (re-login after 401, or another server) reopens at once.
    connect(&m_api, &AdminApi::accessTokenChanged, this, [this]() {
        if (m_running && m_state != State::Live && m_state != State::Connecting) {
            m_retry.stop();
            open();
        }
    });
}

AdminFeedClient::~AdminFeedClient()
{
    stop();
}

void AdminFeedClient::start()
{
    stop();
    m_running = true;
    m_retryMs = kFirstRetryMs;
    open();
}

void AdminFeedClient::stop()
{
    m_running = false;
    m_retry.stop();
    if (m_socket) {
        QWebSocket *socket = m_socket;
        m_socket = nullptr;
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
    }
    setState(State::Offline);
}

void AdminFeedClient::open()
{
    if (!m_running)
        return;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket->deleteLater();
    }
    QUrl url = m_api.server();
    url.setScheme(url.scheme() == QLatin1String("https") ? QStringLiteral("wss") : QStringLiteral("ws"));
    QString path = url.path();
    while (path.endsWith(QLatin1Char('/')))
        path.chop(1);
    url.setPath(path + QStringLiteral("/ws/admin"));
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("token"), m_api.accessToken());
    url.setQuery(query);

    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket->setMaxAllowedIncomingMessageSize(quint64(kMaxMessageBytes));
    m_socket->setMaxAllowedIncomingFrameSize(quint64(kMaxMessageBytes));
    connect(m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        const QJsonObject msg = QJsonDocument::fromJson(text.toUtf8()).object();
        if (msg.value(QStringLiteral("type")).toString() == QLatin1String("hello")) {
            m_retryMs = kFirstRetryMs; // a healthy server: the next drop retries fast again
            setState(State::Live);
        }
        emit message(msg);
    });
    connect(m_socket, &QWebSocket::disconnected, this, &AdminFeedClient::onDisconnected);
    setState(State::Connecting);
    m_socket->open(url);
}

void AdminFeedClient::onDisconnected()
{
    if (!m_socket)
        return;
    const int code = int(m_socket->closeCode());
    m_lastReason = m_socket->closeReason();
    m_socket->disconnect(this);
    m_socket->deleteLater();
    m_socket = nullptr;
    if (!m_running)
        return;
    if (code == kCloseForbidden) {
        setState(State::Refused);
        return;
    }
    if (code == chat::kCloseUnauthorized) {
        // The token was rejected (expired, or the server's key changed): log in again, then reopen.
        setState(State::Waiting);
        m_api.reauthenticate([self = QPointer<AdminFeedClient>(this)](bool ok) {
            if (self && !ok && self->m_running)
                self->scheduleRetry();
            // ok: accessTokenChanged reopened the socket
        });
        return;
    }
    scheduleRetry();
}

void AdminFeedClient::scheduleRetry()
{
    setState(State::Waiting);
    m_retry.start(m_retryMs);
    m_retryMs = qMin(m_retryMs * 2, kMaxRetryMs);
}

void AdminFeedClient::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    emit stateChanged(state);
}

} // namespace tianyi::admin
