#pragma once
// The OpenAI-compatible streaming chat client (SiliconFlow, vLLM, Ollama, llama.cpp, OpenAI):
// POST {llm.base_url}/chat/completions with stream:true, read server-sent events as they arrive and
// hand every delta on at once. Requests go through a RequestScheduler (llm.max_concurrent, several
// QNetworkAccessManagers to get around Qt's 6-connections-per-host cap, a capped FIFO queue).
// Failures before the first delta are retried with the SDK policy (retrypolicy.h); never after.

#include "base/config.h"
#include "upstream/llm.h"
#include "upstream/retrypolicy.h"

#include <QList>
#include <QObject>
#include <QPointer>
#include <QUrl>

namespace tianyi {

class Metrics;
class RequestScheduler;
class OpenAiLlmStream;

class OpenAiLlmClient : public QObject, public LlmProvider
{
    Q_OBJECT
public:
    static constexpr int kDefaultMaxWaiting = 256;

    OpenAiLlmClient(const LlmSettings &settings, Metrics &metrics, QObject *parent = nullptr);
    ~OpenAiLlmClient() override;

    QString name() const override;
    bool isBuiltIn() const override { return false; }
    // temperature and max_tokens come from the request (callers fill them from llm.temperature / llm.max_tokens).
    LlmStream *stream(const LlmRequest &request, QObject *parent) override;

    const LlmSettings &settings() const { return m_settings; }
    QUrl endpoint() const { return m_endpoint; }
    QString endpointForLogs() const;        // no user info, query or fragment
    QByteArray requestBody(const LlmRequest &request) const;

    RetryPolicy retryPolicy() const { return m_retryPolicy; }
    void setRetryPolicy(const RetryPolicy &policy) { m_retryPolicy = policy; }
    RequestScheduler &scheduler() { return *m_scheduler; }

private:
    friend class OpenAiLlmStream;
    LlmSettings m_settings;
    Metrics &m_metrics;
    QUrl m_endpoint;
    RetryPolicy m_retryPolicy;
    RequestScheduler *m_scheduler;
    QList<QPointer<OpenAiLlmStream>> m_streams;
};

} // namespace tianyi
