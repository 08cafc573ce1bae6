#include "tianyi/pcmpacer.h"

#include "tianyi/chatclient.h"
#include "tianyi/speechrecording.h"

namespace tianyi::client {

namespace {
constexpr int kRoomLoopMs = 1000;
constexpr double kDigitalSilenceDbfs = -120.0;
}

PcmPacer::PcmPacer(ChatClient *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_room(roomSound(kRoomLoopMs, kSampleRate, kDigitalSilenceDbfs))
{
    // Precise: the default coarse timer may fire 5 % late, which the clock would then make up in
    // bursts of two frames.
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, [this]() { tick(monotonicMs()); });
}

void PcmPacer::setFrameMs(int ms)
{
    m_frameMs = qBound(10, ms, 1000);
}

void PcmPacer::setRoomSound(double dbfs, quint32 seed)
{
    m_room = roomSound(kRoomLoopMs, kSampleRate, dbfs, seed);
    m_roomAt = 0;
}

qint64 PcmPacer::enqueue(const QByteArray &pcm)
{
    const qint64 waiting = m_queue.size() - m_queueAt;
    if (waiting + pcm.size() > kMaxQueuedMs * kSampleRate * 2 / 1000)
        return -1;
    // Drop what was sent before appending, so the buffer holds only what still waits.
    m_queue.remove(0, m_queueAt);
    m_queueAt = 0;
    m_queue += pcm;
    m_drainedReported = m_drainedReported && pcm.isEmpty();
    // The next frame starts at sentMs(); what waits comes first.
    return sentMs() + waiting * 1000 / (kSampleRate * 2);
}

void PcmPacer::start(bool ownTimer)
{
    m_startMs = monotonicMs();
    m_framesSent = 0;
    m_running = true;
    if (ownTimer)
        m_timer.start(m_frameMs);
}

void PcmPacer::stop()
{
    m_running = false;
    m_timer.stop();
}

QByteArray PcmPacer::nextFrame()
{
    const qsizetype frameBytes = qsizetype(kSampleRate) * m_frameMs / 1000 * 2;
    QByteArray frame = m_queue.mid(m_queueAt, frameBytes);
    m_queueAt += frame.size();
    // The queue's end is padded with room sound, and then room sound goes on.
    while (frame.size() < frameBytes) {
        const QByteArray more = m_room.mid(m_roomAt, frameBytes - frame.size());
        frame += more;
        m_roomAt = (m_roomAt + more.size()) % m_room.size();
    }
    return frame;
}

void PcmPacer::tick(qint64 nowMs)
{
    if (!m_running)
        return;
    // Frame k is due when the clock has passed start + (k + 1) * frameMs.
    const qint64 due = (nowMs - m_startMs) / m_frameMs;
    while (m_running && m_framesSent < due) {
        if (!m_client->sendListenAudio(nextFrame())) {
            stop();
            emit sendFailed();
            return;
        }
        ++m_framesSent;
        if (!m_drainedReported && m_queueAt >= m_queue.size()) {
            m_drainedReported = true;
            emit queueDrained(nowMs);
        }
    }
}

} // namespace tianyi::client
