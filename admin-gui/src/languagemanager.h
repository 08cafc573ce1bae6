#pragma once
// The console's language: English (the source texts) or Simplified Chinese, from the embedded
// .qm files (:/i18n). Follows the system locale unless the operator picks one; installing a
// translator makes Qt send LanguageChange to every widget, which retranslates itself.

#include <QObject>
#include <QTranslator>

namespace tianyi::admin {

class LanguageManager : public QObject
{
    Q_OBJECT
public:
    explicit LanguageManager(QObject *parent = nullptr);
    ~LanguageManager() override;

    // "en", "zh_CN", or empty for the system locale. False when the translation is missing.
    bool setLanguage(const QString &code);
    QString language() const { return m_language; } // the one in effect: "en" or "zh_CN"
    static QString systemLanguage();
    static QStringList available() { return {QStringLiteral("en"), QStringLiteral("zh_CN")}; }
    // The language's own name (not translated: the operator must find their language in any UI).
    static QString nativeName(const QString &code);

signals:
    void languageChanged(const QString &code);

private:
    QTranslator m_app;
    QTranslator m_qt;    // Qt's own strings (standard buttons), when the system has them
    bool m_installed = false;
    QString m_language;
};

} // namespace tianyi::admin
