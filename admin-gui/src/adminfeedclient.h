#pragma once
// The /ws/admin live feed (docs/protocol.md "Live feed"): opens with the API's access token,
// hands every message on, and reconnects by itself with exponential backoff when the socket
// drops (server restart, network). A close for a rejected token (4001) first asks the API for a
// new login; 4003 (not an admin any more) stops for good: retrying cannot help.

#include <QAbstractSocket>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

class QWebSocket;

namespace tianyi::admin {

class AdminApi;

class AdminFeedClient : public QObject
{
    Q_OBJECT
public:
    enum class State { Offline, Connecting, Live, Waiting, Refused };
    Q_ENUM(State)

    static constexpr int kFirstRetryMs = 250;
    static constexpr int kMaxRetryMs = 10000;
    static constexpr qint64 kMaxMessageBytes = 4 << 20; // a hello with many sessions fits easily

    explicit AdminFeedClient(AdminApi &api, QObject *parent = nullptr);
    ~AdminFeedClient() override;

    void start();   // after AdminApi::signIn succeeded
    void stop();
    State state() const { return m_state; }
    int retryInMs() const { return m_retryMs; }
    QString lastCloseReason() const { return m_lastReason; }

signals:
    void message(const QJsonObject &message);
    void stateChanged(tianyi::admin::AdminFeedClient::State state);

private:
    void open();
    void onDisconnected();
    void scheduleRetry();
    void setState(State state);

    AdminApi &m_api;
    QWebSocket *m_socket = nullptr;
    QTimer m_retry;
    int m_retryMs = kFirstRetryMs;
    bool m_running = false;
    State m_state = State::Offline;
    QString m_lastReason;
};

} // namespace tianyi::admin
