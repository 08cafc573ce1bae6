#pragma once
// Cuts streamed reply text into sentences, the unit of speech. Chinese and English punctuation,
// ellipses, closing quotes and brackets kept with their sentence, decimals like 3.14 never cut,
// over-long runs cut at a safe point, and (optionally) the first clause of a reply cut early at its
// first comma so speech can start sooner.

#include <QString>
#include <QStringList>

namespace tianyi {

struct SegmenterOptions {
    int maxSentenceChars = 80;        // longer runs are cut at the last comma/space before this
    bool earlyFirstClause = true;     // cut the first sentence at its first comma ...
    int firstClauseMinChars = 4;      // ... once it has at least this many characters
};

class SentenceSegmenter
{
public:
    explicit SentenceSegmenter(SegmenterOptions options = {});

    // Appends text; returns the sentences now complete (trimmed, never empty).
    QStringList feed(const QString &text);
    // End of the reply: the rest, if any, as a last sentence.
    QStringList finish();
    // Sentences produced so far.
    int produced() const { return m_produced; }

private:
    // Index one past the end of the first complete sentence in m_buffer, or -1.
    int findBoundary(bool final) const;
    void take(int end, QStringList &out);

    SegmenterOptions m_options;
    QString m_buffer;
    int m_produced = 0;
};

} // namespace tianyi
