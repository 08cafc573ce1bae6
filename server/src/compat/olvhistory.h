#pragma once
// Open-LLM-VTuber's chat histories over tianyi's stored turns, of ONE user only.
//
// What an OLV "history" is here: the turns stored under one conversation id (turns.session_id) —
// the turns of one socket, or of one "new chat" within it (ChatSession::startNewConversation). Its
// history_uid is that id. Only the user's newest kScanTurns turns are looked at: enough for a
// history list, and a client cannot make one request read the whole table. A uid of another user
// finds nothing (every TurnRepository query is scoped by user id): "not found", never data.

#include "storage/turnrepository.h"

#include <QJsonArray>
#include <QObject>
#include <QString>
#include <functional>
#include <optional>

namespace tianyi {

class Database;

namespace olv {

class OlvHistory
{
public:
    static constexpr int kScanTurns = 1000;   // newest turns of the user looked at per request
    static constexpr int kMaxHistories = 100; // entries of a history list

    OlvHistory(Database &db, QString characterName) : m_db(db), m_characterName(std::move(characterName)) {}

    // OLV's history-list entries ({uid, latest_message {role, timestamp, content}, timestamp}),
    // newest first; nullopt when storage failed. `done` is dropped once context is gone.
    void list(QObject *context, qint64 userId, std::function<void(std::optional<QJsonArray>)> done) const;
    // OLV's history-data messages ({id, role human|ai, timestamp, content, name}) of one history, oldest
    // first; an empty array when the user has no such history; nullopt when storage failed.
    void messages(QObject *context, qint64 userId, const QString &historyUid, std::function<void(std::optional<QJsonArray>)> done) const;

    // The mapping itself, over turns newest first (as TurnRepository::history returns them).
    static QJsonArray toList(const QVector<StoredTurn> &turnsNewestFirst);
    static QJsonArray toMessages(const QVector<StoredTurn> &turnsNewestFirst, const QString &historyUid, const QString &characterName);

private:
    void scan(QObject *context, qint64 userId, std::function<void(std::optional<QVector<StoredTurn>>)> done) const;

    Database &m_db;
    QString m_characterName;
};

} // namespace olv
} // namespace tianyi
