#pragma once
// A stored turn as GET /api/v1/admin/turns/{id} answers it: the transcript, its emotions and the
// audio URL of each synthesized sentence.

#include <QJsonObject>
#include <QString>
#include <QVector>

namespace tianyi::admin {

struct SentenceData {
    int index = 0;
    QString text;
    QString emotion;
    int durationMs = 0;
    QString audioUrl; // empty once retention removed the audio
};

struct TurnData {
    qint64 id = 0;
    qint64 userId = 0;
    QString username;
    QString sessionId;
    int turn = 0;
    QString userText;
    QString replyText;
    QString status;
    QString emotion;
    QString createdAt;
    QVector<SentenceData> sentences;

    // The {"turn":{…}} answer (or the inner object).
    static TurnData fromJson(const QJsonObject &json);
};

} // namespace tianyi::admin
