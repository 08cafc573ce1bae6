#pragma once
// Draws the waveform of a decoded sentence (mono s16le PCM): one min/max pair per pixel column,
// computed once per size change, not per paint.

#include <QByteArray>
#include <QVector>
#include <QWidget>

namespace tianyi::admin {

class WaveformWidget : public QWidget
{
    Q_OBJECT
public:
    explicit WaveformWidget(QWidget *parent = nullptr);

    void setPcm(const QByteArray &pcm, int sampleRate, int channels);
    void clear();
    bool hasSamples() const { return m_samples > 0; }
    qint64 durationMs() const;
    // Min/max per column for a given width (tests check the shape, the widget paints it).
    QVector<QPair<qint16, qint16>> columns(int width) const;

    QSize sizeHint() const override { return {600, 120}; }

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    QByteArray m_pcm;
    int m_sampleRate = 0;
    int m_channels = 1;
    qsizetype m_samples = 0;
    QVector<QPair<qint16, qint16>> m_cache;
};

} // namespace tianyi::admin
