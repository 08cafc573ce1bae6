#include "base/logging.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMutex>
#include <QRegularExpression>
#include <cstdio>

Q_LOGGING_CATEGORY(lcApp, "tianyi.app")
Q_LOGGING_CATEGORY(lcHttp, "tianyi.http")
Q_LOGGING_CATEGORY(lcWs, "tianyi.ws")
Q_LOGGING_CATEGORY(lcDb, "tianyi.db")
Q_LOGGING_CATEGORY(lcAuth, "tianyi.auth")
Q_LOGGING_CATEGORY(lcLlm, "tianyi.llm")
Q_LOGGING_CATEGORY(lcTts, "tianyi.tts")
Q_LOGGING_CATEGORY(lcAsr, "tianyi.asr")
Q_LOGGING_CATEGORY(lcEmbed, "tianyi.embed")

namespace tianyi {

namespace {

thread_local QString t_correlationId;
LogFormat g_format = LogFormat::Text;
QMutex g_writeMutex;

const char *levelName(QtMsgType type)
{
    switch (type) {
    case QtDebugMsg: return "debug";
    case QtInfoMsg: return "info";
    case QtWarningMsg: return "warning";
    case QtCriticalMsg: return "error";
    case QtFatalMsg: return "fatal";
    }
    return "info";
}

void handler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const QString text = redactSecrets(message);
    const QString time = QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
    const char *category = context.category ? context.category : "default";
    QByteArray line;
    if (g_format == LogFormat::Json) {
        QJsonObject o{{QStringLiteral("ts"), time},
                      {QStringLiteral("level"), QString::fromLatin1(levelName(type))},
                      {QStringLiteral("category"), QString::fromLatin1(category)},
                      {QStringLiteral("msg"), text}};
        if (!t_correlationId.isEmpty())
            o.insert(QStringLiteral("correlation_id"), t_correlationId);
        line = QJsonDocument(o).toJson(QJsonDocument::Compact);
    } else {
        line = QStringLiteral("%1 %2 %3%4 %5")
                   .arg(time, QString::fromLatin1(levelName(type)).leftJustified(7), QString::fromLatin1(category),
                        t_correlationId.isEmpty() ? QString() : QStringLiteral(" [%1]").arg(t_correlationId), text)
                   .toUtf8();
    }
    line += '\n';
    {
        QMutexLocker lock(&g_writeMutex);
        std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
        std::fflush(stderr);
    }
    if (type == QtFatalMsg)
        std::abort();
}

} // namespace

void installLogHandler(LogFormat format)
{
    g_format = format;
    qInstallMessageHandler(handler);
}

CorrelationScope::CorrelationScope(const QString &id)
    : m_previous(t_correlationId)
{
    t_correlationId = id;
}

CorrelationScope::~CorrelationScope()
{
    t_correlationId = m_previous;
}

QString CorrelationScope::current()
{
    return t_correlationId;
}

QString redactSecrets(const QString &text)
{
    static const QRegularExpression bearer(QStringLiteral("(Bearer\\s+)[A-Za-z0-9._~+/=-]+"), QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression jwt(QStringLiteral("eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*"));
    static const QRegularExpression query(QStringLiteral("((?:access_token|refresh_token|token|password|api_key|key)=)[^&\\s\"]+"),
                                          QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression json(QStringLiteral("(\"(?:access_token|refresh_token|token|password|api_key)\"\\s*:\\s*\")[^\"]*"),
                                         QRegularExpression::CaseInsensitiveOption);
    if (!text.contains(QLatin1String("Bearer"), Qt::CaseInsensitive) && !text.contains(QLatin1String("eyJ"))
        && !text.contains(QLatin1Char('=')) && !text.contains(QLatin1Char('"')))
        return text;
    QString out = text;
    out.replace(bearer, QStringLiteral("\\1<redacted>"));
    out.replace(jwt, QStringLiteral("<redacted-jwt>"));
    out.replace(query, QStringLiteral("\\1<redacted>"));
    out.replace(json, QStringLiteral("\\1<redacted>"));
    return out;
}

} // namespace tianyi
