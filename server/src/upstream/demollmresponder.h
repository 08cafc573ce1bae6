#pragma once
// The OFFLINE DEMO responder, used when llm.base_url is empty. It is not a language model and says
// so in its first sentence. It lets every part of the pipeline (emotion tags, sentence cutting, TTS,
// memory) run on a machine with no network.
//
// The reply is composed from what the prompt provides:
//   - the last user message (echoed back briefly; Chinese reply when it contains CJK characters,
//     English otherwise);
//   - the items of the system prompt sections promptsections::kKnowledge and kUserMemories, ranked
//     by overlap with the user message (CJK character bigrams + words): up to two facts and one
//     memory are quoted; with no overlap the first fact is still quoted;
//   - every sentence starts with an emotion tag of the default set [开心] [生气] [悲伤] [惊讶]
//     [撒娇] [平静] (sadness/anger words in the user message pick the opening tag).
// It is streamed token by token (a tag, one CJK character, or one word with its trailing space)
// every tokenIntervalMs via a QTimer, then usage (estimated: ~1 token per CJK character or word)
// and finished("stop") (or "length" when request.maxTokens cut it). cancel() stops the timer:
// nothing is emitted afterwards.

#include "upstream/llm.h"

#include <QObject>
#include <QStringList>

namespace tianyi {

class DemoLlmResponder : public QObject, public LlmProvider
{
    Q_OBJECT
public:
    explicit DemoLlmResponder(int tokenIntervalMs = 30, QObject *parent = nullptr);

    QString name() const override { return QStringLiteral("built-in offline demo responder (no LLM configured)"); }
    bool isBuiltIn() const override { return true; }
    LlmStream *stream(const LlmRequest &request, QObject *parent) override;

    // The whole reply the stream will send (deterministic).
    static QString composeReply(const LlmRequest &request);
    // How it is cut into deltas.
    static QStringList tokenize(const QString &reply);

private:
    int m_tokenIntervalMs;
};

} // namespace tianyi
