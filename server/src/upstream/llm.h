#pragma once
// The LLM seen by the rest of the server: a provider that opens streams. Implemented by the
// OpenAI-compatible client (llm.base_url set) and by the built-in offline demo responder.

#include "upstream/upstreamerror.h"

#include <QObject>
#include <QString>
#include <QVector>

namespace tianyi {

struct ChatMessage {
    QString role;     // system | user | assistant
    QString content;
};

struct LlmRequest {
    QVector<ChatMessage> messages;
    double temperature = 0.8;
    int maxTokens = 512;
    QString correlationId; // user#session#turn, for logs
};

struct LlmUsage {
    int promptTokens = 0;
    int completionTokens = 0;
    int totalTokens = 0;
};

// One streamed reply. Emits zero or more delta/reasoning/usage, then exactly one of finished or
// failed, and nothing at all after cancel(). The owner deletes it (deleteLater) when done.
class LlmStream : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~LlmStream() override = default;
    // Stops at once: the HTTP request is aborted (the upstream sees the connection close).
    virtual void cancel() = 0;

signals:
    void delta(const QString &text);       // reply text, in order
    void reasoning(const QString &text);   // reasoning_content / reasoning: kept apart, never spoken
    void usage(const tianyi::LlmUsage &usage);
    void finished(const QString &finishReason);
    void failed(const tianyi::UpstreamError &error);
};

class LlmProvider
{
public:
    virtual ~LlmProvider() = default;
    virtual QString name() const = 0;      // e.g. "openai-compatible (https://api.example/v1, model X)" or "built-in demo responder"
    virtual bool isBuiltIn() const = 0;
    // Starts a streamed completion. The stream is parented to `parent`.
    virtual LlmStream *stream(const LlmRequest &request, QObject *parent) = 0;
};

} // namespace tianyi

Q_DECLARE_METATYPE(tianyi::LlmUsage)
