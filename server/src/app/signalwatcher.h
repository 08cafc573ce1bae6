#pragma once
// Turns SIGTERM/SIGINT into a Qt signal on the event loop (self-pipe; the handler only writes a byte).

#include <QObject>

class QSocketNotifier;

namespace tianyi {

class SignalWatcher : public QObject
{
    Q_OBJECT
public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

signals:
    void terminationRequested(int signalNumber);

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace tianyi
