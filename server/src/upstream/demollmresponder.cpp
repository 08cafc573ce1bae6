#include "upstream/demollmresponder.h"

#include "upstream/promptsections.h"

#include <QPointer>
#include <QRegularExpression>
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

// Items ordered by overlap with the query, the shorter first among equal overlaps (a short fact is
// a short spoken sentence); items sharing nothing keep their order (the retriever puts an entity's
// summary first). Scored on matchedAs (the same items, worded otherwise) when given. The scores
// come along.
QList<QPair<int, QString>> ranked(const QStringList &items, const QSet<QString> &query, const QStringList &matchedAs = {})
{
    QList<QPair<int, QString>> out;
    for (qsizetype i = 0; i < items.size(); ++i) {
        int score = 0;
        for (const QString &f : features(matchedAs.isEmpty() ? items.at(i) : matchedAs.at(i)))
            score += query.contains(f) ? 1 : 0;
        out.append({score, items.at(i)});
    }
    std::stable_sort(out.begin(), out.end(), [](const auto &a, const auto &b) {
        return a.first != b.first ? a.first > b.first : a.first > 0 && a.second.size() < b.second.size();
    });
    return out;
}

QString stripEndPunct(QString s)
{
    s = s.trimmed();
    while (!s.isEmpty() && QStringLiteral("。！？.!?；;，,、：:").contains(s.back()))
        s.chop(1);
    return s;
}

bool containsAny(const QString &text, const QStringList &words)
{
    const QString t = text.toCaseFolded();
    return std::any_of(words.begin(), words.end(), [&t](const QString &w) { return t.contains(w); });
}

// FNV-1a over the UTF-16 code units: the same on every machine and run, which qHash (seeded per
// process, and hardware-dependent) is not; replies must be reproducible in tests.
quint32 stableHash(const QString &s)
{
    quint32 h = 2166136261u;
    for (const QChar c : s) {
        h ^= c.unicode();
        h *= 16777619u;
    }
    return h;
}

// One of the options, chosen by the turn's seed; `slot` decorrelates the choices within one reply.
QString pick(const QStringList &options, quint32 seed, quint32 slot)
{
    quint32 h = seed ^ (slot * 0x9E3779B9u);
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    return options.at(int(h % quint32(options.size())));
}

int latinWords(const QString &text)
{
    static const QRegularExpression word(QStringLiteral("[A-Za-z0-9']+"));
    int words = 0;
    for (auto it = word.globalMatch(text); it.hasNext(); it.next())
        ++words;
    return words;
}

// Roughly how long a text takes to say, in CJK characters: a Latin word or number counts two;
// tags, spaces and punctuation are silent.
int spokenLength(const QString &text)
{
    static const QRegularExpression tag(QStringLiteral("\\[[^\\]]{1,6}\\]"));
    QString t = text;
    t.remove(tag);
    return int(std::count_if(t.begin(), t.end(), isCjk)) + 2 * latinWords(t);
}

// The leading clauses of a long fact, about maxLength to say: the demo says a fact, it does not
// read out a whole encyclopedia summary. Only a first clause far too long is cut inside.
QString leadingClauses(const QString &text, int maxLength)
{
    static const QRegularExpression cuts(QStringLiteral("[，,；;。]"));
    QString out;
    for (const QString &clause : text.split(cuts, Qt::SkipEmptyParts)) {
        const QString longer = out.isEmpty() ? clause : out + QStringLiteral("，") + clause;
        if (!out.isEmpty() && spokenLength(longer) > maxLength)
            break;
        out = longer;
    }
    return spokenLength(out) > 2 * maxLength ? out.left(maxLength) : out;
}

const QString kSelfZh = QStringLiteral("洛天依");
constexpr int kMaxFactLength = 34;   // one fact as said aloud (spokenLength)
constexpr int kMaxReplyLength = 60;      // a later reply: a few seconds of speech
constexpr int kMaxFirstReplyLength = 90; // the first one also introduces her
constexpr int kMaxSentences = 3;
constexpr int kMaxFirstSentences = 5;

