#pragma once
// Admits registrations at a bounded rate, per client address and for the whole server, before any
// password is hashed: each registration costs an Argon2id hash (64 MiB by default), so an
// unthrottled flood spends memory and CPU and fills the user table. A refused attempt is not
// counted (waiting it out works); an admitted one counts whether or not it then succeeds (a taken
// username has cost a hash as well).
// Sliding windows: each key keeps the times of its last maxPerWindow admissions, so memory is
// bounded by maxTrackedAddresses * perAddress.max + global.max timestamps.
// Event-loop thread only (no locking).

#include <QHash>
#include <QString>
#include <QVector>

namespace tianyi {

class RegistrationThrottle
{
public:
    struct Rule {
        int max = 5;
        qint64 windowMs = 3600000;
    };
    struct Limits {
        Rule perAddress;
        Rule global;
        int maxTrackedAddresses = 100000;
    };

    explicit RegistrationThrottle(Limits limits);

    // 0 when admitted (and counted); otherwise the seconds to wait (> 0), nothing counted.
    int admit(const QString &ip, qint64 nowMs);

    int trackedAddresses() const { return int(m_byAddress.size()); }

private:
    // Drops the admissions that left the window; returns the wait (ms) if `times` is full, else 0.
    static qint64 waitMs(QVector<qint64> &times, const Rule &rule, qint64 nowMs);
    void makeRoom(qint64 nowMs);

    Limits m_limits;
    QHash<QString, QVector<qint64>> m_byAddress;
    QVector<qint64> m_global;
};

} // namespace tianyi
