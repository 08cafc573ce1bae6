// OpenAI-compatible routes of the fake upstream: /chat/completions (streamed as SSE or not),
// /embeddings, /models. Speaks the dialects of OpenAI, vLLM, Ollama and llama.cpp (see README.md).
#include "fakeserver.h"

#include <QCryptographicHash>
#include <QSet>
#include <QDateTime>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>
#include <QTimer>
#include <QtEndian>
#include <algorithm>
#include <cmath>
#include <memory>

namespace tianyi::fake {

namespace {

using Headers = QList<QPair<QByteArray, QByteArray>>;

const QString kDefaultReply = QStringLiteral("你好！我是洛天依，很高兴见到你。今天想聊些什么呢？我们可以聊音乐，也可以聊聊你的一天。");
const QString kReasoning = QStringLiteral("用户在打招呼，我应该热情又简短地回应。");

QSet<QString> faultSet(const FakeExchange *ex)
{
    QSet<QString> set;
    const QStringList parts = ex->fault().split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString &p : parts)
        set.insert(p.trimmed().toLower());
    return set;
}

QByteArray compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QJsonObject openAiError(const QString &message, const QString &type, const QJsonValue &code)
{
    return QJsonObject{{QStringLiteral("error"), QJsonObject{{QStringLiteral("message"), message},
                                                             {QStringLiteral("type"), type},
                                                             {QStringLiteral("param"), QJsonValue::Null},
                                                             {QStringLiteral("code"), code}}}};
}

// Splits text into "tokens": a Latin word with its trailing space, or one non-ASCII character.
QStringList tokenize(const QString &text)
{
    QStringList out;
    QString cur;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (c.unicode() >= 0x80) {
            if (!cur.isEmpty())
                out << cur;
            cur.clear();
            QString one(c);
            if (c.isHighSurrogate() && i + 1 < text.size())
                one += text.at(++i);
            out << one;
            continue;
        }
        cur += c;
        if (c == QLatin1Char(' ') || c == QLatin1Char('\n')) {
            out << cur;
            cur.clear();
        }
    }
    if (!cur.isEmpty())
        out << cur;
    return out;
}

