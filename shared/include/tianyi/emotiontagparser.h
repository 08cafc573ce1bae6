#pragma once
// Streams LLM text and takes out emotion tags such as [开心] or 【开心】, even when a tag is split
// across deltas. Text that only looks like a tag (an unknown label, a long bracketed aside) stays text.

#include <QString>
#include <QStringList>
#include <QVector>

namespace tianyi {

struct EmotionTagPiece {
    enum class Kind { Text, Emotion };
    Kind kind = Kind::Text;
    QString text;     // Text: the text; Emotion: the label as written, e.g. "开心"
};

class EmotionTagParser
{
public:
    // labels: the persona's emotion labels, e.g. {"开心","生气","悲伤","惊讶","撒娇","平静"}.
    explicit EmotionTagParser(QStringList labels);

    // Feeds one delta; returns the pieces now certain. A possible tag start is held back
    // until it is closed or proven not to be a tag.
    QVector<EmotionTagPiece> feed(const QString &delta);
    // End of stream: whatever is held back is text.
    QVector<EmotionTagPiece> finish();

private:
    void scan(QVector<EmotionTagPiece> &out, bool final);
    static void appendText(QVector<EmotionTagPiece> &out, const QString &text);

    QStringList m_labels;
    int m_maxLabelLength = 0;
    QString m_pending;
};

} // namespace tianyi
