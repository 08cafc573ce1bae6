#include "voice/streamclock.h"

namespace tianyi::voice {

SteadyClock::SteadyClock(QObject *parent)
    : StreamClock(parent)
{
    m_timer.start();
}

} // namespace tianyi::voice
