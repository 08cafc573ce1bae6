#include "queuehistory.h"

#include <QJsonArray>

namespace tianyi::admin {

QueueSample QueueSample::fromJson(const QJsonObject &q, qint64 atMs)
{
    QueueSample s;
    s.atMs = atMs;
    s.sessions = q.value(QStringLiteral("sessions")).toInt();
    const QJsonObject llm = q.value(QStringLiteral("llm")).toObject();
    s.llmInFlight = llm.value(QStringLiteral("in_flight")).toInt();
    s.llmWaiting = llm.value(QStringLiteral("waiting")).toInt();
    s.llmBuiltIn = llm.value(QStringLiteral("built_in")).toBool();
    const QJsonObject tts = q.value(QStringLiteral("tts")).toObject();
    s.ttsQueued = tts.value(QStringLiteral("queued")).toInt();
    s.ttsRunning = tts.value(QStringLiteral("running")).toInt();
    s.ttsBuiltIn = tts.value(QStringLiteral("built_in")).toBool();
    for (const QJsonValue &v : tts.value(QStringLiteral("backends")).toArray()) {
        const QJsonObject b = v.toObject();
        s.backendInFlight.insert(b.value(QStringLiteral("url")).toString(), b.value(QStringLiteral("in_flight")).toInt());
    }
    const QJsonObject outbox = q.value(QStringLiteral("outbox")).toObject();
    s.outboxBacklog = outbox.value(QStringLiteral("pending")).toInt() + outbox.value(QStringLiteral("running")).toInt();
    return s;
}

QueueHistory::QueueHistory(int capacity, QObject *parent)
    : QObject(parent)
    , m_ring(qMax(1, capacity))
{
}

void QueueHistory::apply(const QJsonObject &m)
{
    const QString type = m.value(QStringLiteral("type")).toString();
    if (type != QLatin1String("queues") && type != QLatin1String("hello"))
        return;
    QDateTime at = QDateTime::fromString(m.value(QStringLiteral("at")).toString(), Qt::ISODateWithMs);
    if (!at.isValid())
        at = QDateTime::currentDateTimeUtc();
    add(QueueSample::fromJson(m.value(QStringLiteral("queues")).toObject(), at.toMSecsSinceEpoch()));
}

void QueueHistory::add(const QueueSample &sample)
{
    const int cap = capacity();
    if (m_count < cap) {
        m_ring[(m_start + m_count) % cap] = sample;
        ++m_count;
    } else {
        m_ring[m_start] = sample; // overwrite the oldest
        m_start = (m_start + 1) % cap;
    }
    emit sampleAdded();
}

void QueueHistory::clear()
{
    m_start = 0;
    m_count = 0;
    emit sampleAdded();
}

const QueueSample &QueueHistory::at(int i) const
{
    return m_ring.at((m_start + i) % capacity());
}

QStringList QueueHistory::backends() const
{
    QStringList out;
    for (int i = 0; i < m_count; ++i)
        for (auto it = at(i).backendInFlight.cbegin(); it != at(i).backendInFlight.cend(); ++it)
            if (!out.contains(it.key()))
                out << it.key();
    return out;
}

} // namespace tianyi::admin
