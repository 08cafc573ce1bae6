#include "sessionsview.h"

#include "console.h"
#include "statuslabel.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonValue>
#include <QLabel>
#include <QPointer>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace tianyi::admin {

SessionsView::SessionsView(Console &console, QWidget *parent)
    : QWidget(parent)
    , m_console(console)
    , m_table(new QTableView(this))
    , m_stop(new QPushButton(this))
    , m_disconnect(new QPushButton(this))
    , m_openTurn(new QPushButton(this))
    , m_status(new StatusLabel(this))
    , m_count(new QLabel(this))
{
    m_table->setModel(&console.sessions());
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->verticalHeader()->hide();
    m_table->setAlternatingRowColors(true);
    m_status->setWordWrap(true);

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_stop);
    buttons->addWidget(m_disconnect);
    buttons->addWidget(m_openTurn);
    buttons->addStretch();
    buttons->addWidget(m_count);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addLayout(buttons);
    layout->addWidget(m_status);

    connect(m_stop, &QPushButton::clicked, this, &SessionsView::stopSelected);
    connect(m_disconnect, &QPushButton::clicked, this, &SessionsView::disconnectSelected);
    connect(m_openTurn, &QPushButton::clicked, this, [this]() {
        if (const SessionRow *r = m_console.sessions().row(m_table->currentIndex().row()); r && r->lastTurnId > 0)
            emit openTurn(r->lastTurnId);
    });
    connect(m_table, &QTableView::doubleClicked, m_openTurn, &QPushButton::click);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &SessionsView::updateButtons);
    connect(&console.sessions(), &QAbstractItemModel::dataChanged, this, &SessionsView::updateButtons);
    connect(&console.sessions(), &QAbstractItemModel::modelReset, this, &SessionsView::updateButtons);
    connect(&console.sessions(), &QAbstractItemModel::rowsRemoved, this, &SessionsView::updateButtons);
    connect(&console.sessions(), &QAbstractItemModel::rowsInserted, this, &SessionsView::updateButtons);
    retranslate();
}

void SessionsView::retranslate()
{
    m_stop->setText(tr("Stop turn"));
    m_stop->setToolTip(tr("Stop the running turn, as the user's own stop would"));
    m_disconnect->setText(tr("Disconnect"));
    m_disconnect->setToolTip(tr("Close the user's chat socket (close code 4005)"));
    m_openTurn->setText(tr("Open last turn"));
    m_console.sessions().retranslate();
    updateButtons();
}

void SessionsView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}

QString SessionsView::statusText() const
{
    return m_status->text();
}

QString SessionsView::countText() const
{
    return m_count->text();
}

QString SessionsView::selectedSession() const
{
    const SessionRow *r = m_console.sessions().row(m_table->currentIndex().row());
    return r ? r->id : QString();
}

bool SessionsView::selectSession(const QString &sessionId)
{
    const int row = m_console.sessions().rowOf(sessionId);
    if (row < 0)
        return false;
    m_table->setCurrentIndex(m_console.sessions().index(row, 0));
    return true;
}

void SessionsView::updateButtons()
{
    const SessionRow *r = m_console.sessions().row(m_table->currentIndex().row());
    m_stop->setEnabled(r && r->currentTurn > 0);
    m_disconnect->setEnabled(r != nullptr);
    m_openTurn->setEnabled(r && r->lastTurnId > 0);
    m_count->setText(tr("%n session(s)", nullptr, m_console.sessions().rowCount()));
}

// Runs one session action on the selected row; `outcome` words the server's answer.
void SessionsView::act(void (AdminApi::*action)(const QString &, AdminApi::Callback),
                       std::function<QString(const QString &id, const ApiResult &)> outcome)
{
    const QString id = selectedSession();
    if (id.isEmpty())
        return;
    QPointer<SessionsView> self(this);
    (m_console.api().*action)(id, [self, id, outcome](const ApiResult &r) {
        if (self)
            self->m_status->say([outcome, id, r]() { return outcome(id, r); });
    });
}

void SessionsView::stopSelected()
{
    act(&AdminApi::stopSession, [](const QString &id, const ApiResult &r) {
        if (!r.ok())
            return tr("Stop failed: %1").arg(AdminApi::describe(r));
        const QJsonValue stopped = r.json.value(QStringLiteral("stopped_turn"));
        return stopped.isNull() ? tr("Nothing was running in session %1.").arg(id)
                                : tr("Stopped turn %1 of session %2.").arg(stopped.toInt()).arg(id);
    });
}

void SessionsView::disconnectSelected()
{
    act(&AdminApi::disconnectSession, [](const QString &id, const ApiResult &r) {
        return r.ok() ? tr("Disconnected session %1.").arg(id) : tr("Disconnect failed: %1").arg(AdminApi::describe(r));
    });
}

} // namespace tianyi::admin