// Error replies shared by every OpenAI route. Returns true when a fault answered the request.
bool answerErrorFault(FakeExchange *ex, const QSet<QString> &faults, int *flakyCounter)
{
    if (faults.contains(QStringLiteral("401"))) {
        ex->reply(401, "application/json",
                  compact(openAiError(QStringLiteral("Incorrect API key provided."), QStringLiteral("invalid_request_error"),
                                      QStringLiteral("invalid_api_key"))));
        return true;
    }
    if (faults.contains(QStringLiteral("403"))) {
        ex->reply(403, "application/json",
                  compact(openAiError(QStringLiteral("You are not allowed to use this model."), QStringLiteral("permission_error"),
                                      QJsonValue::Null)));
        return true;
    }
    if (faults.contains(QStringLiteral("429"))) {
        const int ms = ex->intOption("x-fake-retry-after-ms", 100);
        ex->reply(429, "application/json",
                  compact(openAiError(QStringLiteral("Rate limit reached for requests."), QStringLiteral("requests"),
                                      QStringLiteral("rate_limit_exceeded"))),
                  {{"retry-after-ms", QByteArray::number(ms)}, {"Retry-After", QByteArray::number((ms + 999) / 1000)}});
        return true;
    }
    if (faults.contains(QStringLiteral("429-date"))) {
        const int s = ex->intOption("x-fake-retry-after-s", 2);
        const QByteArray date = QLocale::c()
                                    .toString(QDateTime::currentDateTimeUtc().addSecs(s), QStringLiteral("ddd, dd MMM yyyy hh:mm:ss 'GMT'"))
                                    .toLatin1();
        ex->reply(429, "application/json",
                  compact(openAiError(QStringLiteral("Too many requests."), QStringLiteral("requests"), 429)),
                  {{"Retry-After", date}});
        return true;
    }
    if (faults.contains(QStringLiteral("quota"))) {
        ex->reply(429, "application/json",
                  compact(openAiError(QStringLiteral("You exceeded your current quota, please check your plan and billing details."),
                                      QStringLiteral("insufficient_quota"), QStringLiteral("insufficient_quota"))));
        return true;
    }
    if (faults.contains(QStringLiteral("500"))) {
        ex->reply(500, "application/json",
                  compact(openAiError(QStringLiteral("The server had an error while processing your request."),
                                      QStringLiteral("server_error"), 500)));
        return true;
    }
    if (faults.contains(QStringLiteral("503"))) {
        ex->reply(503, "text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>");
        return true;
    }
    if (faults.contains(QStringLiteral("flaky"))) {
        if (*flakyCounter < ex->intOption("x-fake-fail-times", 1)) {
            ++*flakyCounter;
            ex->reply(503, "application/json",
                      compact(openAiError(QStringLiteral("The engine is currently overloaded."), QStringLiteral("server_error"),
                                          QJsonValue::Null)));
            return true;
        }
        return false;
    }
    if (faults.contains(QStringLiteral("siliconflow-error"))) {
        ex->reply(400, "application/json", R"({"code":20012,"message":"Model does not exist. Please check it carefully.","data":null})");
        return true;
    }
    if (faults.contains(QStringLiteral("siliconflow-balance"))) {
        ex->reply(403, "application/json", R"({"code":30001,"message":"Sorry, your account balance is insufficient","data":null})");
        return true;
    }
    if (faults.contains(QStringLiteral("bare-string"))) {
        ex->reply(401, "application/json", R"("Invalid token")");
        return true;
    }
    if (faults.contains(QStringLiteral("stall"))) {
        // 200 and headers, then nothing until the client gives up.
        ex->beginChunked(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
        return true;
    }
    return false;
}

// One step of a scripted reply.
struct Step {
    enum Kind { Write, Cut, End, Stall } kind = Write;
    int delayMs = 0;
    QByteArray bytes;
};

// How a reply is paced: drip = one byte per HTTP chunk, each dripMs after the previous one
// (0 = on the next event-loop turn).
struct Pacing {
    bool drip = false;
    int dripMs = 0;
};

// Runs one step; returns whether playing goes on.
bool runStep(FakeExchange *ex, QList<Step> &steps, const Step &step, Pacing pacing)
{
    switch (step.kind) {
    case Step::Write:
        if (pacing.drip && step.bytes.size() > 1) {
            ex->writeChunk(step.bytes.left(1));
            Step rest = step;
            rest.bytes = step.bytes.mid(1);
            rest.delayMs = pacing.dripMs;
            steps.prepend(rest);
        } else {
            ex->writeChunk(step.bytes);
        }
        return true;
    case Step::Cut:
        ex->cut();
        return false;
    case Step::End:
        ex->endChunked();
        return false;
    case Step::Stall:
        return false;
    }
    return false;
}

// Plays steps on an exchange; delays run on timers that are children of the exchange (they die with it).
void play(FakeExchange *ex, std::shared_ptr<QList<Step>> steps, Pacing pacing)
{
    for (;;) {
        if (ex->clientGone() || ex->replyEnded())
            return;
        if (steps->isEmpty()) {
            ex->endChunked();
            return;
        }
        if (steps->first().delayMs > 0 || pacing.drip) {
            QTimer::singleShot(std::max(0, steps->first().delayMs), Qt::PreciseTimer, ex, [ex, steps, pacing] {
                if (ex->clientGone() || ex->replyEnded() || steps->isEmpty())
                    return;
                const Step step = steps->takeFirst();
                if (runStep(ex, *steps, step, pacing))
                    play(ex, steps, pacing);
            });
            return;
        }
        const Step step = steps->takeFirst();
        if (!runStep(ex, *steps, step, pacing))
            return;
    }
}

QString lastUserMessage(const QJsonArray &messages)
{
    for (qsizetype i = messages.size() - 1; i >= 0; --i) {
        const QJsonObject m = messages.at(i).toObject();
        if (m.value(QStringLiteral("role")).toString() == QLatin1String("user"))
            return m.value(QStringLiteral("content")).toString();
    }
    return {};
}

QString replyFor(const FakeOptions &opt, const QString &prompt)
{
    qsizetype best = -1;
    QString reply;
    for (const auto &entry : opt.script) {
        if (prompt.contains(entry.first) && entry.first.size() > best) {
            best = entry.first.size();
            reply = entry.second;
        }
    }
    if (best >= 0)
        return reply;
    return opt.replyText.isEmpty() ? kDefaultReply : opt.replyText;
}

void handleChat(FakeServer *server, FakeExchange *ex, int *flakyCounter, quint64 *serial)
{
    const QSet<QString> faults = faultSet(ex);
    if (answerErrorFault(ex, faults, flakyCounter))
        return;
    const FakeOptions &opt = server->options();
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(ex->request().body, &perr);
    if (perr.error != QJsonParseError::NoError || !doc.isObject()) {
        ex->reply(400, "application/json",
                  compact(openAiError(QStringLiteral("We could not parse the JSON body of your request."),
                                      QStringLiteral("invalid_request_error"), QJsonValue::Null)));
        return;
    }
    const QJsonObject body = doc.object();
    const QJsonArray messages = body.value(QStringLiteral("messages")).toArray();
    if (messages.isEmpty()) {
        ex->reply(400, "application/json",
                  compact(openAiError(QStringLiteral("'messages' must contain at least one message."),
                                      QStringLiteral("invalid_request_error"), QJsonValue::Null)));
        return;
    }
    const QString model = body.value(QStringLiteral("model")).toString(QStringLiteral("fake-model"));
    const bool stream = body.value(QStringLiteral("stream")).toBool(false);
    const bool includeUsage = body.value(QStringLiteral("stream_options")).toObject().value(QStringLiteral("include_usage")).toBool(false);
    const QString replyText = replyFor(opt, lastUserMessage(messages));
    const bool withReasoning = faults.contains(QStringLiteral("reasoning"));
    const QStringList tokens = tokenize(replyText);
    const QStringList reasoningTokens = withReasoning ? tokenize(kReasoning) : QStringList();

    int promptTokens = 0;
    for (const QJsonValue &m : messages)
        promptTokens += int(tokenize(m.toObject().value(QStringLiteral("content")).toString()).size()) + 4;
    const int completionTokens = int(tokens.size() + reasoningTokens.size());
    const QJsonObject usage{{QStringLiteral("prompt_tokens"), promptTokens},
                            {QStringLiteral("completion_tokens"), completionTokens},
                            {QStringLiteral("total_tokens"), promptTokens + completionTokens}};
    const QString id = QStringLiteral("chatcmpl-fake-%1").arg(++*serial);
    const qint64 created = QDateTime::currentSecsSinceEpoch();
    bool wantUsage = opt.usageChunk && !faults.contains(QStringLiteral("no-usage"));

    if (!stream) {
        QJsonObject message{{QStringLiteral("role"), QStringLiteral("assistant")}, {QStringLiteral("content"), replyText}};
        if (withReasoning)
            message.insert(QStringLiteral("reasoning_content"), kReasoning);
        QJsonObject out{{QStringLiteral("id"), id},
                        {QStringLiteral("object"), QStringLiteral("chat.completion")},
                        {QStringLiteral("created"), created},
                        {QStringLiteral("model"), model},
                        {QStringLiteral("choices"), QJsonArray{QJsonObject{{QStringLiteral("index"), 0},
                                                                           {QStringLiteral("message"), message},
                                                                           {QStringLiteral("finish_reason"), QStringLiteral("stop")}}}}};
        if (wantUsage)
            out.insert(QStringLiteral("usage"), usage);
        QTimer::singleShot(ex->intOption("x-fake-ttft-ms", opt.ttftMs), ex, [ex, out] {
            ex->reply(200, "application/json", compact(out));
        });
        return;
    }

    QString variant = opt.variant.isEmpty() ? QStringLiteral("openai") : opt.variant.toLower();
    for (const QString &v : {QStringLiteral("openai"), QStringLiteral("vllm"), QStringLiteral("ollama"), QStringLiteral("llamacpp")}) {
        if (faults.contains(v))
            variant = v;
    }
    const QString headerVariant = QString::fromLatin1(ex->request().header("x-fake-variant")).toLower();
    if (!headerVariant.isEmpty())
        variant = headerVariant;

    const QByteArray eol = faults.contains(QStringLiteral("crlf")) ? QByteArray("\r\n")
                           : faults.contains(QStringLiteral("cr")) ? QByteArray("\r")
                                                                   : QByteArray("\n");
    const QByteArray dataField = faults.contains(QStringLiteral("nospace")) ? QByteArray("data:") : QByteArray("data: ");
    const bool comments = faults.contains(QStringLiteral("comments"));

    auto event = [&](const QByteArray &payload) {
        QByteArray e;
        if (comments)
            e += ": keep-alive" + eol;
        e += dataField + payload + eol + eol;
        return e;
    };
    auto chunk = [&](const QJsonObject &delta, const QJsonValue &finish, bool usageNullField) {
        QJsonObject c{{QStringLiteral("id"), id},
                      {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
                      {QStringLiteral("created"), created},
                      {QStringLiteral("model"), model},
                      {QStringLiteral("choices"), QJsonArray{QJsonObject{{QStringLiteral("index"), 0},
                                                                         {QStringLiteral("delta"), delta},
                                                                         {QStringLiteral("logprobs"), QJsonValue::Null},
                                                                         {QStringLiteral("finish_reason"), finish}}}}};
        if (usageNullField)
            c.insert(QStringLiteral("usage"), QJsonValue::Null);
        return c;
    };
    auto usageOnly = [&] {
        return QJsonObject{{QStringLiteral("id"), id},
                           {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
                           {QStringLiteral("created"), created},
                           {QStringLiteral("model"), model},
                           {QStringLiteral("choices"), QJsonArray()},
                           {QStringLiteral("usage"), usage}};
    };
    const QString role = QStringLiteral("role");
    const QString content = QStringLiteral("content");
    const QString assistant = QStringLiteral("assistant");
    const QJsonValue none = QJsonValue::Null;
    const QString stop = QStringLiteral("stop");

    // Build the events: preamble (sent at once), then content events paced by ttft and tokens/second.
    QList<QByteArray> preamble;
    QList<QByteArray> paced;
    QByteArray tail; // after the paced events: finish/usage chunks
    const QString reasoningField = (variant == QLatin1String("ollama") || variant == QLatin1String("vllm")) ? QStringLiteral("reasoning")
                                                                                                             : QStringLiteral("reasoning_content");
    if (variant == QLatin1String("openai")) {
        preamble << event(compact(chunk({{role, assistant}, {content, QString()}, {QStringLiteral("refusal"), none}}, none, includeUsage)));
        for (const QString &t : reasoningTokens)
            paced << event(compact(chunk({{reasoningField, t}}, none, includeUsage)));
        for (const QString &t : tokens)
            paced << event(compact(chunk({{content, t}}, none, includeUsage)));
        tail += event(compact(chunk({}, stop, includeUsage)));
        if (includeUsage && wantUsage)
            tail += event(compact(usageOnly()));
    } else if (variant == QLatin1String("vllm")) {
        preamble << event(compact(chunk({{role, assistant}, {content, QString()}}, none, false)));
        for (const QString &t : reasoningTokens)
            paced << event(compact(chunk({{reasoningField, t}}, none, false)));
        for (qsizetype i = 0; i < tokens.size(); ++i)
            paced << event(compact(chunk({{content, tokens[i]}}, i + 1 == tokens.size() ? QJsonValue(stop) : none, false)));
        if (includeUsage && wantUsage)
            tail += event(compact(usageOnly()));
    } else if (variant == QLatin1String("ollama")) {
        for (const QString &t : reasoningTokens)
            paced << event(compact(chunk({{role, assistant}, {content, QString()}, {reasoningField, t}}, none, false)));
        for (const QString &t : tokens)
            paced << event(compact(chunk({{role, assistant}, {content, t}}, none, false)));
        tail += event(compact(chunk({{role, assistant}, {content, QString()}}, stop, false)));
        if (includeUsage && wantUsage)
            tail += event(compact(usageOnly()));
    } else { // llamacpp
        preamble << event(compact(chunk({{role, assistant}, {content, none}}, none, false)));
        for (const QString &t : reasoningTokens)
            paced << event(compact(chunk({{reasoningField, t}}, none, false)));
        for (const QString &t : tokens)
            paced << event(compact(chunk({{content, t}}, none, false)));
        QJsonObject last = chunk({}, stop, false);
        if (wantUsage)
            last.insert(QStringLiteral("usage"), usage);
        last.insert(QStringLiteral("timings"), QJsonObject{{QStringLiteral("predicted_n"), completionTokens}});
        tail += event(compact(last));
    }
    const QByteArray done = event("[DONE]");

    const int ttft = ex->intOption("x-fake-ttft-ms", opt.ttftMs);
    const int tps = ex->intOption("x-fake-tokens-per-second", int(std::lround(opt.tokensPerSecond)));
    const int interval = tps > 0 ? std::max(1, 1000 / tps) : 0;
    const bool drip = faults.contains(QStringLiteral("drip"));

    auto steps = std::make_shared<QList<Step>>();
    for (const QByteArray &p : preamble)
        steps->append({Step::Write, 0, p});
    const qsizetype cutAt = ex->intOption("x-fake-cut-after", int(std::max<qsizetype>(1, paced.size() / 2)));
    for (qsizetype i = 0; i < paced.size(); ++i) {
        if (faults.contains(QStringLiteral("cut")) && i == cutAt) {
            steps->append({Step::Cut, interval, {}});
            break;
        }
        if (faults.contains(QStringLiteral("stall-after-first")) && i == 1) {
            steps->append({Step::Stall, 0, {}});
            break;
        }
        if (faults.contains(QStringLiteral("sse-error")) && i == cutAt) {
            steps->append({Step::Write, interval,
                           event(compact(openAiError(QStringLiteral("CUDA out of memory while generating."), QStringLiteral("server_error"), 500)))});
            steps->append({Step::Write, 0, done});
            steps->append({Step::End, 0, {}});
            break;
        }
        if (faults.contains(QStringLiteral("sse-error-field")) && i == cutAt) {
            steps->append({Step::Write, interval,
                           "error: " + compact(QJsonObject{{content, QStringLiteral("slot unavailable")}, {QStringLiteral("code"), 500}}) + eol + eol});
            steps->append({Step::End, 0, {}});
            break;
        }
        if (faults.contains(QStringLiteral("malformed")) && i == cutAt) {
            steps->append({Step::Write, interval, event(R"({"id":"x","choices":[{"index":0,"delta":{"content":"oops")")});
            steps->append({Step::Write, 0, done});
            steps->append({Step::End, 0, {}});
            break;
        }
        steps->append({Step::Write, i == 0 ? ttft : interval, paced[i]});
        if (i + 1 == paced.size()) {
            steps->append({Step::Write, 0, tail});
            if (!faults.contains(QStringLiteral("no-done")))
                steps->append({Step::Write, 0, done});
            steps->append({Step::End, 0, {}});
        }
    }
    if (paced.isEmpty()) {
        steps->append({Step::Write, ttft, tail});
        steps->append({Step::Write, 0, done});
        steps->append({Step::End, 0, {}});
    }
    ex->beginChunked(200, "text/event-stream; charset=utf-8", {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}});
    play(ex, steps, Pacing{drip, ex->intOption("x-fake-drip-ms", 0)});
}

// Deterministic unit vector for a text: SHA-256 in counter mode -> values in [-1, 1] -> normalized.
QJsonArray vectorFor(const QString &text, int dims)
{
    QVector<double> v(dims);
    QByteArray block;
    int used = 0;
    quint32 counter = 0;
    const QByteArray utf8 = text.toUtf8();
    for (int i = 0; i < dims; ++i) {
        if (used + 2 > block.size()) {
            QCryptographicHash h(QCryptographicHash::Sha256);
            h.addData(utf8);
            const quint32 c = qToLittleEndian(counter++);
            h.addData(QByteArrayView(reinterpret_cast<const char *>(&c), sizeof c));
            block = h.result();
            used = 0;
        }
        const quint16 raw = qFromLittleEndian<quint16>(block.constData() + used);
        used += 2;
        v[i] = raw / 32767.5 - 1.0;
    }
    double norm = 0;
    for (double x : v)
        norm += x * x;
    norm = std::sqrt(norm);
    QJsonArray out;
    for (double x : v)
        out.append(norm > 0 ? x / norm : 0.0);
    return out;
}

void handleEmbeddings(FakeServer *server, FakeExchange *ex, int *flakyCounter)
{
    const QSet<QString> faults = faultSet(ex);
    if (answerErrorFault(ex, faults, flakyCounter))
        return;
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(ex->request().body, &perr);
    if (perr.error != QJsonParseError::NoError || !doc.isObject()) {
        ex->reply(400, "application/json", R"({"code":20015,"message":"Invalid JSON body","data":null})");
        return;
    }
    const QJsonObject body = doc.object();
    QStringList inputs;
    const QJsonValue input = body.value(QStringLiteral("input"));
    if (input.isString())
        inputs << input.toString();
    else
        for (const QJsonValue &v : input.toArray())
            inputs << v.toString();
    if (inputs.isEmpty() || std::any_of(inputs.cbegin(), inputs.cend(), [](const QString &s) { return s.isEmpty(); })) {
        // SiliconFlow refuses empty input in its own error shape.
        ex->reply(400, "application/json", R"({"code":20015,"message":"input must not be empty","data":null})");
        return;
    }
    const int maxBatch = ex->intOption("x-fake-max-batch", 0);
    if (maxBatch > 0 && inputs.size() > maxBatch) {
        ex->reply(413, "application/json",
                  compact(openAiError(QStringLiteral("Too many inputs in one request."), QStringLiteral("invalid_request_error"), QJsonValue::Null)));
        return;
    }
    if (faults.contains(QStringLiteral("malformed"))) {
        ex->reply(200, "application/json", R"({"data":[{"index":0,"embedding":[0.1,)");
        return;
    }
    int dims = ex->intOption("x-fake-dimensions", server->options().embeddingDimensions);
    if (faults.contains(QStringLiteral("wrong-dims")))
        dims = std::max(1, dims / 2);
    int tokens = 0;
    QJsonArray data;
    for (qsizetype i = 0; i < inputs.size(); ++i) {
        tokens += int(tokenize(inputs[i]).size());
        data.append(QJsonObject{{QStringLiteral("object"), QStringLiteral("embedding")},
                                {QStringLiteral("index"), int(i)},
                                {QStringLiteral("embedding"), vectorFor(inputs[i], dims)}});
    }
    if (faults.contains(QStringLiteral("reorder"))) {
        QJsonArray reversed;
        for (qsizetype i = data.size() - 1; i >= 0; --i)
            reversed.append(data.at(i));
        data = reversed;
    }
    const QJsonObject out{{QStringLiteral("object"), QStringLiteral("list")},
                          {QStringLiteral("data"), data},
                          {QStringLiteral("model"), body.value(QStringLiteral("model")).toString(QStringLiteral("fake-embedding"))},
                          {QStringLiteral("usage"), QJsonObject{{QStringLiteral("prompt_tokens"), tokens}, {QStringLiteral("total_tokens"), tokens}}}};
    if (faults.contains(QStringLiteral("cut"))) {
        const QByteArray bytes = compact(out);
        ex->writeRaw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + QByteArray::number(bytes.size()) + "\r\n\r\n" +
                     bytes.left(bytes.size() / 2));
        ex->cut();
        return;
    }
    ex->reply(200, "application/json", compact(out));
}

} // namespace

void registerOpenAiRoutes(FakeServer &server)
{
    FakeServer *s = &server;
    auto flaky = std::make_shared<int>(0);
    auto serial = std::make_shared<quint64>(0);
    server.route("POST", QStringLiteral("/chat/completions"), [s, flaky, serial](FakeExchange *ex) { handleChat(s, ex, flaky.get(), serial.get()); });
    server.route("POST", QStringLiteral("/embeddings"), [s, flaky](FakeExchange *ex) { handleEmbeddings(s, ex, flaky.get()); });
    server.route("GET", QStringLiteral("/models"), [](FakeExchange *ex) {
        ex->reply(200, "application/json",
                  R"({"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"tianyi-fake"},)"
                  R"({"id":"fake-embedding","object":"model","owned_by":"tianyi-fake"}]})");
    });
}

} // namespace tianyi::fake
