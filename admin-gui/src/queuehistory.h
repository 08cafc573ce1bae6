#pragma once
// The last minutes of the server's queues: one sample per `queues` message of the feed (one a
// second), kept in a ring buffer of fixed capacity, so that a console left open for days holds
// the same memory as one opened a minute ago.

#include <QDateTime>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QVector>

namespace tianyi::admin {

struct QueueSample {
    qint64 atMs = 0;            // server time of the sample
    int sessions = 0;
    int llmInFlight = 0;
    int llmWaiting = 0;
    int ttsQueued = 0;
    int ttsRunning = 0;
    int outboxBacklog = 0;      // pending + running memory jobs
    bool llmBuiltIn = false;    // the built-in demo responder: the LLM numbers are always 0
    bool ttsBuiltIn = false;    // the built-in espeak-ng: nothing waits for it
    QMap<QString, int> backendInFlight; // GPT-SoVITS backend url -> requests in flight

    static QueueSample fromJson(const QJsonObject &queues, qint64 atMs);
};

class QueueHistory : public QObject
{
    Q_OBJECT
public:
    static constexpr int kDefaultCapacity = 600; // ten minutes at one sample a second

    explicit QueueHistory(int capacity = kDefaultCapacity, QObject *parent = nullptr);

    // A feed message: hello (its queues snapshot) and queues add a sample; others are ignored.
    void apply(const QJsonObject &message);
    void add(const QueueSample &sample);
    void clear();

    int size() const { return m_count; }
    int capacity() const { return int(m_ring.size()); }
    // Oldest first; i in [0, size()).
    const QueueSample &at(int i) const;
    const QueueSample *latest() const { return m_count ? &at(m_count - 1) : nullptr; }
    QStringList backends() const; // every backend seen in the samples kept

signals:
    void sampleAdded();

private:
    QVector<QueueSample> m_ring;
    int m_start = 0;
    int m_count = 0;
};

} // namespace tianyi::admin
