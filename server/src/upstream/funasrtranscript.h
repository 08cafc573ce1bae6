#pragma once
// The text of one utterance as FunASR's 2pass WebSocket reports it, and when it is complete.
//
// FunASR sends `2pass-online` pieces that APPEND to the current segment, and a `2pass-offline` result
// that REPLACES the pieces of its segment (its own VAD may cut several segments inside one stream:
// the utterance is their join). Its `is_final` flag is not reliable (docs/asr.md): the C++ runtime
// sets it once, on the answer to {"is_speaking":false}; the Python demo server mirrors is_speaking
// (true on every result while audio comes, false on its answer to the end); forks may never set it.
// The Python flavour shows itself by an is_final:true before the end was sent or on an online piece.
// After the end was sent, a message
//   - with is_final:true (not the Python flavour, not an online piece) completes the utterance (C++);
//   - offline with is_final false, from the Python flavour, completes it;
//   - offline or is_final otherwise MAY complete it (a fork without the flag, or the C++ runtime's
//     mid-stream segment still on its way): the stream waits a short settle time, and any further
//     message postpones it.
// Plain data, no I/O: FunAsrStream feeds it parsed messages.

#include <QString>
#include <QStringList>

namespace tianyi {

class FunAsrTranscript
{
public:
    // The longest transcript kept (characters); a server sending more is broken or hostile.
    static constexpr qsizetype kMaxChars = 8192;

    enum class Outcome {
        Unchanged,  // nothing new (an empty piece, or a message after completion)
        Changed,    // text() differs from before: worth a partial transcript
        Complete,   // the utterance is complete: text() is the final transcript
        MaybeComplete, // complete unless another message follows soon (text() may have changed)
        TooLong,    // the text would exceed kMaxChars
    };

    // One result message. mode: "2pass-online", "2pass-offline", "online", "offline" or empty (absent);
    // endSent: {"is_speaking":false} was already sent when this message was handled.
    Outcome apply(const QString &mode, const QString &text, bool isFinal, bool endSent);

    // Offline segments joined, then the current segment's online pieces.
    QString text() const;
    bool complete() const { return m_complete; }
    // What the stream does when no message follows a MaybeComplete.
    void settle() { m_complete = true; }
    int offlineSegments() const { return int(m_segments.size()); }

    // Joins two recognized pieces: CJK text needs no separator, Latin words need one space.
    static QString join(const QString &left, const QString &right);

private:
    QStringList m_segments;  // offline results, in order
    QString m_pieces;        // online pieces of the segment being spoken
    bool m_finalMirrorsSpeaking = false;
    bool m_maybeComplete = false;   // a possible end was seen: every later message is one too
    bool m_complete = false;
};

} // namespace tianyi
