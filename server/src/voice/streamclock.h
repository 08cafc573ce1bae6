#pragma once
// Wall-clock time as a microphone stream sees it: the arrival-rate cap and the listen timeout are
// the only parts of the stream measured in wall time. Production uses SteadyClock; tests pass a
// clock they move by hand and announce each move with advanced(), so deadlines are checked at
// once — no sleeping, no real timer has to fire.

#include <QElapsedTimer>
#include <QObject>

namespace tianyi::voice {

class StreamClock : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    // Milliseconds on a monotonic scale (the origin is the clock's own).
    virtual qint64 nowMs() const = 0;

signals:
    // The time moved other than by its own passing (a test clock): check deadlines now.
    void advanced();
};

// The monotonic system clock.
class SteadyClock : public StreamClock
{
    Q_OBJECT
public:
    explicit SteadyClock(QObject *parent = nullptr);
    qint64 nowMs() const override { return m_timer.elapsed(); }

private:
    QElapsedTimer m_timer;
};

} // namespace tianyi::voice
