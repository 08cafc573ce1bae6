#include "queuesview.h"

#include "queuehistory.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QEvent>
#include <QGridLayout>
#include <QLabel>
#include <QLineSeries>
#include <QValueAxis>

namespace tianyi::admin {

QueuesView::QueuesView(QueueHistory &history, QWidget *parent)
    : QWidget(parent)
    , m_history(history)
    , m_summary(new QLabel(this))
{
    m_llm = makeChart();
    m_tts = makeChart();
    m_load = makeChart();
    addSeries(m_llm, QStringLiteral("llm_in_flight"));
    addSeries(m_llm, QStringLiteral("llm_waiting"));
    addSeries(m_tts, QStringLiteral("tts_queued"));
    addSeries(m_tts, QStringLiteral("tts_running"));
    addSeries(m_load, QStringLiteral("outbox"));
    addSeries(m_load, QStringLiteral("sessions"));
    auto *grid = new QGridLayout(this);
    grid->addWidget(m_llm.view, 0, 0);
    grid->addWidget(m_tts.view, 0, 1);
    grid->addWidget(m_load.view, 1, 0);
    grid->addWidget(m_summary, 1, 1, Qt::AlignTop | Qt::AlignLeft);
    for (Chart *c : {&m_llm, &m_tts, &m_load})
        c->view->installEventFilter(this);
    m_summary->setWordWrap(true);
    connect(&history, &QueueHistory::sampleAdded, this, &QueuesView::redraw);
    retranslate();
}

QueuesView::Chart QueuesView::makeChart()
{
    Chart c;
    c.chart = new QChart;
    c.chart->legend()->setAlignment(Qt::AlignBottom);
    c.chart->setMargins(QMargins(4, 4, 4, 4));
    c.x = new QValueAxis;
    c.x->setRange(-kWindowSeconds, 0);
    c.x->setLabelFormat(QStringLiteral("%d"));
    c.y = new QValueAxis;
    c.y->setRange(0, 4);
    c.y->setLabelFormat(QStringLiteral("%d"));
    c.chart->addAxis(c.x, Qt::AlignBottom);
    c.chart->addAxis(c.y, Qt::AlignLeft);
    c.view = new QChartView(c.chart, this); // owns the chart
    c.view->setRenderHint(QPainter::Antialiasing);
    c.view->setMinimumSize(300, 200);
    // Over the plot area, under the title: why a chart of a built-in provider stays at 0.
    c.note = new QLabel(c.view);
    c.note->setWordWrap(true);
    c.note->setAlignment(Qt::AlignCenter);
    c.note->setStyleSheet(QStringLiteral("QLabel { background: rgba(255, 248, 220, 230); color: #5a4a00; border: 1px solid #d9c27a;"
                                         " border-radius: 4px; padding: 6px; }"));
    c.note->hide();
    return c;
}

QLineSeries *QueuesView::addSeries(Chart &chart, const QString &key)
{
    auto *s = new QLineSeries;
    chart.chart->addSeries(s);
    s->attachAxis(chart.x);
    s->attachAxis(chart.y);
    m_series.insert(key, s);
    return s;
}

void QueuesView::retranslate()
{
    m_llm.chart->setTitle(tr("LLM requests"));
    m_tts.chart->setTitle(tr("Speech synthesis"));
    m_load.chart->setTitle(tr("Sessions and memory outbox"));
    for (Chart *c : {&m_llm, &m_tts, &m_load})
        c->x->setTitleText(tr("seconds ago"));
    m_series.value(QStringLiteral("llm_in_flight"))->setName(tr("in flight"));
    m_series.value(QStringLiteral("llm_waiting"))->setName(tr("waiting"));
    m_series.value(QStringLiteral("tts_queued"))->setName(tr("queued"));
    m_series.value(QStringLiteral("tts_running"))->setName(tr("running"));
    m_series.value(QStringLiteral("outbox"))->setName(tr("outbox backlog"));
    m_series.value(QStringLiteral("sessions"))->setName(tr("sessions"));
    redraw();
}

void QueuesView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}

bool QueuesView::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() == QEvent::Resize)
        for (Chart *c : {&m_llm, &m_tts, &m_load})
            if (c->view == watched)
                placeNote(*c);
    return QWidget::eventFilter(watched, event);
}

// The note spans the middle of its chart, a third of the way down.
void QueuesView::placeNote(Chart &c)
{
    const QRect area = c.view->rect();
    const int width = qMax(120, area.width() * 3 / 4);
    c.note->setFixedWidth(width);
    c.note->adjustSize();
    c.note->move(area.center().x() - width / 2, area.height() / 3 - c.note->height() / 2);
}

