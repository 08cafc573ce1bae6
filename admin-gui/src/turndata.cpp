#include "turndata.h"

#include <QJsonArray>

namespace tianyi::admin {

TurnData TurnData::fromJson(const QJsonObject &json)
{
    const QJsonObject t = json.contains(QStringLiteral("turn")) && json.value(QStringLiteral("turn")).isObject()
                              ? json.value(QStringLiteral("turn")).toObject()
                              : json;
    TurnData d;
    d.id = t.value(QStringLiteral("id")).toInteger();
    d.userId = t.value(QStringLiteral("user_id")).toInteger();
    d.username = t.value(QStringLiteral("username")).toString();
    d.sessionId = t.value(QStringLiteral("session_id")).toString();
    d.turn = t.value(QStringLiteral("turn")).toInt();
    d.userText = t.value(QStringLiteral("user_text")).toString();
    d.replyText = t.value(QStringLiteral("reply_text")).toString();
    d.status = t.value(QStringLiteral("status")).toString();
    d.emotion = t.value(QStringLiteral("emotion")).toString();
    d.createdAt = t.value(QStringLiteral("created_at")).toString();
    for (const QJsonValue &v : t.value(QStringLiteral("sentences")).toArray()) {
        const QJsonObject s = v.toObject();
        d.sentences.append({s.value(QStringLiteral("index")).toInt(), s.value(QStringLiteral("text")).toString(),
                            s.value(QStringLiteral("emotion")).toString(), s.value(QStringLiteral("duration_ms")).toInt(),
                            s.value(QStringLiteral("audio_url")).toString()});
    }
    return d;
}

} // namespace tianyi::admin
