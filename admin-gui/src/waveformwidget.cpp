#include "waveformwidget.h"

#include <QPainter>
#include <QtEndian>

namespace tianyi::admin {

WaveformWidget::WaveformWidget(QWidget *parent)
    : QWidget(parent)
{
    setMinimumHeight(80);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void WaveformWidget::setPcm(const QByteArray &pcm, int sampleRate, int channels)
{
    m_pcm = pcm;
    m_sampleRate = sampleRate;
    m_channels = qMax(1, channels);
    m_samples = pcm.size() / 2 / m_channels;
    m_cache = columns(width());
    update();
}

void WaveformWidget::clear()
{
    setPcm({}, 0, 1);
}

qint64 WaveformWidget::durationMs() const
{
    return m_sampleRate > 0 ? m_samples * 1000 / m_sampleRate : 0;
}

QVector<QPair<qint16, qint16>> WaveformWidget::columns(int width) const
{
    QVector<QPair<qint16, qint16>> out;
    if (width <= 0 || m_samples == 0)
        return out;
    out.reserve(width);
    const auto *data = reinterpret_cast<const uchar *>(m_pcm.constData());
    for (int x = 0; x < width; ++x) {
        const qsizetype from = m_samples * x / width;
        const qsizetype to = qMax(from + 1, m_samples * (x + 1) / width);
        qint16 lo = 0;
        qint16 hi = 0;
        for (qsizetype i = from; i < to && i < m_samples; ++i) {
            const qint16 v = qFromLittleEndian<qint16>(data + i * 2 * m_channels); // first channel
            lo = qMin(lo, v);
            hi = qMax(hi, v);
        }
        out.append({lo, hi});
    }
    return out;
}

void WaveformWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    m_cache = columns(width());
}

void WaveformWidget::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    const int mid = height() / 2;
    p.setPen(palette().mid().color());
    p.drawLine(0, mid, width(), mid);
    if (m_cache.isEmpty()) {
        p.setPen(palette().placeholderText().color());
        p.drawText(rect(), Qt::AlignCenter, tr("No audio"));
        return;
    }
    p.setPen(QColor(0x39, 0xc5, 0xbb)); // Tianyi's teal
    const double scale = double(mid - 2) / 32768.0;
    for (int x = 0; x < m_cache.size(); ++x)
        p.drawLine(x, mid - int(m_cache.at(x).second * scale), x, mid - int(m_cache.at(x).first * scale));
}

} // namespace tianyi::admin
