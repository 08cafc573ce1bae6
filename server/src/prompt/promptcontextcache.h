#pragma once
// The per-user part of a turn's prompt context (nickname, description, rolling summary, recent
// turns), held in memory while the user has a chat session open, so that a turn's LLM request can
// leave without waiting for a storage round trip. The storage thread runs one job at a time: with
// a hundred turns starting together, a per-turn read there queues each turn behind all the others.
//
// Correctness rests on the storage queue being FIFO:
// - changed(user) is called right AFTER posting a write that changes the context (or from its done
//   callback). It drops the entry at once, so a turn starting meanwhile reads through storage, in
//   order after that write, and posts a reload, which runs after that write too.
// - a reload installs its result only if no change was announced since it was posted (generation).
// Entries live while the user has a session (acquire/release), so their number is bounded by the
// sessions the server admits. Event-loop thread only.

#include "prompt/promptcontext.h"

#include <QHash>
#include <QObject>
#include <optional>

namespace tianyi {

class Database;
class Metrics;
class SqlSession;

class PromptContextCache : public QObject
{
    Q_OBJECT
public:
    PromptContextCache(Database &db, Metrics *metrics, int recentTurns, QObject *parent = nullptr);

    // Storage thread: the per-user context as stored now (memories and knowledge stay empty: they
    // depend on the user text). Used for reloads and by turns that find no entry.
    static PromptContext load(SqlSession &s, qint64 userId, int recentTurns);

    // A session of the user was admitted / ended. The first acquire loads the entry in the background.
    void acquire(qint64 userId);
    void release(qint64 userId);
    // The stored context of the user changed (see the ordering rule above).
    void changed(qint64 userId);

    // The entry, when loaded and current; counts hits and misses.
    std::optional<PromptContext> find(qint64 userId);

    // A loaded, current entry is held for the user (tests wait for it; find() counts, this does not).
    bool holds(qint64 userId) const
    {
        const auto it = m_entries.constFind(userId);
        return it != m_entries.constEnd() && it->context.has_value();
    }
    int recentTurns() const { return m_recentTurns; }
    int size() const { return int(m_entries.size()); }

private:
    struct Entry {
        int sessions = 0;
        quint64 generation = 0;
        std::optional<PromptContext> context;
    };
    void reload(qint64 userId, Entry &entry);

    Database &m_db;
    Metrics *m_metrics;
    int m_recentTurns;
    QHash<qint64, Entry> m_entries;
};

} // namespace tianyi
