// An LLM's streamed reply: the SSE parser (shared/src/sseparser.cpp) fed the bytes in network-sized
// pieces, every event decoded as an OpenAI-compatible chat chunk (server/src/upstream/openaichunk.cpp).
// Property: how the bytes are cut into reads never changes the events (the parser holds partial
// lines, a CR before its LF, and UTF-8 sequences across reads).

#include "fuzzsupport.h"

#include "upstream/openaichunk.h"

#include <tianyi/sseparser.h>

namespace {
// Small, so the event size limit is reached too.
constexpr qsizetype kMaxEventBytes = 4096;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace tianyi;
    fuzz::Input in(data, size);
    const uint8_t seed = in.byte();
    const QByteArray stream = in.rest();

    SseParser whole(kMaxEventBytes);
    QList<SseEvent> wholeEvents = whole.feed(stream);
    wholeEvents += whole.finish();

    SseParser pieces(kMaxEventBytes);
    QList<SseEvent> pieceEvents;
    for (const QByteArray &piece : fuzz::pieces(stream, seed))
        pieceEvents += pieces.feed(piece);
    pieceEvents += pieces.finish();

    // The size limit counts bytes held at once, which depends on the cuts: compare error-free runs.
    if (!whole.hasError() && !pieces.hasError()) {
        FUZZ_CHECK(wholeEvents == pieceEvents);
        FUZZ_CHECK(whole.retryMs() == pieces.retryMs());
    }

    for (const SseEvent &event : pieceEvents) {
        const ChatChunk chunk = decodeChatChunk(event);
        if (chunk.kind == ChatChunk::Kind::Error || chunk.kind == ChatChunk::Kind::Malformed)
            FUZZ_CHECK(!chunk.error.message.isEmpty());
        if (chunk.usage)
            (void)chunk.usage->totalTokens;
    }
    return 0;
}
