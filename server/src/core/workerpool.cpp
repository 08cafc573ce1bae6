#include "core/workerpool.h"

#include <QThread>

namespace tianyi {

WorkerPool::WorkerPool(int threads, int maxQueued, QObject *parent)
    : QObject(parent)
    , m_maxQueued(maxQueued)
{
    m_pool.setMaxThreadCount(threads > 0 ? threads : QThread::idealThreadCount());
}

WorkerPool::~WorkerPool()
{
    m_pool.waitForDone();
}

} // namespace tianyi
