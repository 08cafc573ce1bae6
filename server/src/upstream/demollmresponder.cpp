#include "upstream/demollmresponder.h"

#include "upstream/promptsections.h"

#include <QPointer>
#include <QSet>
#include <QTimer>
#include <algorithm>

namespace tianyi {

namespace {

bool isCjk(QChar c)
{
    const ushort u = c.unicode();
    return (u >= 0x3400 && u <= 0x9FFF) || (u >= 0xF900 && u <= 0xFAFF);
}

bool hasCjk(const QString &s)
{
    return std::any_of(s.begin(), s.end(), isCjk);
}

// Overlap features: CJK character bigrams (and single characters of 1-character runs), and
// lower-case Latin words of 3+ letters.
QSet<QString> features(const QString &text)
{
    QSet<QString> out;
    const QString t = text.toCaseFolded();
    qsizetype i = 0;
    while (i < t.size()) {
        if (isCjk(t[i])) {
            qsizetype j = i;
            while (j < t.size() && isCjk(t[j]))
                ++j;
            if (j - i == 1)
                out.insert(t.mid(i, 1));
            for (qsizetype k = i; k + 1 < j; ++k)
                out.insert(t.mid(k, 2));
            i = j;
        } else if (t[i].isLetterOrNumber()) {
            qsizetype j = i;
            while (j < t.size() && t[j].isLetterOrNumber() && !isCjk(t[j]))
                ++j;
            if (j - i >= 3)
                out.insert(t.mid(i, j - i));
            i = j;
        } else {
            ++i;
        }
    }
    return out;
}

// Items ordered by overlap with the query (stable for ties); the scores come along.
QList<QPair<int, QString>> ranked(const QStringList &items, const QSet<QString> &query)
{
    QList<QPair<int, QString>> out;
    for (const QString &item : items) {
        int score = 0;
        for (const QString &f : features(item))
            score += query.contains(f) ? 1 : 0;
        out.append({score, item});
    }
    std::stable_sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    return out;
}

QString stripEndPunct(QString s)
{
    s = s.trimmed();
    while (!s.isEmpty() && QStringLiteral("。！？.!?；;，,").contains(s.back()))
        s.chop(1);
    return s;
}

QString shorten(const QString &s, int max)
{
    const QString t = s.simplified();
    return t.size() > max ? t.left(max) + QStringLiteral("…") : t;
}

bool containsAny(const QString &text, const QStringList &words)
{
    const QString t = text.toCaseFolded();
    return std::any_of(words.begin(), words.end(), [&t](const QString &w) { return t.contains(w); });
}

class DemoStream : public LlmStream
{
public:
    DemoStream(QStringList tokens, QString finishReason, int promptTokens, int intervalMs, QObject *parent)
        : LlmStream(parent), m_tokens(std::move(tokens)), m_finishReason(std::move(finishReason)), m_promptTokens(promptTokens)
    {
        m_timer.setInterval(qMax(0, intervalMs));
        connect(&m_timer, &QTimer::timeout, this, [this] { tick(); });
        m_timer.start();
    }

    void cancel() override
    {
        m_cancelled = true;
        m_timer.stop();
    }

private:
    void tick()
    {
        if (m_cancelled)
            return;
        QPointer<DemoStream> self(this);
        if (m_next < m_tokens.size()) {
            emit delta(m_tokens[m_next++]);
            return;
        }
        m_timer.stop();
        LlmUsage u;
        u.promptTokens = m_promptTokens;
        u.completionTokens = int(m_tokens.size());
        u.totalTokens = u.promptTokens + u.completionTokens;
        emit usage(u);
        if (!self || m_cancelled)
            return;
        emit finished(m_finishReason);
    }

