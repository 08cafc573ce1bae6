#pragma once
// Prometheus text-format metrics. Thread-safe (storage and worker threads record too).
// Families are declared once (name, type, help); samples are keyed by their label set.

#include <QList>
#include <QMap>
#include <QMutex>
#include <QPair>
#include <QString>
#include <QVector>
#include <functional>

namespace tianyi {

using Labels = QList<QPair<QString, QString>>;

class Metrics
{
public:
    Metrics();

    void declareCounter(const QString &name, const QString &help);
    void declareGauge(const QString &name, const QString &help);
    void declareHistogram(const QString &name, const QString &help, QVector<double> bucketBounds);
    // A gauge computed at scrape time (queue depths, open connections).
    void declareGaugeCallback(const QString &name, const QString &help, std::function<QList<QPair<Labels, double>>()> sample);

    void increment(const QString &name, const Labels &labels = {}, double by = 1.0);
    void setGauge(const QString &name, const Labels &labels, double value);
    void addGauge(const QString &name, const Labels &labels, double delta);
    void observe(const QString &name, const Labels &labels, double value);

    // Value of a counter or gauge sample (tests and the admin API).
    double value(const QString &name, const Labels &labels = {}) const;

    QByteArray render() const;

    // Default buckets for latencies in seconds: 0.5 ms .. 30 s.
    static QVector<double> latencyBuckets();

private:
    enum class Kind { Counter, Gauge, Histogram, GaugeCallback };
    struct Histogram {
        QVector<quint64> counts;  // per bucket (non-cumulative)
        double sum = 0;
        quint64 count = 0;
    };
    struct Family {
        Kind kind = Kind::Counter;
        QString help;
        QVector<double> bounds;
        QMap<QString, double> values;        // rendered labels -> value
        QMap<QString, Histogram> histograms; // rendered labels -> histogram
        std::function<QList<QPair<Labels, double>>()> callback;
    };

    static QString renderLabels(const Labels &labels);
    Family *family(const QString &name, Kind expected);

    mutable QMutex m_mutex;
    QMap<QString, Family> m_families;
};

} // namespace tianyi
