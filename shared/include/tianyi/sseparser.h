#pragma once
// Incremental Server-Sent Events parser (WHATWG "event stream interpretation"), fed bytes as they
// arrive from the network. Lines end in CRLF, LF or CR, and any of them may be split across reads
// (even between CR and LF, or inside a UTF-8 sequence: lines are decoded only once complete).
// Deviations for LLM servers: the non-standard "error:" field of older llama.cpp is kept in
// SseEvent::error (an event with only that field is dispatched too), and finish() dispatches an
// event left open at end of stream instead of dropping it.
// Bounded: an event (all its fields plus the line being read) larger than maxEventBytes puts the
// parser in an error state instead of growing without limit.

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

namespace tianyi {

struct SseEvent {
    QString event;   // "event:" field; empty means the default type "message"
    QString data;    // "data:" lines joined with '\n'
    QString id;      // the last event id seen so far in the stream (it persists across events)
    QString error;   // "error:" lines (older llama.cpp) joined with '\n'

    bool operator==(const SseEvent &o) const { return event == o.event && data == o.data && id == o.id && error == o.error; }
    bool operator!=(const SseEvent &o) const { return !(*this == o); }
};

class SseParser
{
public:
    static constexpr qsizetype kDefaultMaxEventBytes = 1024 * 1024;

    explicit SseParser(qsizetype maxEventBytes = kDefaultMaxEventBytes);

    // Feeds the next bytes; returns the events they completed, in order. Nothing once in error.
    QList<SseEvent> feed(QByteArrayView bytes);
    // End of stream: completes a last line without its line end and dispatches an open event.
    QList<SseEvent> finish();

    bool hasError() const { return !m_errorString.isEmpty(); }
    QString errorString() const { return m_errorString; }
    int retryMs() const { return m_retryMs; }   // last "retry:" field, -1 if none
    qsizetype maxEventBytes() const { return m_maxEventBytes; }
    void reset();

private:
    void processLine(QByteArrayView line, QList<SseEvent> &out);
    void dispatch(QList<SseEvent> &out);
    bool checkSize(qsizetype pendingLine);

    qsizetype m_maxEventBytes;
    QByteArray m_line;
    bool m_skipLf = false;       // last byte was CR: an LF right after it belongs to the same line end
    bool m_firstLine = true;     // a UTF-8 BOM may start the stream
    QByteArray m_data;
    bool m_hasData = false;
    QByteArray m_errorField;
    bool m_hasErrorField = false;
    QByteArray m_eventType;
    QByteArray m_lastId;
    int m_retryMs = -1;
    QString m_errorString;
};

} // namespace tianyi