    QStringList m_tokens;
    QString m_finishReason;
    int m_promptTokens;
    qsizetype m_next = 0;
    QTimer m_timer;
    bool m_cancelled = false;
};

} // namespace

DemoLlmResponder::DemoLlmResponder(int tokenIntervalMs, QObject *parent)
    : QObject(parent)
    , m_tokenIntervalMs(tokenIntervalMs)
{
}

QString DemoLlmResponder::composeReply(const LlmRequest &request)
{
    QString lastUser;
    QString system;
    for (const ChatMessage &m : request.messages) {
        if (m.role == QLatin1String("user"))
            lastUser = m.content.trimmed();
        else if (m.role == QLatin1String("system"))
            system += m.content + QLatin1Char('\n');
    }
    const bool zh = lastUser.isEmpty() ? hasCjk(system) : hasCjk(lastUser);
    const QSet<QString> query = features(lastUser);
    const auto facts = ranked(promptsections::items(system, promptsections::kKnowledge), query);
    const auto memories = ranked(promptsections::items(system, promptsections::kUserMemories), query);

    QStringList chosenFacts;
    for (const auto &f : facts) {
        if (f.first > 0 && chosenFacts.size() < 2)
            chosenFacts << stripEndPunct(f.second);
    }
    if (chosenFacts.isEmpty() && !facts.isEmpty())
        chosenFacts << stripEndPunct(facts.first().second);
    const QString memory = memories.isEmpty() ? QString() : stripEndPunct(memories.first().second);

    const bool sad = containsAny(lastUser, {QStringLiteral("难过"), QStringLiteral("伤心"), QStringLiteral("哭"), QStringLiteral("累"),
                                            QStringLiteral("sad"), QStringLiteral("tired"), QStringLiteral("cry")});
    const bool angry = containsAny(lastUser, {QStringLiteral("生气"), QStringLiteral("讨厌"), QStringLiteral("烦"), QStringLiteral("angry"),
                                              QStringLiteral("hate"), QStringLiteral("annoy")});
    const QString opening = sad ? QStringLiteral("[悲伤]") : angry ? QStringLiteral("[生气]") : QStringLiteral("[开心]");

    QString out;
    if (zh) {
        out += opening + (sad ? QStringLiteral("听起来你有点不开心，抱抱你。") : angry ? QStringLiteral("哼，谁惹你生气了？")
                                                                                       : QStringLiteral("你好呀！"));
        out += QStringLiteral("我是洛天依，现在是离线演示模式，还没有接上大模型哦。");
        if (!lastUser.isEmpty())
            out += QStringLiteral("[惊讶]你说的是「%1」，对吧？").arg(shorten(lastUser, 30));
        for (const QString &f : chosenFacts)
            out += QStringLiteral("[平静]我知道的是：%1。").arg(f);
        if (!memory.isEmpty())
            out += QStringLiteral("[撒娇]我还记得%1呢。").arg(memory);
        if (chosenFacts.isEmpty() && memory.isEmpty())
            out += QStringLiteral("[平静]关于这个我暂时没有资料，等接上模型再好好聊吧。");
        out += QStringLiteral("[开心]还想聊点什么吗？");
    } else {
        out += opening + (sad ? QStringLiteral("That sounds hard, I'm here for you. ") : angry ? QStringLiteral("Hmph, who upset you? ")
                                                                                             : QStringLiteral("Hi there! "));
        out += QStringLiteral("I'm Luo Tianyi, running in offline demo mode without a language model. ");
        if (!lastUser.isEmpty())
            out += QStringLiteral("[惊讶]You said \"%1\", right? ").arg(shorten(lastUser, 60));
        for (const QString &f : chosenFacts)
            out += QStringLiteral("[平静]Here is what I know: %1. ").arg(f);
        if (!memory.isEmpty())
            out += QStringLiteral("[撒娇]I remember this about you: %1. ").arg(memory);
        if (chosenFacts.isEmpty() && memory.isEmpty())
            out += QStringLiteral("[平静]I don't have notes about that yet. ");
        out += QStringLiteral("[开心]What else would you like to talk about?");
    }
    return out;
}

QStringList DemoLlmResponder::tokenize(const QString &reply)
{
    QStringList tokens;
    qsizetype i = 0;
    const qsizetype n = reply.size();
    while (i < n) {
        const QChar c = reply[i];
        if (c == QLatin1Char('[')) {
            const qsizetype close = reply.indexOf(QLatin1Char(']'), i);
            if (close > i && close - i <= 8) {
                tokens << reply.mid(i, close - i + 1);
                i = close + 1;
                continue;
            }
        }
        if (isCjk(c) || c.isPunct() || c.isSymbol() || c.isSurrogate()) {
            const qsizetype len = (c.isHighSurrogate() && i + 1 < n) ? 2 : 1;
            tokens << reply.mid(i, len);
            i += len;
            continue;
        }
        // A Latin word (or spaces) with its trailing spaces.
        qsizetype j = i;
        while (j < n && !reply[j].isSpace() && !isCjk(reply[j]) && reply[j] != QLatin1Char('[') && !reply[j].isPunct())
            ++j;
        while (j < n && reply[j].isSpace())
            ++j;
        if (j == i)
            j = i + 1;
        tokens << reply.mid(i, j - i);
        i = j;
    }
    return tokens;
}

LlmStream *DemoLlmResponder::stream(const LlmRequest &request, QObject *parent)
{
    const QString reply = composeReply(request);
    QStringList tokens = tokenize(reply);
    QString finishReason = QStringLiteral("stop");
    if (request.maxTokens > 0 && tokens.size() > request.maxTokens) {
        tokens = tokens.mid(0, request.maxTokens);
        finishReason = QStringLiteral("length");
    }
    int promptChars = 0;
    for (const ChatMessage &m : request.messages)
        promptChars += int(m.content.size());
    return new DemoStream(tokens, finishReason, qMax(1, promptChars / 2), m_tokenIntervalMs, parent);
}

} // namespace tianyi
