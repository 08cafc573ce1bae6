#pragma once
// Section headings of the system prompt, shared by the prompt builder (which writes them) and the
// offline demo responder (which reads them back).
//
// Layout: a section starts with a line that is exactly its heading and runs until the next line
// starting with "## " or the end of the prompt. Items inside a section are lines starting with
// "- " (one fact, memory or profile entry per line; no line breaks inside an item).

#include <QString>
#include <QStringList>

namespace tianyi::promptsections {

inline constexpr char kPersona[] = "## Persona";
inline constexpr char kEmotionProtocol[] = "## Emotion tags";
inline constexpr char kKnowledge[] = "## Knowledge";              // knowledge-graph facts
inline constexpr char kUserMemories[] = "## Memories of this user"; // retrieved long-term memories of THIS user
inline constexpr char kUserProfile[] = "## User profile";
inline constexpr char kSummary[] = "## Conversation so far";     // rolling summary of older turns
inline constexpr char kItemPrefix[] = "- ";
inline constexpr char kHeadingPrefix[] = "## ";

inline QString heading(const char *section) { return QString::fromUtf8(section); }

// "heading\n- item\n- item\n" (an empty list still writes the heading).
QString render(const char *section, const QStringList &items);

// The items of a section (without the "- "), in order; empty when the section is absent.
QStringList items(const QString &prompt, const char *section);

// Memory items are written to the user ("你住在上海", "Your name is Ann") while the user speaks of
// themselves ("我住在上海", "my name is Ann"): this swaps first and second person (我 <-> 你,
// I/me/my/mine <-> you/your/yours), either way. English words come out in lower case.
QString swapPersons(const QString &text);

} // namespace tianyi::promptsections
