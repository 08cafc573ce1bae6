#include "upstream/openaichunk.h"

#include "tianyi/sseparser.h"
#include "upstream/errorclassifier.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <limits>

namespace tianyi {

namespace {

ChatChunk malformed(const QString &why)
{
    ChatChunk c;
    c.kind = ChatChunk::Kind::Malformed;
    c.error.kind = UpstreamErrorKind::Malformed;
    c.error.message = why;
    return c;
}

int tokens(const QJsonObject &usage, const QString &key)
{
    return std::max(0, usage.value(key).toInt());
}

} // namespace

ChatChunk decodeChatChunk(const SseEvent &event)
{
    ChatChunk c;
    if (!event.error.isEmpty()) {
        c.kind = ChatChunk::Kind::Error;
        c.error = classifyStreamError(event.error.toUtf8());
        return c;
    }
    const QString data = event.data.trimmed();
    if (data == QLatin1String("[DONE]")) {
        c.kind = ChatChunk::Kind::Done;
        return c;
    }
    if (event.event == QLatin1String("error")) {
        c.kind = ChatChunk::Kind::Error;
        c.error = classifyStreamError(data.toUtf8());
        return c;
    }
    if (data.isEmpty())
        return c; // an empty data line: nothing to do
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(data.toUtf8(), &perr);
    if (perr.error != QJsonParseError::NoError)
        return malformed(QStringLiteral("stream chunk is not valid JSON (%1)").arg(perr.errorString()));
    if (!doc.isObject())
        return malformed(QStringLiteral("stream chunk is not a JSON object"));
    const QJsonObject o = doc.object();
    if (o.contains(QStringLiteral("error")) && !o.value(QStringLiteral("error")).isNull()) {
        c.kind = ChatChunk::Kind::Error;
        c.error = classifyStreamError(data.toUtf8());
        return c;
    }
    const QJsonValue choices = o.value(QStringLiteral("choices"));
    if (!choices.isUndefined() && !choices.isNull() && !choices.isArray())
        return malformed(QStringLiteral("stream chunk has a non-array \"choices\""));
    // Only the first choice (index 0) is ours; n > 1 is never requested.
    const QJsonArray list = choices.toArray();
    for (const QJsonValue &v : list) {
        const QJsonObject choice = v.toObject();
        if (choice.value(QStringLiteral("index")).toInt(0) != 0)
            continue;
        QJsonObject delta = choice.value(QStringLiteral("delta")).toObject();
        if (delta.isEmpty() && choice.value(QStringLiteral("message")).isObject())
            delta = choice.value(QStringLiteral("message")).toObject(); // a server answering with whole messages
        const QJsonValue content = delta.value(QStringLiteral("content"));
        if (content.isString())
            c.content = content.toString();
        else if (!content.isUndefined() && !content.isNull())
            return malformed(QStringLiteral("delta.content is neither text nor null"));
        const QJsonValue reasoning = delta.value(QStringLiteral("reasoning_content"));
        if (reasoning.isString())
            c.reasoning = reasoning.toString();
        const QJsonValue reasoning2 = delta.value(QStringLiteral("reasoning"));
        if (reasoning2.isString() && c.reasoning.isEmpty())
            c.reasoning = reasoning2.toString();
        const QJsonValue finish = choice.value(QStringLiteral("finish_reason"));
        if (finish.isString())
            c.finishReason = finish.toString();
        break;
    }
    const QJsonValue usage = o.value(QStringLiteral("usage"));
    if (usage.isObject()) {
        const QJsonObject u = usage.toObject();
        LlmUsage lu;
        lu.promptTokens = tokens(u, QStringLiteral("prompt_tokens"));
        lu.completionTokens = tokens(u, QStringLiteral("completion_tokens"));
        // Summed wide: each count may be as large as INT_MAX (the server's numbers are not trusted).
        lu.totalTokens = u.contains(QStringLiteral("total_tokens"))
                             ? tokens(u, QStringLiteral("total_tokens"))
                             : int(std::min<qint64>(qint64(lu.promptTokens) + lu.completionTokens, std::numeric_limits<int>::max()));
        c.usage = lu;
    }
    return c;
}

} // namespace tianyi