// A knowledge item as a sentence she says: "X：summary" becomes "X是summary" (or the summary alone
// when it names X itself), long items keep their first clauses, and her own name becomes "我"
// ("洛天依的形象是MOTH设计的" -> "我的形象是MOTH设计的").
QString spokenFact(const QString &item)
{
    QString fact = stripEndPunct(item);
    const qsizetype colon = fact.indexOf(QChar(0xFF1A)); // ：
    if (colon > 0 && colon <= 16) {
        const QString subject = fact.left(colon);
        const QString body = leadingClauses(fact.mid(colon + 1).trimmed(), kMaxFactLength - spokenLength(subject));
        QString bare = subject;
        bare.remove(QChar(0x300A)).remove(QChar(0x300B));
        fact = body.contains(bare) ? body : subject + QStringLiteral("是") + body;
    } else {
        fact = leadingClauses(fact, kMaxFactLength);
    }
    static const QRegularExpression selfBeforeLatin(kSelfZh + QStringLiteral("(?=\\s*[A-Za-z])"));
    fact.replace(selfBeforeLatin, QStringLiteral("我的"));
    fact.replace(kSelfZh, QStringLiteral("我"));
    return stripEndPunct(fact);
}

// A memory (written to the user: "你喜欢草莓", "Your name is Ann") as she recalls it.
QString recalledMemory(const QString &item, bool zh)
{
    QString m = stripEndPunct(item);
    if (zh) {
        if (m.startsWith(QStringLiteral("用户")))
            m = QStringLiteral("你") + m.mid(2);
        return m;
    }
    if (m.startsWith(QLatin1String("You")))
        m[0] = QLatin1Char('y');
    return m;
}

enum class Mood { Cheerful, Sad, Angry };

Mood moodOf(const QString &text)
{
    if (containsAny(text, {QStringLiteral("难过"), QStringLiteral("伤心"), QStringLiteral("哭"), QStringLiteral("累"), QStringLiteral("sad"),
                           QStringLiteral("tired"), QStringLiteral("cry")}))
        return Mood::Sad;
    if (containsAny(text, {QStringLiteral("生气"), QStringLiteral("讨厌"), QStringLiteral("烦"), QStringLiteral("angry"), QStringLiteral("hate"),
                           QStringLiteral("annoy")}))
        return Mood::Angry;
    return Mood::Cheerful;
}

// What she says, in one language; the reply is built the same way in both.
struct Phrases {
    QStringList sad, angry;
    QStringList greet;
    QString greetByName;  // %1 = nickname
    QString intro;        // who she is, and that this is a demo without a language model
    QStringList bye, thanks, hello;
    QStringList knowIt;   // before a fact, when asked
    QStringList factEnd;
    QStringList notesInChinese; // before a Chinese fact in an English reply
    QStringList unknown;
    QString moreWithLlm;
    QStringList ack, listen;
    QStringList remembered;   // before the memory that answers a question
    QStringList memoryAnswer; // %1 = that memory
    QStringList remember;     // %1 = a memory
    QStringList closing;
};

