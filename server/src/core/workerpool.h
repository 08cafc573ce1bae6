#pragma once
// CPU work off the event loop (password hashing, local TTS, embeddings).
// Results come back on the pool owner's thread and are dropped if the caller's context died.

#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <atomic>
#include <functional>
#include <memory>

namespace tianyi {

class WorkerPool : public QObject
{
    Q_OBJECT
public:
    explicit WorkerPool(int threads, int maxQueued, QObject *parent = nullptr);
    ~WorkerPool() override;

    // Runs work() on a pool thread, then done(result) on this object's thread if context is alive.
    // Returns false (and runs nothing) when the queue is full: callers answer "busy".
    template <typename Result>
    bool run(QObject *context, std::function<Result()> work, std::function<void(Result)> done)
    {
        if (m_queued.load() >= m_maxQueued)
            return false;
        ++m_queued;
        QPointer<QObject> guard(context);
        QPointer<WorkerPool> self(this);
        m_pool.start([this, self, guard, work = std::move(work), done = std::move(done)]() mutable {
            auto result = std::make_shared<Result>(work());
            --m_queued;
            // The pool is destroyed (and waited for) before this object, so `this` is alive here.
            QMetaObject::invokeMethod(this, [guard, done = std::move(done), result]() {
                if (guard)
                    done(std::move(*result));
            }, Qt::QueuedConnection);
        });
        return true;
    }

    int queued() const { return m_queued.load(); }
    int threads() const { return m_pool.maxThreadCount(); }
    void waitForDone() { m_pool.waitForDone(); }

private:
    QThreadPool m_pool;
    std::atomic<int> m_queued{0};
    int m_maxQueued;
};

} // namespace tianyi
