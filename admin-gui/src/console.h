#pragma once
// Everything the views share: the REST API, the live feed, and the models the feed keeps live.
// Views hold a reference and never talk to the network themselves except through AdminApi.

#include "adminapi.h"
#include "adminfeedclient.h"
#include "queuehistory.h"
#include "sessionsmodel.h"
#include "usersmodel.h"

#include <QObject>

namespace tianyi::admin {

class Console : public QObject
{
    Q_OBJECT
public:
    explicit Console(QObject *parent = nullptr);

    AdminApi &api() { return m_api; }
    AdminFeedClient &feed() { return m_feed; }
    SessionsModel &sessions() { return m_sessions; }
    QueueHistory &queues() { return m_queues; }

    // After a successful sign-in: starts the feed (its hello fills the sessions and queues).
    void start();
    void stop();

signals:
    // users_changed from the feed: {change, user}
    void userChanged(const QJsonObject &user, const QString &change);
    // Any feed message, after the models took it (for status lines and tests).
    void feedMessage(const QJsonObject &message);

private:
    void onMessage(const QJsonObject &message);

    AdminApi m_api;
    AdminFeedClient m_feed;
    SessionsModel m_sessions;
    QueueHistory m_queues;
};

} // namespace tianyi::admin