const Phrases &chinese()
{
    static const Phrases p{
        {QStringLiteral("听起来你有点难过，抱抱你。"), QStringLiteral("辛苦啦，我陪着你呢。"), QStringLiteral("别难过，我在这儿听你说。")},
        {QStringLiteral("哼，谁惹你生气了？"), QStringLiteral("太过分了，我帮你哼一声！")},
        {QStringLiteral("你好呀！"), QStringLiteral("嗨，很高兴认识你！"), QStringLiteral("欢迎你来找我玩！")},
        QStringLiteral("%1，你好呀！"),
        QStringLiteral("我是洛天依，现在是离线演示版，还没有接入大模型哦。"),
        {QStringLiteral("拜拜，下次再来找我玩哦。"), QStringLiteral("要走啦？那我们下次见！")},
        {QStringLiteral("不客气呀！"), QStringLiteral("嘿嘿，不用谢～")},
        {QStringLiteral("你好呀！"), QStringLiteral("嗨，又见面啦！")},
        {QStringLiteral("这个我知道！"), QStringLiteral("问对人啦！")},
        {QStringLiteral("哦。"), QStringLiteral("呢。"), QStringLiteral("。")},
        {},
        {QStringLiteral("这个我还答不上来呢。"), QStringLiteral("唔，我的资料里没有这个。"), QStringLiteral("这个问题难倒我啦。")},
        QStringLiteral("等接上大模型，我就能聊得更多啦。"),
        {QStringLiteral("原来是这样呀！"), QStringLiteral("谢谢你告诉我～"), QStringLiteral("嗯嗯，我听到啦。")},
        {QStringLiteral("嗯嗯，我在听呢。"), QStringLiteral("真的吗？再多说一点嘛。"), QStringLiteral("好呀，我们接着聊！")},
        {QStringLiteral("当然记得！"), QStringLiteral("这个我记得！")},
        {QStringLiteral("%1哦。"), QStringLiteral("%1，对吧？")},
        {QStringLiteral("我记得%1哦。"), QStringLiteral("我还记得%1呢。")},
        {QStringLiteral("想聊点什么呀？"), QStringLiteral("还想知道什么吗？"), QStringLiteral("我们接着聊吧！")},
    };
    return p;
}

const Phrases &english()
{
    static const Phrases p{
        {QStringLiteral("That sounds hard, I'm here for you."), QStringLiteral("Aw, sending you a big hug.")},
        {QStringLiteral("Hmph, who upset you?"), QStringLiteral("That's annoying, I'd be cross too!")},
        {QStringLiteral("Hi there!"), QStringLiteral("Hello, nice to meet you!")},
        QStringLiteral("Hi, %1!"),
        QStringLiteral("I'm Luo Tianyi, an offline demo without a language model for now."),
        {QStringLiteral("Bye, come back soon!"), QStringLiteral("See you next time!")},
        {QStringLiteral("You're welcome!"), QStringLiteral("Anytime!")},
        {QStringLiteral("Hi again!"), QStringLiteral("Hello!")},
        {QStringLiteral("I know this one!"), QStringLiteral("Good question!")},
        {QStringLiteral(".")},
        // The knowledge graph is written in Chinese: say so rather than pretend to translate.
        {QStringLiteral("My notes on that are in Chinese."), QStringLiteral("Here is what my notes say, in Chinese.")},
        {QStringLiteral("I don't know that one yet."), QStringLiteral("Hmm, that's not in my notes.")},
        QStringLiteral("With a language model I could say more."),
        {QStringLiteral("Oh, I see!"), QStringLiteral("Thanks for telling me!")},
        {QStringLiteral("I'm listening!"), QStringLiteral("Really? Tell me more!")},
        {QStringLiteral("Of course I remember!"), QStringLiteral("I remember that one!")},
        {QStringLiteral("%1, right?"), QStringLiteral("%1.")},
        {QStringLiteral("I remember %1.")},
        {QStringLiteral("What shall we talk about?"), QStringLiteral("Anything else you'd like to know?")},
    };
    return p;
}

bool isQuestion(const QString &text, bool zh)
{
    const QString t = text.trimmed();
    if (t.endsWith(QChar(0xFF1F)) || t.endsWith(QLatin1Char('?')))
        return true;
    if (zh)
        return containsAny(t, {QStringLiteral("吗"), QStringLiteral("什么"), QStringLiteral("谁"), QStringLiteral("哪"), QStringLiteral("几"),
                               QStringLiteral("怎么"), QStringLiteral("为什么"), QStringLiteral("多少")});
    static const QRegularExpression wh(QStringLiteral("^(what|who|where|when|why|how|which|do|does|did|is|are|can|could|will|would)\\b"),
                                       QRegularExpression::CaseInsensitiveOption);
    return wh.match(t).hasMatch();
}

