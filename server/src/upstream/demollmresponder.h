#pragma once
// The OFFLINE DEMO responder, used when llm.base_url is empty. It is not a language model, and says
// so once. It lets every part of the pipeline (emotion tags, sentence cutting, TTS, memory) run on a
// machine with no network, and it is the first voice a newcomer hears, so it speaks briefly.
//
// The reply is a few short sentences composed from what the request provides:
//   - the introduction ("I'm Luo Tianyi, an offline demo without a language model") only on a first
//     turn: no earlier assistant message in the request and no summary of older turns;
//   - the system prompt section promptsections::kKnowledge: the item sharing most with the last user
//     message (CJK character bigrams + words; the shorter among equals), said as her own sentence:
//     "洛天依的形象是MOTH设计的" -> "我的形象是MOTH设计的", "X：summary" -> "X是<first clauses>";
//     a second one only when it shares words with the message as well;
//   - kUserMemories, matched as the user would say them (promptsections::swapPersons): the memory a
//     question is about is its answer ("你还记得我叫什么吗？" -> "当然记得！你叫小明，对吧？"); with no
//     fact to say, now and then the first one ("我记得你喜欢草莓哦"); kUserProfile's 昵称 greets the
//     user on the first turn when it is a name to say (not a default user name like "fan_2");
//   - a short answer to greetings, thanks, goodbyes, statements about oneself, and questions with
//     nothing known ("这个我还答不上来呢", and that a language model would know more).
// About 60 CJK characters at most (90 with the introduction; a Latin word counts two). Chinese when
// the last user message is mostly Chinese, English otherwise; the graph's facts stay Chinese, and the
// English reply says that its notes are Chinese. Every sentence starts with one of the default tags
// [开心] [生气] [悲伤] [惊讶] [撒娇] [平静] (sadness/anger words pick the opening one). The wording is
// varied but deterministic: chosen by a stable hash of the user text and the number of user turns.
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
