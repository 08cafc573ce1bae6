#pragma once
// Logging: one QLoggingCategory per area, text or JSON lines, a correlation id on every line
// written inside a CorrelationScope, and a last-line redaction of anything that looks like a secret.

#include <QLoggingCategory>
#include <QString>

Q_DECLARE_LOGGING_CATEGORY(lcApp)
Q_DECLARE_LOGGING_CATEGORY(lcHttp)
Q_DECLARE_LOGGING_CATEGORY(lcWs)
Q_DECLARE_LOGGING_CATEGORY(lcDb)
Q_DECLARE_LOGGING_CATEGORY(lcAuth)
Q_DECLARE_LOGGING_CATEGORY(lcLlm)
Q_DECLARE_LOGGING_CATEGORY(lcTts)
Q_DECLARE_LOGGING_CATEGORY(lcAsr)
Q_DECLARE_LOGGING_CATEGORY(lcEmbed)

namespace tianyi {

enum class LogFormat { Text, Json };

// Installs the message handler for the whole process. Safe to call again (tests).
void installLogHandler(LogFormat format);

// Sets the correlation id of log lines written on this thread while the scope lives.
// Request handlers open one with the request id; turns with "user#session#turn".
class CorrelationScope
{
public:
    explicit CorrelationScope(const QString &id);
    ~CorrelationScope();
    CorrelationScope(const CorrelationScope &) = delete;
    CorrelationScope &operator=(const CorrelationScope &) = delete;

    static QString current();

private:
    QString m_previous;
};

// Masks bearer tokens, JWTs, token=/password= query or form values and "password"/"token" JSON fields.
// Applied to every line by the handler as a safety net; code must still not log secrets.
QString redactSecrets(const QString &text);

} // namespace tianyi
