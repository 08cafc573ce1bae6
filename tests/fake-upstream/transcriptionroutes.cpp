// The fake OpenAI-compatible transcription endpoint: POST {base}/audio/transcriptions, multipart/form-data
// with a `file` part (a WAV), `model`, optional `language`, `response_format` (json default, text,
// verbose_json). Answers {"text": options().asrText} after asrLatencyMs (header x-fake-asr-latency-ms).
// Refusals in OpenAI's error shape {"error":{"message","type","param","code"}}: 400 when the body is not
// multipart, the file part is missing or is not a WAV, or model is missing.
// Faults (header x-fake-fault or path prefix /fault/NAME): 401 (invalid key), 429 (Retry-After: 1),
// 500 (plain text).
//
// Tests look at what was uploaded through dynamic properties of the FakeServer (set on every
// accepted upload): "fakeAsrLastFile" (QByteArray, the file part), "fakeAsrLastFields" (QVariantMap of
// the plain fields) and "fakeAsrLastContentType" (QByteArray, the file part's Content-Type);
// "fakeAsrAnswered" (int) counts the transcriptions answered so far.

#include "fakeserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QTimer>
#include <QVariantMap>
#include <QtEndian>
#include <algorithm>

namespace tianyi::fake {

namespace {

bool hasFault(const FakeExchange *ex, const char *name)
{
    return ex->fault().split(QLatin1Char(','), Qt::SkipEmptyParts).contains(QLatin1String(name));
}

void openAiError(FakeExchange *ex, int status, const QString &message, const QString &type, const QString &code,
                 const QList<QPair<QByteArray, QByteArray>> &headers = {})
{
    const QJsonObject err{{QStringLiteral("message"), message},
                          {QStringLiteral("type"), type},
                          {QStringLiteral("param"), QJsonValue::Null},
                          {QStringLiteral("code"), code.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(code)}};
    ex->reply(status, "application/json", QJsonDocument(QJsonObject{{QStringLiteral("error"), err}}).toJson(QJsonDocument::Compact), headers);
}

QByteArray param(const QByteArray &headerValue, const QByteArray &name)
{
    for (const QByteArray &raw : headerValue.split(';')) {
        const QByteArray item = raw.trimmed();
        const qsizetype eq = item.indexOf('=');
        if (eq > 0 && item.left(eq).trimmed().toLower() == name) {
            QByteArray v = item.mid(eq + 1).trimmed();
            if (v.size() >= 2 && v.startsWith('"') && v.endsWith('"'))
                v = v.mid(1, v.size() - 2);
            return v;
        }
    }
    return {};
}

struct Upload {
    QVariantMap fields;
    QByteArray file;
    QByteArray fileName;
    QByteArray fileType;
    bool haveFile = false;
};

// A small independent multipart/form-data reader (not the server's code: the fake is a witness).
bool parseMultipart(const QByteArray &contentType, const QByteArray &body, Upload *out, QString *error)
{
    if (!contentType.toLower().startsWith("multipart/form-data")) {
        *error = QStringLiteral("Content-Type must be multipart/form-data");
        return false;
    }
    const QByteArray boundary = param(contentType, "boundary");
    if (boundary.isEmpty()) {
        *error = QStringLiteral("multipart boundary missing");
        return false;
    }
    const QByteArray delim = "--" + boundary;
    qsizetype pos = body.indexOf(delim);
    if (pos != 0) {
        *error = QStringLiteral("body does not start with the boundary");
        return false;
    }
    for (;;) {
        pos += delim.size();
        if (body.mid(pos, 2) == "--")
            return true;
        if (body.mid(pos, 2) != "\r\n") {
            *error = QStringLiteral("malformed boundary line");
            return false;
        }
        pos += 2;
        const qsizetype headEnd = body.indexOf("\r\n\r\n", pos);
        const qsizetype next = headEnd < 0 ? -1 : body.indexOf("\r\n" + delim, headEnd + 4);
        if (headEnd < 0 || next < 0) {
            *error = QStringLiteral("truncated multipart body");
            return false;
        }
        QByteArray name, fileName, type;
        for (const QByteArray &line : body.mid(pos, headEnd - pos).split('\n')) {
            const QByteArray l = line.trimmed();
            if (l.toLower().startsWith("content-disposition:")) {
                name = param(l, "name");
                fileName = param(l, "filename");
            } else if (l.toLower().startsWith("content-type:")) {
                type = l.mid(13).trimmed();
            }
        }
        const QByteArray data = body.mid(headEnd + 4, next - headEnd - 4);
        if (name == "file") {
            out->haveFile = true;
            out->file = data;
            out->fileName = fileName;
            out->fileType = type;
        } else if (!name.isEmpty()) {
            out->fields.insert(QString::fromUtf8(name), QString::fromUtf8(data));
        }
        pos = next + 2;
    }
}

bool looksLikeWav(const QByteArray &f)
{
    if (f.size() < 44 || !f.startsWith("RIFF") || f.mid(8, 4) != "WAVE")
        return false;
    qsizetype pos = 12;
    while (pos + 8 <= f.size()) {
        const quint32 size = qFromLittleEndian<quint32>(f.constData() + pos + 4);
        if (f.mid(pos, 4) == "data")
            return true;
        pos += 8 + qsizetype(size) + (size & 1);
    }
    return false;
}

void handleTranscription(FakeExchange *ex)
{
    if (hasFault(ex, "401"))
        return openAiError(ex, 401, QStringLiteral("Incorrect API key provided"), QStringLiteral("invalid_request_error"),
                           QStringLiteral("invalid_api_key"));
    if (hasFault(ex, "429"))
        return openAiError(ex, 429, QStringLiteral("Rate limit reached for requests"), QStringLiteral("requests"),
                           QStringLiteral("rate_limit_exceeded"), {{"Retry-After", "1"}});
    if (hasFault(ex, "500")) {
        ex->reply(500, "text/plain; charset=utf-8", "Internal Server Error");
        return;
    }
    Upload up;
    QString error;
    if (!parseMultipart(ex->request().header("content-type"), ex->request().body, &up, &error))
        return openAiError(ex, 400, error, QStringLiteral("invalid_request_error"), QString());
    if (!up.haveFile)
        return openAiError(ex, 400, QStringLiteral("'file' is a required property"), QStringLiteral("invalid_request_error"), QString());
    if (!looksLikeWav(up.file))
        return openAiError(ex, 400, QStringLiteral("Invalid file format. The file is not a WAV file."), QStringLiteral("invalid_request_error"),
                           QString());
    if (up.fields.value(QStringLiteral("model")).toString().isEmpty())
        return openAiError(ex, 400, QStringLiteral("'model' is a required property"), QStringLiteral("invalid_request_error"), QString());
    const QString format = up.fields.value(QStringLiteral("response_format"), QStringLiteral("json")).toString();
    if (format != QLatin1String("json") && format != QLatin1String("text") && format != QLatin1String("verbose_json"))
        return openAiError(ex, 400, QStringLiteral("response_format %1 is not supported").arg(format), QStringLiteral("invalid_request_error"),
                           QString());

    FakeServer *server = ex->server();
    server->setProperty("fakeAsrLastFile", up.file);
    server->setProperty("fakeAsrLastFields", up.fields);
    server->setProperty("fakeAsrLastContentType", up.fileType);

    const QString text = server->options().asrText;
    const int latency = std::max(0, ex->intOption("x-fake-asr-latency-ms", server->options().asrLatencyMs));
    QPointer<FakeExchange> guard(ex);
    QTimer::singleShot(latency, ex, [guard, text, format, fields = up.fields] {
        if (!guard || guard->clientGone())
            return;
        FakeServer *answering = guard->server();
        answering->setProperty("fakeAsrAnswered", answering->property("fakeAsrAnswered").toInt() + 1);
        if (format == QLatin1String("text")) {
            guard->reply(200, "text/plain; charset=utf-8", text.toUtf8());
            return;
        }
        QJsonObject o{{QStringLiteral("text"), text}};
        if (format == QLatin1String("verbose_json")) {
            o.insert(QStringLiteral("task"), QStringLiteral("transcribe"));
            o.insert(QStringLiteral("language"), fields.value(QStringLiteral("language"), QStringLiteral("zh")).toString());
            o.insert(QStringLiteral("segments"), QJsonArray());
        }
        guard->reply(200, "application/json", QJsonDocument(o).toJson(QJsonDocument::Compact));
    });
}

} // namespace

void registerTranscriptionRoutes(FakeServer &server)
{
    server.route("POST", QStringLiteral("/audio/transcriptions"), handleTranscription);
}

} // namespace tianyi::fake
