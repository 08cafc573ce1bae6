#pragma once
// What the operator may see and do: the admin check, the live sessions and queues as
// JSON, users (list, disable, enable), and a turn of any user with its audio. Used by the admin
// HTTP routes (adminroutes.cpp) and the /ws/admin feed (adminfeed.h). Lives on the event loop;
// SQL runs on the storage thread through Database.

#include "net/httperror.h"
#include "auth/authguard.h"
#include "net/httpmessage.h"
#include "storage/turnrepository.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <functional>
#include <optional>

namespace tianyi {

class AccountService;
class AudioStore;
class ChatGateway;
class ChatSession;
class Database;
class LlmProvider;
class OutboxWorker;
class TtsProvider;

struct AdminServices {
    Database *db = nullptr;
    AccountService *accounts = nullptr;
    ChatGateway *chat = nullptr;
    AudioStore *audio = nullptr;       // null: no turn audio
    LlmProvider *llm = nullptr;
    TtsProvider *tts = nullptr;
    OutboxWorker *outbox = nullptr;    // null: no "outbox" field in queues
    std::function<QJsonObject()> extraQueues; // optional: more queue depths (storage, cpu, ...)
};

class AdminService : public QObject
{
    Q_OBJECT
public:
    static constexpr int kDefaultUsersLimit = 50;
    static constexpr int kMaxUsersLimit = 500;

    explicit AdminService(const AdminServices &services, QObject *parent = nullptr);
    ~AdminService() override;

    template <typename T>
    using Done = std::function<void(Outcome<T>)>;

    // 401 without a valid token, 403 forbidden for a valid non-admin one (role as stored now, not
    // as in the token), 403 account_disabled for a disabled admin.
    void authorize(const QByteArray &accessToken, Done<Principal> done);
    void authorize(const HttpRequest &request, Done<Principal> done);

    // Live state (event loop, no storage).
    QJsonArray sessionsJson() const;
    static QJsonObject sessionJson(const ChatSession &session);
    QJsonObject queuesJson() const;
    ChatSession *findSession(const QString &sessionId) const;
    int closeSessionsOf(qint64 userId, int code, const QString &reason);

    struct UserPage {
        QJsonArray users;
        std::optional<qint64> nextAfter; // id to pass as after_id for the next page
        qint64 total = 0;
    };
    void listUsers(qint64 afterId, int limit, Done<UserPage> done);
    // Disable: sets the flag, revokes every refresh token, closes the user's sessions (4005).
    // Enable: clears the flag. Both answer the user's row (nullopt: no such user) and emit usersChanged.
    void setDisabled(const Principal &admin, qint64 userId, bool disabled, Done<std::optional<QJsonObject>> done);

    // A turn of any user, with its sentences and audio URLs under /api/v1/admin (nullopt: no such turn).
    void turn(qint64 turnId, Done<std::optional<QJsonObject>> done);
    // The WAV of one sentence of any user's turn; nullopt when missing or removed by retention.
    void sentenceAudio(qint64 turnId, int sentence, Done<std::optional<QByteArray>> done);

    static QJsonObject userJson(qint64 id, const QString &username, const QString &role, bool disabled, qint64 createdAtMs);
    static QJsonObject turnJson(const StoredTurn &turn, const QString &username);
    static QString isoUtc(qint64 ms);

signals:
    // change: "disabled" | "enabled"; user: the row as GET users shows it.
    void usersChanged(const QJsonObject &user, const QString &change);

private:
    AdminServices m_s;
};

} // namespace tianyi