// Chinese when the message is mostly Chinese (a Chinese name inside an English question stays English).
bool looksChinese(const QString &text)
{
    const int cjk = int(std::count_if(text.begin(), text.end(), isCjk));
    return cjk > 0 && cjk > 2 * latinWords(text);
}

// The reply as sentences, each with its emotion tag; added while the spoken length stays in budget.
class Reply
{
public:
    Reply(int budget, int maxSentences) : m_budget(budget), m_maxSentences(maxSentences) {}
    bool add(const QString &tag, const QString &sentence)
    {
        if (sentence.isEmpty() || m_sentences >= m_maxSentences)
            return false;
        // English sentences need a space between them; Chinese ones do not.
        const bool space = !m_text.isEmpty() && QStringLiteral(".!?").contains(m_text.back());
        const QString next = (space ? QStringLiteral(" ") : QString()) + tag + sentence;
        if (!m_text.isEmpty() && spokenLength(m_text + next) > m_budget)
            return false;
        m_text += next;
        ++m_sentences;
        return true;
    }
    bool isEmpty() const { return m_text.isEmpty(); }
    QString text() const { return m_text; }

private:
    int m_budget;
    int m_maxSentences;
    int m_sentences = 0;
    QString m_text;
};

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
    bool answeredBefore = false;
    int userTurns = 0;
    for (const ChatMessage &m : request.messages) {
        if (m.role == QLatin1String("user")) {
            lastUser = m.content.trimmed();
            ++userTurns;
        } else if (m.role == QLatin1String("assistant")) {
            answeredBefore = answeredBefore || !m.content.trimmed().isEmpty();
        } else if (m.role == QLatin1String("system")) {
            system += m.content + QLatin1Char('\n');
        }
    }
    // She introduces herself (and says she is a demo) once: when nothing was said before, neither in
    // the recent messages nor in the summary of older ones.
    const bool firstTurn = !answeredBefore && promptsections::items(system, promptsections::kSummary).isEmpty();
    const bool zh = lastUser.isEmpty() ? hasCjk(system) : looksChinese(lastUser);
    const quint32 seed = stableHash(lastUser) ^ (quint32(userTurns) * 0x85EBCA6Bu);
    const QSet<QString> query = features(lastUser);
    const auto facts = ranked(promptsections::items(system, promptsections::kKnowledge), query);
    // Memories are written to the user ("你叫小明") and asked about in the first person ("我叫什么？"):
    // they are matched as the user would say them.
    const QStringList memoryItems = promptsections::items(system, promptsections::kUserMemories);
    QStringList memoriesAsSaid;
    for (const QString &m : memoryItems)
        memoriesAsSaid << promptsections::swapPersons(m);
    const auto memories = ranked(memoryItems, query, memoriesAsSaid);
    // The nickname greets the user only when it is a name to say: it defaults to the user name
    // ("tianyi_fan2"), which espeak would spell out.
    static const QRegularExpression sayableName(QStringLiteral("^[\\x{3400}-\\x{9FFF}A-Za-z ·]{1,12}$"));
    QString nickname;
    for (const QString &p : promptsections::items(system, promptsections::kUserProfile)) {
        if (p.startsWith(QStringLiteral("昵称：")) && sayableName.match(p.mid(3).trimmed()).hasMatch())
            nickname = p.mid(3).trimmed();
    }

    static const QRegularExpression hiOrHey(QStringLiteral("^(hi|hey)\\b"));
    static const QRegularExpression firstPerson(QStringLiteral("\\b(i|i'm|my)\\b"));
    const Mood mood = moodOf(lastUser);
    const bool question = isQuestion(lastUser, zh);
    const QString folded = lastUser.toCaseFolded();
    const bool greeting = containsAny(folded, {QStringLiteral("你好"), QStringLiteral("早上好"), QStringLiteral("晚上好"), QStringLiteral("嗨"),
                                               QStringLiteral("hello"), QStringLiteral("good morning")})
                          || hiOrHey.match(folded).hasMatch();
    const bool thanks = containsAny(folded, {QStringLiteral("谢谢"), QStringLiteral("多谢"), QStringLiteral("thank")});
    const bool bye = containsAny(folded, {QStringLiteral("再见"), QStringLiteral("拜拜"), QStringLiteral("晚安"), QStringLiteral("bye"),
                                          QStringLiteral("good night")});
    const bool aboutThemselves = zh ? lastUser.startsWith(QStringLiteral("我")) || lastUser.contains(QStringLiteral("，我"))
                                    : firstPerson.match(folded).hasMatch();

    // One fact: the one sharing most with the message. The retriever only sends facts about what the
    // message names, so a question is answered with the first one even when they share no words (an
    // alias or an English name); a remark is not.
    const bool factFits = !facts.isEmpty() && (facts.first().first > 0 || question);
    const QString fact = factFits ? spokenFact(facts.first().second) : QString();
    const bool sure = factFits && facts.first().first > 0;
    // A memory: the one the message is about, or now and then one to show she remembers (then only
    // one in the reply's language).
    const bool memoryAsked = !memories.isEmpty() && memories.first().first > 0;
    QString memory;
    if (memoryAsked || (!memories.isEmpty() && fact.isEmpty() && seed % 2 == 0 && hasCjk(memories.first().second) == zh))
        memory = recalledMemory(memories.first().second, zh);

    const Phrases &say = zh ? chinese() : english();
    const QString calm = QStringLiteral("[平静]");
    const QString happy = QStringLiteral("[开心]");
    const QString fond = QStringLiteral("[撒娇]");
    Reply reply(firstTurn ? kMaxFirstReplyLength : kMaxReplyLength, firstTurn ? kMaxFirstSentences : kMaxSentences);
    if (mood == Mood::Sad)
        reply.add(QStringLiteral("[悲伤]"), pick(say.sad, seed, 1));
    else if (mood == Mood::Angry)
        reply.add(QStringLiteral("[生气]"), pick(say.angry, seed, 1));
    if (firstTurn) {
        if (mood == Mood::Cheerful)
            reply.add(happy, nickname.isEmpty() ? pick(say.greet, seed, 2) : say.greetByName.arg(nickname));
        reply.add(calm, say.intro);
    } else if (bye) {
        reply.add(fond, pick(say.bye, seed, 2));
    } else if (thanks) {
        reply.add(happy, pick(say.thanks, seed, 2));
    } else if (greeting && mood == Mood::Cheerful) {
        reply.add(happy, pick(say.hello, seed, 2));
    }
    if (aboutThemselves && !question && mood == Mood::Cheerful)
        reply.add(happy, pick(say.ack, seed, 3));
    if (!fact.isEmpty()) {
        if (question && sure && seed % 2 == 0)
            reply.add(happy, pick(say.knowIt, seed, 3));
        if (!zh && hasCjk(fact)) {
            reply.add(happy, pick(say.notesInChinese, seed, 4));
            reply.add(calm, fact + QStringLiteral("。"));
        } else {
            reply.add(calm, fact.left(1).toUpper() + fact.mid(1) + pick(say.factEnd, seed, 4));
        }
    } else if (question && memoryAsked) {
        // The memory is the answer.
        reply.add(happy, pick(say.remembered, seed, 3));
        reply.add(fond, pick(say.memoryAnswer, seed, 5).arg(memory.left(1).toUpper() + memory.mid(1)));
        memory.clear();
    } else if (question) {
        reply.add(calm, pick(say.unknown, seed, 3));
        if (!firstTurn)
            reply.add(calm, say.moreWithLlm);
    } else if (reply.isEmpty()) {
        reply.add(happy, pick(say.listen, seed, 3));
    }
    if (!memory.isEmpty())
        reply.add(fond, pick(say.remember, seed, 5).arg(memory));
    if (firstTurn || (seed % 3 == 0 && !bye))
        reply.add(happy, pick(say.closing, seed, 6));
    return reply.text();
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
