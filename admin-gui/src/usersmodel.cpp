#include "usersmodel.h"

#include <QColor>
#include <QJsonArray>
#include <QLocale>

namespace tianyi::admin {

UserRow UserRow::fromJson(const QJsonObject &j)
{
    UserRow u;
    u.id = j.value(QStringLiteral("id")).toInteger();
    u.username = j.value(QStringLiteral("username")).toString();
    u.role = j.value(QStringLiteral("role")).toString();
    u.disabled = j.value(QStringLiteral("disabled")).toBool();
    u.createdAt = QDateTime::fromString(j.value(QStringLiteral("created_at")).toString(), Qt::ISODateWithMs);
    return u;
}

UsersModel::UsersModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

int UsersModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int UsersModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant UsersModel::data(const QModelIndex &index, int role) const
{
    const UserRow *u = row(index.row());
    if (!u || !index.isValid())
        return {};
    if (role == Qt::ForegroundRole && u->disabled)
        return QColor(Qt::gray);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Id: return u->id;
    case Username: return u->username;
    case Role: return u->role == QLatin1String("admin") ? tr("administrator") : tr("user");
    case Status: return u->disabled ? tr("disabled") : tr("active");
    case Created: return QLocale().toString(u->createdAt.toLocalTime(), QLocale::ShortFormat);
    default: return {};
    }
}

QVariant UsersModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Id: return tr("ID");
    case Username: return tr("Username");
    case Role: return tr("Role");
    case Status: return tr("Status");
    case Created: return tr("Created");
    default: return {};
    }
}

void UsersModel::retranslate()
{
    emit headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (!m_rows.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
}

void UsersModel::setPage(const QJsonObject &page)
{
    beginResetModel();
    m_rows.clear();
    for (const QJsonValue &v : page.value(QStringLiteral("users")).toArray())
        m_rows.append(UserRow::fromJson(v.toObject()));
    m_total = page.value(QStringLiteral("total")).toInteger();
    m_nextAfter = page.value(QStringLiteral("next_after_id")).toInteger();
    endResetModel();
}

void UsersModel::clear()
{
    setPage({});
}

void UsersModel::updateUser(const QJsonObject &user)
{
    const UserRow u = UserRow::fromJson(user);
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).id == u.id) {
            m_rows[i] = u;
            emit dataChanged(index(i, 0), index(i, ColumnCount - 1));
            return;
        }
    }
}

int UsersModel::rowOfUser(const QString &username) const
{
    for (int i = 0; i < m_rows.size(); ++i)
        if (m_rows.at(i).username == username)
            return i;
    return -1;
}

} // namespace tianyi::admin
