#pragma once
// Admission control for many long-lived HTTP requests to one upstream host.
// QNetworkAccessManager opens at most 6 HTTP/1.1 connections per host and silently queues the
// 7th request (QHttp1Configuration arrives only in Qt 6.5), so 64 concurrent LLM streams through
// one manager would mostly wait. The scheduler owns ceil(maxConcurrent / 6) managers and hands each
// request a manager with a free connection; beyond maxConcurrent requests wait in a FIFO queue,
// itself capped (submit() refuses beyond it). In-flight and waiting counts are exported as gauges.
// Single-threaded: use from the thread that owns it.

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>
#include <QVector>
#include <deque>
#include <functional>

class QNetworkAccessManager;

namespace tianyi {

class Metrics;

class RequestScheduler : public QObject
{
    Q_OBJECT
public:
    struct Options {
        int maxConcurrent = 64;
        int maxWaiting = 1024;
        int connectionsPerManager = 6;     // Qt's per-host cap
        QString metricPrefix;              // e.g. "tianyi_llm": <prefix>_inflight, <prefix>_waiting
    };
    using Start = std::function<void(QNetworkAccessManager *manager)>;

    RequestScheduler(Options options, Metrics &metrics, QObject *parent = nullptr);
    ~RequestScheduler() override;

    // Calls start with a manager as soon as a slot is free: at once (synchronously) when one is free
    // now, else later from the event loop, in submission order. Returns a ticket (> 0), or 0 when
    // the waiting queue is full (start is then never called).
    quint64 submit(Start start);
    // The request of this ticket has ended, or is no longer wanted while it waits. Idempotent.
    void release(quint64 ticket);

    int inFlight() const { return int(m_active.size()); }
    int waiting() const { return int(m_waiting.size()); }
    int managerCount() const { return int(m_managers.size()); }
    const Options &options() const { return m_options; }

private:
    struct Waiting {
        quint64 ticket;
        Start start;
    };
    int pickManager();
    void grant(quint64 ticket, Start start, bool now);
    void pump();
    void publish();

    Options m_options;
    Metrics &m_metrics;
    QVector<QNetworkAccessManager *> m_managers;
    QVector<int> m_load;                 // active requests per manager
    QHash<quint64, int> m_active;        // ticket -> manager index
    std::deque<Waiting> m_waiting;
    quint64 m_nextTicket = 1;
    bool m_pumpQueued = false;
};

} // namespace tianyi
