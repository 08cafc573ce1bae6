#pragma once
// Decodes one server-sent event of an OpenAI-compatible chat completion stream. Handles the
// dialects of OpenAI, SiliconFlow, vLLM, Ollama and llama.cpp: delta.content a string or null,
// delta {} or missing, choices [] (the usage chunk), the role repeated in every chunk,
// finish_reason on a chunk that also carries text, usage missing/null/anywhere, reasoning in
// delta.reasoning_content or delta.reasoning, and errors inside the stream.

#include "upstream/llm.h"
#include "upstream/upstreamerror.h"

#include <QString>
#include <optional>

namespace tianyi {

struct SseEvent;

struct ChatChunk {
    enum class Kind {
        Data,       // content / reasoning / finishReason / usage (any may be empty)
        Done,       // data: [DONE]
        Error,      // data: {"error":...}, event: error, or the "error:" field
        Malformed,  // not JSON, or not the shape of a chunk
    };
    Kind kind = Kind::Data;
    QString content;
    QString reasoning;
    QString finishReason;
    std::optional<LlmUsage> usage;
    UpstreamError error;  // Error and Malformed
};

ChatChunk decodeChatChunk(const SseEvent &event);

} // namespace tianyi
