// multipart/form-data (shared/src/multipart.cpp): the body of a speech-recognition upload as the
// fake upstream and any multipart reader parses it. The input is the Content-Type value, a newline,
// then the body. Properties: parts that multipart::Builder can express (names without CR/LF, a data
// block that does not contain the boundary) survive a build-and-parse round trip unchanged, both the
// parts parsed from the input and a file part whose name, file name and data are the input's bytes.

#include "fuzzsupport.h"

#include <tianyi/multipart.h>

namespace {

using namespace tianyi;

bool buildable(const multipart::Part &p, const QByteArray &boundary)
{
    auto plain = [](const QByteArray &v) { return !v.contains('\r') && !v.contains('\n'); };
    return plain(p.name) && plain(p.fileName) && plain(p.contentType) && p.contentType == p.contentType.trimmed()
           && !p.data.contains(boundary) && !p.name.isEmpty();
}

void checkRoundTrip(const QList<multipart::Part> &parts)
{
    multipart::Builder builder(QByteArrayLiteral("fuzz-boundary-3f9a"));
    QList<multipart::Part> expressible;
    for (const multipart::Part &p : parts) {
        if (!buildable(p, builder.boundary()))
            continue;
        // A file part always names its file and type; a plain field has neither.
        if (p.fileName.isEmpty() && p.contentType.isEmpty())
            builder.addField(p.name, p.data);
        else if (!p.fileName.isEmpty() && !p.contentType.isEmpty())
            builder.addFile(p.name, p.fileName, p.contentType, p.data);
        else
            continue;
        expressible.append(p);
    }
    if (expressible.isEmpty())
        return;
    const std::optional<QList<multipart::Part>> again = multipart::parse(builder.contentType(), builder.body());
    FUZZ_CHECK(again.has_value() && again->size() == expressible.size());
    for (qsizetype i = 0; i < expressible.size(); ++i) {
        const multipart::Part &a = expressible[i];
        const multipart::Part &b = (*again)[i];
        FUZZ_CHECK(a.name == b.name && a.fileName == b.fileName && a.contentType == b.contentType && a.data == b.data);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    // The input's bytes as what a client uploads: name, file name and data of one file part.
    checkRoundTrip({multipart::Part{input.left(8), input.mid(8, 8), QByteArrayLiteral("audio/wav"), input.mid(16)}});

    const qsizetype newline = input.indexOf('\n');
    const QByteArray contentType = newline < 0 ? input : input.left(newline);
    const QByteArray body = newline < 0 ? QByteArray() : input.mid(newline + 1);

    QString error;
    const std::optional<QList<multipart::Part>> parts = multipart::parse(contentType, body, &error);
    FUZZ_CHECK(parts.has_value() == error.isEmpty());
    if (!parts)
        return 0;

    checkRoundTrip(*parts);
    return 0;
}
