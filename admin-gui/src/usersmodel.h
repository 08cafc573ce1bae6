#pragma once
// One page of the user list (GET /api/v1/admin/users is paged by id). Rows are updated in place
// when the feed reports users_changed, so a disable done elsewhere shows at once.

#include <QAbstractTableModel>
#include <QDateTime>
#include <QJsonObject>
#include <QVector>

namespace tianyi::admin {

struct UserRow {
    qint64 id = 0;
    QString username;
    QString role;
    bool disabled = false;
    QDateTime createdAt;

    static UserRow fromJson(const QJsonObject &json);
};

class UsersModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Id, Username, Role, Status, Created, ColumnCount };

    explicit UsersModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // A page as GET users answers it.
    void setPage(const QJsonObject &page);
    void clear();
    // One user object (users_changed, or the answer of disable/enable).
    void updateUser(const QJsonObject &user);

    const UserRow *row(int row) const { return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr; }
    int rowOfUser(const QString &username) const;
    qint64 total() const { return m_total; }
    qint64 nextAfterId() const { return m_nextAfter; } // 0: last page
    void retranslate();

private:
    QVector<UserRow> m_rows; // one page: at most the limit the view asks for
    qint64 m_total = 0;
    qint64 m_nextAfter = 0;
};

} // namespace tianyi::admin
