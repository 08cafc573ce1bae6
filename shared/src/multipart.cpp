#include "tianyi/multipart.h"

#include <QRandomGenerator>

namespace tianyi::multipart {

namespace {

QByteArray quoted(const QByteArray &value)
{
    QByteArray v = value;
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\r', "").replace('\n', "");
    return '"' + v + '"';
}

void setError(QString *error, const QString &text)
{
    if (error)
        *error = text;
}

// The ';'-separated items of a header value. A ';' inside a quoted string (filename="a;b.wav")
// belongs to the value, and so does an escaped quote (\").
QList<QByteArray> parameterItems(const QByteArray &headerValue)
{
    QList<QByteArray> items;
    QByteArray item;
    bool inQuotes = false;
    for (qsizetype i = 0; i < headerValue.size(); ++i) {
        const char c = headerValue[i];
        if (inQuotes && c == '\\' && i + 1 < headerValue.size()) {
            item += c;
            item += headerValue[++i];
            continue;
        }
        if (c == '"')
            inQuotes = !inQuotes;
        if (c == ';' && !inQuotes) {
            items.append(item);
            item.clear();
            continue;
        }
        item += c;
    }
    items.append(item);
    return items;
}

// Value of a parameter (name=value or name="value") in a header value such as a Content-Disposition.
QByteArray parameter(const QByteArray &headerValue, const QByteArray &name)
{
    for (const QByteArray &raw : parameterItems(headerValue)) {
        const QByteArray item = raw.trimmed();
        const int eq = item.indexOf('=');
        if (eq <= 0 || item.left(eq).trimmed().toLower() != name)
            continue;
        QByteArray v = item.mid(eq + 1).trimmed();
        if (v.size() >= 2 && v.startsWith('"') && v.endsWith('"')) {
            // Quoted-pairs undone left to right: \X is X (what quoted() escapes: \ and ").
            const QByteArray inner = v.mid(1, v.size() - 2);
            v.clear();
            for (qsizetype i = 0; i < inner.size(); ++i) {
                if (inner[i] == '\\' && i + 1 < inner.size())
                    ++i;
                v += inner[i];
            }
        }
        return v;
    }
    return {};
}

} // namespace

Builder::Builder()
{
    m_boundary = "tianyi-" + QByteArray::number(QRandomGenerator::global()->generate64(), 16)
                 + QByteArray::number(QRandomGenerator::global()->generate64(), 16);
}

Builder::Builder(QByteArray boundary)
    : m_boundary(std::move(boundary))
{
}

void Builder::addField(const QByteArray &name, const QByteArray &value)
{
    m_body += "--" + m_boundary + "\r\nContent-Disposition: form-data; name=" + quoted(name) + "\r\n\r\n" + value + "\r\n";
}

void Builder::addFile(const QByteArray &name, const QByteArray &fileName, const QByteArray &contentType, const QByteArray &data)
{
    m_body += "--" + m_boundary + "\r\nContent-Disposition: form-data; name=" + quoted(name) + "; filename=" + quoted(fileName)
              + "\r\nContent-Type: " + contentType + "\r\n\r\n" + data + "\r\n";
}

QByteArray Builder::contentType() const
{
    return "multipart/form-data; boundary=" + m_boundary;
}

QByteArray Builder::body() const
{
    return m_body + "--" + m_boundary + "--\r\n";
}

std::optional<QList<Part>> parse(const QByteArray &contentType, const QByteArray &body, QString *error)
{
    if (!contentType.trimmed().toLower().startsWith("multipart/form-data")) {
        setError(error, QStringLiteral("content type is not multipart/form-data"));
        return std::nullopt;
    }
    const QByteArray boundary = parameter(contentType, "boundary");
    if (boundary.isEmpty()) {
        setError(error, QStringLiteral("multipart content type without a boundary"));
        return std::nullopt;
    }
    const QByteArray delimiter = "--" + boundary;
    QList<Part> parts;
    qsizetype pos = body.indexOf(delimiter);
    if (pos < 0) {
        setError(error, QStringLiteral("multipart body without its boundary"));
        return std::nullopt;
    }
    for (;;) {
        pos += delimiter.size();
        if (body.mid(pos, 2) == "--")
            return parts; // closing delimiter
        if (body.mid(pos, 2) != "\r\n") {
            setError(error, QStringLiteral("malformed multipart delimiter line"));
            return std::nullopt;
        }
        pos += 2;
        const qsizetype headEnd = body.indexOf("\r\n\r\n", pos);
        if (headEnd < 0) {
            setError(error, QStringLiteral("multipart part without a header end"));
            return std::nullopt;
        }
        Part part;
        for (const QByteArray &line : body.mid(pos, headEnd - pos).split('\n')) {
            const QByteArray l = line.trimmed();
            const int colon = l.indexOf(':');
            if (colon <= 0)
                continue;
            const QByteArray name = l.left(colon).trimmed().toLower();
            const QByteArray value = l.mid(colon + 1).trimmed();
            if (name == "content-disposition") {
                part.name = parameter(value, "name");
                part.fileName = parameter(value, "filename");
            } else if (name == "content-type") {
                part.contentType = value;
            }
        }
        const qsizetype dataStart = headEnd + 4;
        const qsizetype next = body.indexOf("\r\n" + delimiter, dataStart);
        if (next < 0) {
            setError(error, QStringLiteral("multipart body is truncated (no closing delimiter)"));
            return std::nullopt;
        }
        part.data = body.mid(dataStart, next - dataStart);
        parts.append(part);
        pos = next + 2;
    }
}

} // namespace tianyi::multipart
