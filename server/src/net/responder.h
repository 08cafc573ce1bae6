#pragma once
// A handle that answers one HTTP request, possibly later (after hashing or a database round trip).
// Copies share one state: the first send() wins, later ones are ignored; if every copy is dropped
// unanswered, the client gets a 500 instead of a hang. If the client has gone, send() does nothing.
// Use and destroy it on the event-loop thread only.

#include "net/httpmessage.h"

#include <QElapsedTimer>
#include <QPointer>
#include <memory>

namespace tianyi {

class HttpConnection;

class Responder
{
public:
    Responder() = default;
    Responder(HttpConnection *connection, quint64 serial);

    void send(HttpResponse response) const;
    bool answered() const;
    // False once the client has disconnected: long work may stop early.
    bool clientConnected() const;
    void setRoute(const QString &route) const;

private:
    struct State {
        QPointer<HttpConnection> connection;
        quint64 serial = 0;
        bool answered = false;
        QString route = QStringLiteral("unmatched");
        QElapsedTimer started;
        ~State();
    };
    std::shared_ptr<State> m_state;
};

} // namespace tianyi
