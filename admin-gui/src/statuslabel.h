#pragma once
// A label for messages (an action's outcome, a refusal, a keychain notice) that follows the
// language: it keeps the function that words the message, not the words, and runs it again on
// every language switch. A message shown before a switch never stays in the old language.

#include <QEvent>
#include <QLabel>
#include <functional>

namespace tianyi::admin {

class StatusLabel : public QLabel
{
public:
    using Text = std::function<QString()>;

    explicit StatusLabel(QWidget *parent = nullptr)
        : QLabel(parent)
    {
    }

    // Shows text(), now and after each language switch.
    void say(Text text)
    {
        m_text = std::move(text);
        refresh();
    }
    // Hides QLabel::clear(): a cleared message must not come back on the next switch.
    void clear() { say({}); }

protected:
    void changeEvent(QEvent *event) override
    {
        if (event->type() == QEvent::LanguageChange)
            refresh();
        QLabel::changeEvent(event);
    }

private:
    void refresh() { setText(m_text ? m_text() : QString()); }

    Text m_text;
};

} // namespace tianyi::admin
