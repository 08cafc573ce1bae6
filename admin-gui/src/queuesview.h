#pragma once
// Charts of the last minutes of the server's queues (Qt Charts), redrawn from QueueHistory on
// every sample: LLM in flight / waiting; TTS queued / running and each GPT-SoVITS backend's
// requests in flight; the memory outbox backlog and the open sessions.

#include <QWidget>

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QValueAxis;

namespace tianyi::admin {

class QueueHistory;
struct QueueSample;

class QueuesView : public QWidget
{
    Q_OBJECT
public:
    static constexpr int kWindowSeconds = 300; // the charts show the last five minutes

    explicit QueuesView(QueueHistory &history, QWidget *parent = nullptr);

    // Points of a named series (tests): "llm_in_flight", "llm_waiting", "tts_queued", "tts_running",
    // "outbox", "sessions", or "backend:<url>".
    int pointCount(const QString &series) const;
    QString summaryText() const;
    // The note over a chart ("llm", "tts", "load"), empty when none is shown: why a built-in
    // provider's chart stays at 0.
    QString chartNote(const QString &chart) const;

protected:
    void changeEvent(QEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    struct Chart {
        QChart *chart = nullptr;
        QChartView *view = nullptr;
        QValueAxis *x = nullptr;
        QValueAxis *y = nullptr;
        QLabel *note = nullptr; // over the chart view; shown for a built-in provider
    };
    Chart makeChart();
    QLineSeries *addSeries(Chart &chart, const QString &key);
    void redraw();
    void explainBuiltIns(const QueueSample &latest);
    void placeNote(Chart &chart);
    void retranslate();

    QueueHistory &m_history;
    Chart m_llm;
    Chart m_tts;
    Chart m_load;
    QHash<QString, QLineSeries *> m_series;
    QLabel *m_summary;
};

} // namespace tianyi::admin
