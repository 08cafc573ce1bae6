// tianyi-benchplot: one line chart from a JSON description to a PNG, with Qt Charts rendered offscreen
// (run with QT_QPA_PLATFORM=offscreen). bench/report.py writes the descriptions from the results.
//
//   tianyi-benchplot SPEC.json OUT.png
//
// SPEC: {"title": "...", "x_label": "...", "y_label": "...", "log_x": false, "log_y": false,
//        "width": 760, "height": 400,
//        "series": [{"name": "...", "points": [[x, y], ...]}],
//        "targets": [{"name": "target 50 ms", "y": 50}]}     (dashed horizontal lines)

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPen>
#include <QPixmap>
#include <QValueAxis>

#include <cmath>
#include <cstdio>
#include <limits>

namespace {

QAbstractAxis *makeAxis(bool log, const QString &title, double min, double max)
{
    if (log) {
        auto *a = new QLogValueAxis;
        a->setBase(10);
        a->setLabelFormat(QStringLiteral("%g"));
        a->setMinorTickCount(-1);
        a->setRange(min > 0 ? min / 1.5 : 0.1, max * 1.5);
        a->setTitleText(title);
        return a;
    }
    auto *a = new QValueAxis;
    const double pad = (max - min) * 0.05;
    a->setRange(min >= 0 && min - pad < 0 ? 0 : min - pad, max + pad + (max == min ? 1 : 0));
    a->setLabelFormat(QStringLiteral("%g"));
    a->applyNiceNumbers();
    a->setTitleText(title);
    return a;
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 3) {
        std::fprintf(stderr, "usage: tianyi-benchplot SPEC.json OUT.png\n");
        return 2;
    }
    QFile f(args.at(1));
    if (!f.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "benchplot: cannot read %s\n", qPrintable(args.at(1)));
        return 2;
    }
    const QJsonObject spec = QJsonDocument::fromJson(f.readAll()).object();
    const bool logX = spec.value(QStringLiteral("log_x")).toBool();
    const bool logY = spec.value(QStringLiteral("log_y")).toBool();

    auto *chart = new QChart;
    chart->setTitle(spec.value(QStringLiteral("title")).toString());
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->legend()->setAlignment(Qt::AlignBottom);
    double xmin = std::numeric_limits<double>::max(), xmax = std::numeric_limits<double>::lowest();
    double ymin = xmin, ymax = xmax;
    QList<QLineSeries *> all;
    for (const QJsonValue &sv : spec.value(QStringLiteral("series")).toArray()) {
        const QJsonObject so = sv.toObject();
        auto *s = new QLineSeries;
        s->setName(so.value(QStringLiteral("name")).toString());
        s->setPointsVisible(true);
        for (const QJsonValue &pv : so.value(QStringLiteral("points")).toArray()) {
            const double x = pv.toArray().at(0).toDouble(), y = pv.toArray().at(1).toDouble();
            if ((logX && x <= 0) || (logY && y <= 0) || !std::isfinite(x) || !std::isfinite(y))
                continue;
            s->append(x, y);
            xmin = std::min(xmin, x), xmax = std::max(xmax, x), ymin = std::min(ymin, y), ymax = std::max(ymax, y);
        }
        all.append(s);
    }
    if (all.isEmpty() || xmin > xmax) {
        std::fprintf(stderr, "benchplot: no points in %s\n", qPrintable(args.at(1)));
        return 1;
    }
    // Targets as dashed lines, each in its own colour (dark red, then dark grey...) so the legend tells them apart.
    const QList<QColor> targetColours{QColor(0xb0, 0x1c, 0x1c), QColor(0x40, 0x40, 0x40), QColor(0x6a, 0x1b, 0x9a)};
    int targetIndex = 0;
    for (const QJsonValue &tv : spec.value(QStringLiteral("targets")).toArray()) {
        const QJsonObject to = tv.toObject();
        const double y = to.value(QStringLiteral("y")).toDouble();
        auto *s = new QLineSeries;
        s->setName(to.value(QStringLiteral("name")).toString());
        s->append(xmin, y);
        s->append(xmax, y);
        QPen pen(targetColours.at(targetIndex++ % targetColours.size()));
        pen.setStyle(Qt::DashLine);
        pen.setWidthF(1.5);
        s->setPen(pen);
        ymin = std::min(ymin, y), ymax = std::max(ymax, y);
        all.append(s);
    }
    QAbstractAxis *ax = makeAxis(logX, spec.value(QStringLiteral("x_label")).toString(), xmin, xmax);
    QAbstractAxis *ay = makeAxis(logY, spec.value(QStringLiteral("y_label")).toString(), ymin, ymax);
    chart->addAxis(ax, Qt::AlignBottom);
    chart->addAxis(ay, Qt::AlignLeft);
    for (QLineSeries *s : all) {
        chart->addSeries(s);
        s->attachAxis(ax);
        s->attachAxis(ay);
    }

    QChartView view(chart);
    view.setRenderHint(QPainter::Antialiasing);
    view.resize(spec.value(QStringLiteral("width")).toInt(760), spec.value(QStringLiteral("height")).toInt(400));
    // A palette image keeps the PNG at tens of KB.
    const QImage image = view.grab().toImage().convertToFormat(QImage::Format_Indexed8, Qt::ThresholdDither | Qt::AvoidDither);
    if (!image.save(args.at(2), "PNG", 9)) {
        std::fprintf(stderr, "benchplot: cannot write %s\n", qPrintable(args.at(2)));
        return 1;
    }
    return 0;
}
