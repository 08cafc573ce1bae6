#pragma once
// The live sessions table with its actions: stop the running turn, disconnect the socket (4005),
// and open the session's last turn in the turn view.

#include "adminapi.h"

#include <QWidget>
#include <functional>

class QLabel;
class QPushButton;
class QTableView;

namespace tianyi::admin {

class StatusLabel;

class Console;

class SessionsView : public QWidget
{
    Q_OBJECT
public:
    explicit SessionsView(Console &console, QWidget *parent = nullptr);

    QTableView *table() const { return m_table; }
    QPushButton *stopButton() const { return m_stop; }
    QPushButton *disconnectButton() const { return m_disconnect; }
    QPushButton *openTurnButton() const { return m_openTurn; }
    QString statusText() const;
    QString countText() const; // "3 sessions"
    // Selects the session's row (tests, and after a refill).
    bool selectSession(const QString &sessionId);

signals:
    void openTurn(qint64 turnId);

protected:
    void changeEvent(QEvent *event) override;

private:
    QString selectedSession() const;
    void updateButtons();
    void act(void (AdminApi::*action)(const QString &, std::function<void(const client::ApiResult &)>),
             std::function<QString(const QString &id, const client::ApiResult &)> outcome);
    void stopSelected();
    void disconnectSelected();
    void retranslate();

    Console &m_console;
    QTableView *m_table;
    QPushButton *m_stop;
    QPushButton *m_disconnect;
    QPushButton *m_openTurn;
    StatusLabel *m_status;
    QLabel *m_count;
};

} // namespace tianyi::admin
