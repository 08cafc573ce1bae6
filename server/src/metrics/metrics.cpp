#include "metrics/metrics.h"

#include <QMutexLocker>
#include <cmath>

namespace tianyi {

Metrics::Metrics() = default;

QVector<double> Metrics::latencyBuckets()
{
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

void Metrics::declareCounter(const QString &name, const QString &help)
{
    QMutexLocker lock(&m_mutex);
    Family &f = m_families[name];
    f.kind = Kind::Counter;
    f.help = help;
}

void Metrics::declareGauge(const QString &name, const QString &help)
{
    QMutexLocker lock(&m_mutex);
    Family &f = m_families[name];
    f.kind = Kind::Gauge;
    f.help = help;
}

void Metrics::declareHistogram(const QString &name, const QString &help, QVector<double> bucketBounds)
{
    QMutexLocker lock(&m_mutex);
    Family &f = m_families[name];
    f.kind = Kind::Histogram;
    f.help = help;
    f.bounds = std::move(bucketBounds);
}

void Metrics::declareGaugeCallback(const QString &name, const QString &help, std::function<QList<QPair<Labels, double>>()> sample)
{
    QMutexLocker lock(&m_mutex);
    Family &f = m_families[name];
    f.kind = Kind::GaugeCallback;
    f.help = help;
    f.callback = std::move(sample);
}

Metrics::Family *Metrics::family(const QString &name, Kind expected)
{
    auto it = m_families.find(name);
    if (it == m_families.end() || it->kind != expected)
        return nullptr; // undeclared: a programming error, but never worth a crash
    return &*it;
}

void Metrics::increment(const QString &name, const Labels &labels, double by)
{
    QMutexLocker lock(&m_mutex);
    if (Family *f = family(name, Kind::Counter))
        f->values[renderLabels(labels)] += by;
}

void Metrics::setGauge(const QString &name, const Labels &labels, double value)
{
    QMutexLocker lock(&m_mutex);
    if (Family *f = family(name, Kind::Gauge))
        f->values[renderLabels(labels)] = value;
}

void Metrics::addGauge(const QString &name, const Labels &labels, double delta)
{
    QMutexLocker lock(&m_mutex);
    if (Family *f = family(name, Kind::Gauge))
        f->values[renderLabels(labels)] += delta;
}

void Metrics::observe(const QString &name, const Labels &labels, double value)
{
    QMutexLocker lock(&m_mutex);
    Family *f = family(name, Kind::Histogram);
    if (!f)
        return;
    Histogram &h = f->histograms[renderLabels(labels)];
    if (h.counts.isEmpty())
        h.counts.fill(0, f->bounds.size() + 1);
    int i = 0;
    while (i < f->bounds.size() && value > f->bounds[i])
        ++i;
    ++h.counts[i];
    h.sum += value;
    ++h.count;
}

double Metrics::value(const QString &name, const Labels &labels) const
{
    QMutexLocker lock(&m_mutex);
    auto it = m_families.constFind(name);
    if (it == m_families.constEnd())
        return 0;
    if (it->kind == Kind::Histogram)
        return double(it->histograms.value(renderLabels(labels)).count);
    return it->values.value(renderLabels(labels), 0);
}

QString Metrics::renderLabels(const Labels &labels)
{
    if (labels.isEmpty())
        return {};
    QString out = QStringLiteral("{");
    for (int i = 0; i < labels.size(); ++i) {
        QString v = labels[i].second;
        v.replace(QLatin1Char('\\'), QLatin1String("\\\\")).replace(QLatin1Char('"'), QLatin1String("\\\"")).replace(QLatin1Char('\n'), QLatin1String("\\n"));
        out += (i ? QStringLiteral(",") : QString()) + labels[i].first + QStringLiteral("=\"") + v + QLatin1Char('"');
    }
    return out + QLatin1Char('}');
}

static QString number(double v)
{
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("+Inf") : QStringLiteral("-Inf");
    return QString::number(v, 'g', 12);
}

QByteArray Metrics::render() const
{
    // Callbacks run outside the lock: they may read other components' state.
    QMap<QString, std::function<QList<QPair<Labels, double>>()>> callbacks;
    {
        QMutexLocker lock(&m_mutex);
        for (auto it = m_families.constBegin(); it != m_families.constEnd(); ++it)
            if (it->kind == Kind::GaugeCallback)
                callbacks.insert(it.key(), it->callback);
    }
    QMap<QString, QList<QPair<Labels, double>>> sampled;
    for (auto it = callbacks.constBegin(); it != callbacks.constEnd(); ++it)
        sampled.insert(it.key(), it.value()());

    QMutexLocker lock(&m_mutex);
    QString out;
    for (auto it = m_families.constBegin(); it != m_families.constEnd(); ++it) {
        const QString &name = it.key();
        const Family &f = *it;
        const char *type = f.kind == Kind::Counter ? "counter" : f.kind == Kind::Histogram ? "histogram" : "gauge";
        out += QStringLiteral("# HELP %1 %2\n# TYPE %1 %3\n").arg(name, f.help, QString::fromLatin1(type));
        if (f.kind == Kind::Histogram) {
            for (auto h = f.histograms.constBegin(); h != f.histograms.constEnd(); ++h) {
                const QString base = h.key();
                quint64 cumulative = 0;
                for (int i = 0; i <= f.bounds.size(); ++i) {
                    cumulative += h->counts.value(i);
                    const QString le = i < f.bounds.size() ? number(f.bounds[i]) : QStringLiteral("+Inf");
                    QString labels = base.isEmpty() ? QStringLiteral("{le=\"%1\"}").arg(le)
                                                    : base.left(base.size() - 1) + QStringLiteral(",le=\"%1\"}").arg(le);
                    out += QStringLiteral("%1_bucket%2 %3\n").arg(name, labels).arg(cumulative);
                }
                out += QStringLiteral("%1_sum%2 %3\n").arg(name, base, number(h->sum));
                out += QStringLiteral("%1_count%2 %3\n").arg(name, base).arg(h->count);
            }
        } else if (f.kind == Kind::GaugeCallback) {
            for (const auto &sample : sampled.value(name))
                out += QStringLiteral("%1%2 %3\n").arg(name, renderLabels(sample.first), number(sample.second));
        } else {
            for (auto v = f.values.constBegin(); v != f.values.constEnd(); ++v)
                out += QStringLiteral("%1%2 %3\n").arg(name, v.key(), number(v.value()));
        }
    }
    return out.toUtf8();
}

} // namespace tianyi
