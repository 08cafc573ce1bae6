#include "helptable.h"

namespace tianyi::cli {

namespace {
constexpr int kIndent = 2;
constexpr int kHelpColumn = 26; // where descriptions start
constexpr int kWidth = 100;

// Greedy word wrap of `text` into lines of at most `width` characters (a longer word gets its own
// line). A line that fits is kept as it is, with its spacing (the repl's command table).
QStringList wrap(const QString &text, int width)
{
    QStringList lines;
    for (const QString &paragraph : text.split(QLatin1Char('\n'))) {
        if (paragraph.size() <= width) {
            lines << paragraph;
            continue;
        }
        QString line;
        for (const QString &word : paragraph.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
            if (!line.isEmpty() && line.size() + 1 + word.size() > width) {
                lines << line;
                line.clear();
            }
            line += (line.isEmpty() ? QString() : QStringLiteral(" ")) + word;
        }
        lines << line;
    }
    return lines;
}
} // namespace

void HelpTable::section(const QString &title, const QString &intro)
{
    m_sections.append({title, intro, {}});
}

void HelpTable::command(const QString &usage, const QString &help)
{
    m_sections.last().entries.append({usage, help});
}

QCommandLineOption HelpTable::option(const QString &name, const QString &help, const QString &valueName, const QString &defaultValue)
{
    QCommandLineOption o = valueName.isEmpty() ? QCommandLineOption(name, help) : QCommandLineOption(name, help, valueName);
    if (!defaultValue.isEmpty())
        o.setDefaultValue(defaultValue);
    m_parser.addOption(o);
    QString left = QStringLiteral("--") + name;
    if (!valueName.isEmpty())
        left += QLatin1Char(' ') + valueName;
    QString text = help;
    if (!defaultValue.isEmpty() && !help.contains(QStringLiteral("default"))) {
        const bool sentence = text.endsWith(QLatin1Char('.'));
        if (sentence)
            text.chop(1);
        text += QStringLiteral(" (default %1)").arg(defaultValue) + (sentence ? QStringLiteral(".") : QString());
    }
    m_sections.last().entries.append({left, text});
    return o;
}

QString HelpTable::helpText(const QString &usageLine, const QString &description) const
{
    const QString pad(kHelpColumn, QLatin1Char(' '));
    QString out = usageLine + QStringLiteral("\n\n") + description + QLatin1Char('\n');
    for (const Section &s : m_sections) {
        out += QLatin1Char('\n') + s.title + QStringLiteral(":\n");
        if (!s.intro.isEmpty())
            for (const QString &line : wrap(s.intro, kWidth - kIndent))
                out += QString(kIndent, QLatin1Char(' ')) + line + QLatin1Char('\n');
        for (const Entry &e : s.entries) {
            const QString left = QString(kIndent, QLatin1Char(' ')) + e.left;
            const QStringList lines = wrap(e.help, kWidth - kHelpColumn);
            if (left.size() + 2 > kHelpColumn) {
                out += left + QLatin1Char('\n');
                for (const QString &line : lines)
                    out += pad + line + QLatin1Char('\n');
                continue;
            }
            out += left.leftJustified(kHelpColumn) + lines.value(0) + QLatin1Char('\n');
            for (int i = 1; i < lines.size(); ++i)
                out += pad + lines.at(i) + QLatin1Char('\n');
        }
    }
    if (!m_footer.isEmpty())
        out += QLatin1Char('\n') + m_footer + QLatin1Char('\n');
    return out;
}

} // namespace tianyi::cli