QString QueuesView::chartNote(const QString &chart) const
{
    const Chart *c = chart == QLatin1String("llm") ? &m_llm : chart == QLatin1String("tts") ? &m_tts : chart == QLatin1String("load") ? &m_load : nullptr;
    return c && !c->note->isHidden() ? c->note->text() : QString();
}

int QueuesView::pointCount(const QString &series) const
{
    const QLineSeries *s = m_series.value(series);
    return s ? s->count() : -1;
}

QString QueuesView::summaryText() const
{
    return m_summary->text();
}

void QueuesView::redraw()
{
    // A backend seen for the first time gets its own line in the TTS chart.
    for (const QString &url : m_history.backends()) {
        const QString key = QStringLiteral("backend:") + url;
        if (!m_series.contains(key))
            addSeries(m_tts, key)->setName(url);
    }
    const QueueSample *latest = m_history.latest();
    const qint64 now = latest ? latest->atMs : QDateTime::currentMSecsSinceEpoch();
    QHash<QString, QList<QPointF>> points;
    int maxY = 4;
    for (int i = 0; i < m_history.size(); ++i) {
        const QueueSample &s = m_history.at(i);
        const double x = double(s.atMs - now) / 1000.0;
        if (x < -kWindowSeconds)
            continue;
        auto put = [&](const QString &key, int y) {
            points[key].append(QPointF(x, y));
            maxY = qMax(maxY, y + 1);
        };
        put(QStringLiteral("llm_in_flight"), s.llmInFlight);
        put(QStringLiteral("llm_waiting"), s.llmWaiting);
        put(QStringLiteral("tts_queued"), s.ttsQueued);
        put(QStringLiteral("tts_running"), s.ttsRunning);
        put(QStringLiteral("outbox"), s.outboxBacklog);
        put(QStringLiteral("sessions"), s.sessions);
        for (auto it = s.backendInFlight.cbegin(); it != s.backendInFlight.cend(); ++it)
            put(QStringLiteral("backend:") + it.key(), it.value());
    }
    for (auto it = m_series.cbegin(); it != m_series.cend(); ++it)
        it.value()->replace(points.value(it.key()));
    // The x axis spans the samples there are (a fresh console shows its first minute, not a
    // five-minute axis with a sliver of data), up to the window.
    const qint64 oldest = m_history.size() ? m_history.at(0).atMs : now;
    const int span = int(qBound(qint64(60), (now - oldest) / 1000 + 1, qint64(kWindowSeconds)));
    // Five integer ticks: the top is a multiple of 4, so that every label is a whole count.
    const int top = (maxY + 3) / 4 * 4;
    for (Chart *c : {&m_llm, &m_tts, &m_load}) {
        c->y->setRange(0, top);
        c->x->setRange(-span, 0);
    }
    if (!latest) {
        m_summary->setText(tr("No samples yet: the live feed sends one every second."));
        explainBuiltIns(QueueSample());
        return;
    }
    m_summary->setText(tr("Now: %1; LLM %2 in flight, %3 waiting; TTS %4 queued, %5 running; outbox %6.")
                           .arg(tr("%n session(s)", nullptr, latest->sessions))
                           .arg(latest->llmInFlight)
                           .arg(latest->llmWaiting)
                           .arg(latest->ttsQueued)
                           .arg(latest->ttsRunning)
                           .arg(latest->outboxBacklog)
                       + QLatin1Char('\n') + tr("%n sample(s) kept (at most %1).", nullptr, m_history.size()).arg(m_history.capacity()));
    explainBuiltIns(*latest);
}

// A built-in provider never queues: the demo responder answers at once in-process, espeak-ng
// synthesizes in a moment. Its chart at 0 is the truth, not a fault: each chart says so.
void QueuesView::explainBuiltIns(const QueueSample &s)
{
    auto note = [this](Chart &c, bool builtIn, const QString &why) {
        c.note->setText(builtIn ? why : QString());
        c.note->setVisible(builtIn);
        placeNote(c);
    };
    note(m_llm, s.llmBuiltIn,
         tr("The built-in demo responder answers at once and never queues: this chart stays at 0. It fills when a real "
            "LLM service is configured (llm.base_url)."));
    note(m_tts, s.ttsBuiltIn,
         tr("The built-in espeak-ng voice synthesizes in a moment and hardly queues: this chart stays near 0. It fills "
            "when GPT-SoVITS services are configured (tts.base_urls)."));
}

} // namespace tianyi::admin
