#pragma once
// tianyi-cli's options, registered with the parser and grouped by task for --help (QCommandLineParser
// lists every option in one flat block, which put the load generator's knobs in front of a newcomer).

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QList>
#include <QString>
#include <QStringList>

namespace tianyi::cli {

class HelpTable
{
public:
    explicit HelpTable(QCommandLineParser &parser)
        : m_parser(parser)
    {
    }

    // Starts a section of the help; what is added next belongs to it.
    void section(const QString &title, const QString &intro = {});
    // A command line of the section, e.g. ("chat TEXT", "one turn: ...").
    void command(const QString &usage, const QString &help);
    // An option of the section, registered with the parser too. valueName empty: a flag.
    QCommandLineOption option(const QString &name, const QString &help, const QString &valueName = {},
                              const QString &defaultValue = {});
    // Free text at the end of the help (exit codes, ...).
    void footer(const QString &text) { m_footer = text; }

    // "Usage: ..." then every section: commands, then options with their value names and defaults.
    QString helpText(const QString &usageLine, const QString &description) const;

private:
    struct Entry {
        QString left;   // "chat TEXT" or "--out DIR"
        QString help;
    };
    struct Section {
        QString title;
        QString intro;
        QList<Entry> entries;
    };

    QCommandLineParser &m_parser;
    QList<Section> m_sections;
    QString m_footer;
};

} // namespace tianyi::cli
