#include "upstream/requestscheduler.h"

#include "metrics/metrics.h"

#include <QNetworkAccessManager>
#include <QPointer>
#include <algorithm>

namespace tianyi {

RequestScheduler::RequestScheduler(Options options, Metrics &metrics, QObject *parent)
    : QObject(parent), m_options(std::move(options)), m_metrics(metrics)
{
    m_options.maxConcurrent = std::max(1, m_options.maxConcurrent);
    m_options.maxWaiting = std::max(0, m_options.maxWaiting);
    m_options.connectionsPerManager = std::max(1, m_options.connectionsPerManager);
    if (!m_options.metricPrefix.isEmpty()) {
        m_metrics.declareGauge(m_options.metricPrefix + QStringLiteral("_inflight"), QStringLiteral("Upstream requests in flight."));
        m_metrics.declareGauge(m_options.metricPrefix + QStringLiteral("_waiting"),
                               QStringLiteral("Upstream requests waiting for a free slot (max_concurrent reached)."));
    }
    const int managers = (m_options.maxConcurrent + m_options.connectionsPerManager - 1) / m_options.connectionsPerManager;
    m_managers.reserve(managers);
    m_load.fill(0, managers);
    for (int i = 0; i < managers; ++i) {
        auto *nam = new QNetworkAccessManager(this);
        nam->setAutoDeleteReplies(false);
        m_managers.append(nam);
    }
    publish();
}

RequestScheduler::~RequestScheduler()
{
    m_waiting.clear();
    m_active.clear();
    publish();
}

int RequestScheduler::pickManager()
{
    if (int(m_active.size()) >= m_options.maxConcurrent)
        return -1;
    int best = -1;
    for (int i = 0; i < m_managers.size(); ++i) {
        if (m_load[i] < m_options.connectionsPerManager && (best < 0 || m_load[i] < m_load[best]))
            best = i;
    }
    return best;
}

quint64 RequestScheduler::submit(Start start)
{
    const quint64 ticket = m_nextTicket++;
    if (m_waiting.empty() && pickManager() >= 0) {
        grant(ticket, std::move(start), true);
        return ticket;
    }
    if (int(m_waiting.size()) >= m_options.maxWaiting)
        return 0;
    m_waiting.push_back({ticket, std::move(start)});
    publish();
    return ticket;
}

void RequestScheduler::grant(quint64 ticket, Start start, bool now)
{
    const int index = pickManager();
    Q_ASSERT(index >= 0);
    ++m_load[index];
    m_active.insert(ticket, index);
    publish();
    QNetworkAccessManager *nam = m_managers[index];
    if (now) {
        start(nam);
        return;
    }
    // Started from the event loop, never from inside someone else's release().
    QMetaObject::invokeMethod(this, [this, ticket, nam, start = std::move(start)] {
        if (m_active.contains(ticket))
            start(nam);
    }, Qt::QueuedConnection);
}

void RequestScheduler::release(quint64 ticket)
{
    if (ticket == 0)
        return;
    auto it = m_active.find(ticket);
    if (it != m_active.end()) {
        --m_load[*it];
        m_active.erase(it);
        pump();
        publish();
        return;
    }
    const auto w = std::find_if(m_waiting.begin(), m_waiting.end(), [ticket](const Waiting &x) { return x.ticket == ticket; });
    if (w != m_waiting.end()) {
        m_waiting.erase(w);
        publish();
    }
}

void RequestScheduler::pump()
{
    while (!m_waiting.empty() && pickManager() >= 0) {
        Waiting next = std::move(m_waiting.front());
        m_waiting.pop_front();
        grant(next.ticket, std::move(next.start), false);
    }
}

void RequestScheduler::publish()
{
    if (m_options.metricPrefix.isEmpty())
        return;
    m_metrics.setGauge(m_options.metricPrefix + QStringLiteral("_inflight"), {}, double(m_active.size()));
    m_metrics.setGauge(m_options.metricPrefix + QStringLiteral("_waiting"), {}, double(m_waiting.size()));
}

} // namespace tianyi
