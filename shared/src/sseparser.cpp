#include "tianyi/sseparser.h"

namespace tianyi {

SseParser::SseParser(qsizetype maxEventBytes) : m_maxEventBytes(maxEventBytes > 0 ? maxEventBytes : kDefaultMaxEventBytes) {}

void SseParser::reset()
{
    *this = SseParser(m_maxEventBytes);
}

bool SseParser::checkSize(qsizetype pendingLine)
{
    if (m_data.size() + m_errorField.size() + m_eventType.size() + pendingLine <= m_maxEventBytes)
        return true;
    m_errorString = QStringLiteral("server-sent event larger than %1 bytes").arg(m_maxEventBytes);
    m_line.clear();
    m_data.clear();
    m_errorField.clear();
    m_eventType.clear();
    return false;
}

QList<SseEvent> SseParser::feed(QByteArrayView bytes)
{
    QList<SseEvent> out;
    if (hasError())
        return out;
    const char *p = bytes.data();
    const qsizetype n = bytes.size();
    qsizetype i = 0;
    while (i < n) {
        if (m_skipLf) {
            m_skipLf = false;
            if (p[i] == '\n') {
                ++i;
                continue;
            }
        }
        // Find the next line end.
        qsizetype j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r')
            ++j;
        if (j == n) {
            m_line.append(p + i, n - i);
            checkSize(m_line.size());
            return out;
        }
        QByteArrayView line;
        if (m_line.isEmpty()) {
            line = QByteArrayView(p + i, j - i);
        } else {
            m_line.append(p + i, j - i);
            line = m_line;
        }
        if (!checkSize(line.size()))
            return out;
        m_skipLf = p[j] == '\r';
        processLine(line, out);
        m_line.clear();
        if (hasError())
            return out;
        i = j + 1;
    }
    return out;
}

QList<SseEvent> SseParser::finish()
{
    QList<SseEvent> out;
    if (hasError())
        return out;
    if (!m_line.isEmpty()) {
        const QByteArray line = m_line;
        m_line.clear();
        processLine(line, out);
    }
    if (!hasError())
        dispatch(out);
    m_skipLf = false;
    return out;
}

void SseParser::processLine(QByteArrayView line, QList<SseEvent> &out)
{
    if (m_firstLine) {
        m_firstLine = false;
        if (line.startsWith("\xEF\xBB\xBF"))
            line = line.sliced(3);
    }
    if (line.isEmpty()) {
        dispatch(out);
        return;
    }
    if (line.front() == ':')
        return; // comment
    const qsizetype colon = line.indexOf(':');
    QByteArrayView field = colon < 0 ? line : line.first(colon);
    QByteArrayView value = colon < 0 ? QByteArrayView() : line.sliced(colon + 1);
    if (value.startsWith(' '))
        value = value.sliced(1);
    if (field == "data") {
        if (m_hasData)
            m_data.append('\n');
        m_data.append(value);
        m_hasData = true;
    } else if (field == "event") {
        m_eventType = value.toByteArray();
    } else if (field == "id") {
        if (!value.contains('\0'))
            m_lastId = value.toByteArray();
    } else if (field == "retry") {
        bool digits = !value.isEmpty() && value.size() < 10;
        for (char c : value)
            digits = digits && c >= '0' && c <= '9';
        if (digits)
            m_retryMs = value.toByteArray().toInt();
    } else if (field == "error") {
        if (m_hasErrorField)
            m_errorField.append('\n');
        m_errorField.append(value);
        m_hasErrorField = true;
    }
    checkSize(0);
}

void SseParser::dispatch(QList<SseEvent> &out)
{
    if (m_hasData || m_hasErrorField) {
        SseEvent e;
        e.event = QString::fromUtf8(m_eventType);
        e.data = QString::fromUtf8(m_data);
        e.id = QString::fromUtf8(m_lastId);
        e.error = QString::fromUtf8(m_errorField);
        out.append(std::move(e));
    }
    m_data.clear();
    m_hasData = false;
    m_errorField.clear();
    m_hasErrorField = false;
    m_eventType.clear();
}

} // namespace tianyi
