// The streamed reply text of an LLM: emotion tags taken out (shared/src/emotiontagparser.cpp), the
// rest cut into sentences (shared/src/sentencesegmenter.cpp), with the text arriving in deltas.
// Property: how the text is cut into deltas never changes the tags found or the text kept (a tag may
// be split across deltas). Sentences are never empty and never carry surrounding white space.
// Input: byte 0 = seed of the delta sizes, byte 1 = segmenter options, rest = UTF-8 text.

#include "fuzzsupport.h"

#include <tianyi/emotiontagparser.h>
#include <tianyi/sentencesegmenter.h>

namespace {

using namespace tianyi;

// The bundled persona's labels (resources/personas/luotianyi.json).
const QStringList kLabels{QStringLiteral("开心"), QStringLiteral("生气"), QStringLiteral("悲伤"),
                          QStringLiteral("惊讶"), QStringLiteral("撒娇"), QStringLiteral("平静")};

struct Parsed {
    QString text;
    QStringList emotions;
};

void collect(const QVector<EmotionTagPiece> &pieces, Parsed &parsed)
{
    for (const EmotionTagPiece &p : pieces) {
        if (p.kind == EmotionTagPiece::Kind::Emotion) {
            FUZZ_CHECK(kLabels.contains(p.text));
            parsed.emotions << p.text;
        } else {
            FUZZ_CHECK(!p.text.isEmpty());
            parsed.text += p.text;
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz::Input in(data, size);
    const uint8_t seed = in.byte();
    const uint8_t optionBits = in.byte();
    const QString reply = QString::fromUtf8(in.rest());

    EmotionTagParser wholeParser(kLabels);
    Parsed whole;
    collect(wholeParser.feed(reply), whole);
    collect(wholeParser.finish(), whole);

    // Deltas cut at QChar positions (a JSON \u escape can split a surrogate pair too).
    EmotionTagParser deltaParser(kLabels);
    Parsed streamed;
    QStringList deltas;
    uint32_t state = seed * 2654435761u + 1;
    for (qsizetype pos = 0; pos < reply.size();) {
        state = state * 1103515245u + 12345u;
        const qsizetype n = 1 + qsizetype((state >> 16) % 12u);
        deltas << reply.mid(pos, n);
        pos += n;
    }

    SegmenterOptions options;
    options.maxSentenceChars = 10 + (optionBits & 63);          // chat.max_sentence_chars >= 10
    options.earlyFirstClause = optionBits & 64;
    options.firstClauseMinChars = 1 + ((optionBits >> 7) * 3);  // 1 or 4
    SentenceSegmenter segmenter(options);
    QStringList sentences;
    for (const QString &delta : deltas) {
        const QVector<EmotionTagPiece> pieces = deltaParser.feed(delta);
        collect(pieces, streamed);
        for (const EmotionTagPiece &p : pieces)
            if (p.kind == EmotionTagPiece::Kind::Text)
                sentences += segmenter.feed(p.text);
    }
    const QVector<EmotionTagPiece> last = deltaParser.finish();
    collect(last, streamed);
    for (const EmotionTagPiece &p : last)
        if (p.kind == EmotionTagPiece::Kind::Text)
            sentences += segmenter.feed(p.text);
    sentences += segmenter.finish();

    FUZZ_CHECK(whole.text == streamed.text);
    FUZZ_CHECK(whole.emotions == streamed.emotions);
    FUZZ_CHECK(segmenter.produced() == sentences.size());
    for (const QString &s : sentences) {
        FUZZ_CHECK(!s.isEmpty());
        FUZZ_CHECK(s == s.trimmed());
    }
    return 0;
}
