#pragma once
// The user list, one page at a time (the API pages by id), with disable and enable. The page is
// kept current by the feed's users_changed messages.

#include <QVector>
#include <QWidget>

class QLabel;
class QPushButton;
class QTableView;

namespace tianyi::admin {

class StatusLabel;

class Console;
class UsersModel;

class UsersView : public QWidget
{
    Q_OBJECT
public:
    static constexpr int kPageSize = 100;

    explicit UsersView(Console &console, QWidget *parent = nullptr);

    void reload();           // the current page again
    UsersModel &model() { return *m_model; }
    QTableView *table() const { return m_table; }
    QPushButton *disableButton() const { return m_disable; }
    QPushButton *enableButton() const { return m_enable; }
    bool selectUser(const QString &username);
    QString statusText() const;

protected:
    void changeEvent(QEvent *event) override;

private:
    void load(qint64 afterId);
    void setSelectedDisabled(bool disabled);
    void updateButtons();
    void retranslate();

    Console &m_console;
    UsersModel *m_model;
    QTableView *m_table;
    QPushButton *m_refresh;
    QPushButton *m_previous;
    QPushButton *m_next;
    QPushButton *m_disable;
    QPushButton *m_enable;
    QLabel *m_page;
    StatusLabel *m_status;
    qint64 m_after = 0;          // after_id of the page shown
    QVector<qint64> m_back;      // after_ids of the pages before it (bounded by the page count)
};

} // namespace tianyi::admin
