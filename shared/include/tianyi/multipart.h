#pragma once
// A small multipart/form-data (RFC 7578) builder and parser.
// Built by hand rather than with QHttpMultiPart because Qt quotes the boundary parameter
// (boundary="..."), which some small servers (cpp-httplib based ones among them) have refused.

#include <QByteArray>
#include <QList>
#include <QString>
#include <optional>

namespace tianyi::multipart {

struct Part {
    QByteArray name;          // form field name
    QByteArray fileName;      // empty for plain fields
    QByteArray contentType;   // empty when the part did not say
    QByteArray data;
};

class Builder
{
public:
    Builder();                          // random boundary
    explicit Builder(QByteArray boundary);

    void addField(const QByteArray &name, const QByteArray &value);
    void addFile(const QByteArray &name, const QByteArray &fileName, const QByteArray &contentType, const QByteArray &data);

    QByteArray contentType() const;     // multipart/form-data; boundary=...
    QByteArray body() const;            // with the closing delimiter
    const QByteArray &boundary() const { return m_boundary; }

private:
    QByteArray m_boundary;
    QByteArray m_body;
};

// Parses a body given the request's Content-Type; nullopt (with error) when it is not well-formed.
std::optional<QList<Part>> parse(const QByteArray &contentType, const QByteArray &body, QString *error = nullptr);

} // namespace tianyi::multipart
