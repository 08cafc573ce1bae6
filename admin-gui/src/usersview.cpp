#include "usersview.h"

#include "console.h"
#include "statuslabel.h"
#include "usersmodel.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QPointer>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace tianyi::admin {

UsersView::UsersView(Console &console, QWidget *parent)
    : QWidget(parent)
    , m_console(console)
    , m_model(new UsersModel(this))
    , m_table(new QTableView(this))
    , m_refresh(new QPushButton(this))
    , m_previous(new QPushButton(this))
    , m_next(new QPushButton(this))
    , m_disable(new QPushButton(this))
    , m_enable(new QPushButton(this))
    , m_page(new QLabel(this))
    , m_status(new StatusLabel(this))
{
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setAlternatingRowColors(true);
    auto *buttons = new QHBoxLayout;
    for (QPushButton *b : {m_disable, m_enable, m_refresh})
        buttons->addWidget(b);
    buttons->addStretch();
    buttons->addWidget(m_previous);
    buttons->addWidget(m_page);
    buttons->addWidget(m_next);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addLayout(buttons);
    layout->addWidget(m_status);

    connect(m_refresh, &QPushButton::clicked, this, &UsersView::reload);
    connect(m_next, &QPushButton::clicked, this, [this]() {
        if (m_model->nextAfterId() <= 0)
            return;
        m_back.append(m_after);
        load(m_model->nextAfterId());
    });
    connect(m_previous, &QPushButton::clicked, this, [this]() {
        if (!m_back.isEmpty())
            load(m_back.takeLast());
    });
    connect(m_disable, &QPushButton::clicked, this, [this]() { setSelectedDisabled(true); });
    connect(m_enable, &QPushButton::clicked, this, [this]() { setSelectedDisabled(false); });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &UsersView::updateButtons);
    connect(m_model, &QAbstractItemModel::dataChanged, this, &UsersView::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, &UsersView::updateButtons);
    connect(&console, &Console::userChanged, m_model, &UsersModel::updateUser);
    retranslate();
}

void UsersView::retranslate()
{
    m_refresh->setText(tr("Refresh"));
    m_previous->setText(tr("< Previous"));
    m_next->setText(tr("Next >"));
    m_disable->setText(tr("Disable"));
    m_disable->setToolTip(tr("Refuse logins, revoke the user's refresh tokens and close their chats"));
    m_enable->setText(tr("Enable"));
    m_model->retranslate();
    updateButtons();
}

void UsersView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}

QString UsersView::statusText() const
{
    return m_status->text();
}

void UsersView::reload()
{
    load(m_after);
}

void UsersView::load(qint64 afterId)
{
    QPointer<UsersView> self(this);
    m_console.api().users(afterId, kPageSize, [self, afterId](const ApiResult &r) {
        if (!self)
            return;
        if (!r.ok()) {
            self->m_status->say([r]() { return tr("Users: %1").arg(AdminApi::describe(r)); });
            return;
        }
        // Keep the operator's selection across a refresh (the feed reloads after a reconnect).
        const UserRow *selected = self->m_model->row(self->m_table->currentIndex().row());
        const QString keep = selected ? selected->username : QString();
        self->m_after = afterId;
        self->m_model->setPage(r.json);
        if (!keep.isEmpty())
            self->selectUser(keep);
        self->m_status->clear();
    });
}

bool UsersView::selectUser(const QString &username)
{
    const int row = m_model->rowOfUser(username);
    if (row < 0)
        return false;
    m_table->setCurrentIndex(m_model->index(row, 0));
    return true;
}

void UsersView::setSelectedDisabled(bool disabled)
{
    const UserRow *u = m_model->row(m_table->currentIndex().row());
    if (!u)
        return;
    const QString name = u->username;
    QPointer<UsersView> self(this);
    m_console.api().setUserDisabled(u->id, disabled, [self, name, disabled](const ApiResult &r) {
        if (!self)
            return;
        if (!r.ok()) {
            self->m_status->say([name, r]() { return tr("%1: %2").arg(name, AdminApi::describe(r)); });
            return;
        }
        self->m_model->updateUser(r.json.value(QStringLiteral("user")).toObject());
        self->m_status->say([name, disabled]() {
            return disabled ? tr("%1 is disabled: logins are refused and their chats were closed.").arg(name) : tr("%1 is enabled again.").arg(name);
        });
    });
}

void UsersView::updateButtons()
{
    const UserRow *u = m_model->row(m_table->currentIndex().row());
    m_disable->setEnabled(u && !u->disabled);
    m_enable->setEnabled(u && u->disabled);
    m_previous->setEnabled(!m_back.isEmpty());
    m_next->setEnabled(m_model->nextAfterId() > 0);
    m_page->setText(tr("%n user(s) in all", nullptr, int(m_model->total())));
}

} // namespace tianyi::admin
