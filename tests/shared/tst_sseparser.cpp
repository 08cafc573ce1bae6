// The incremental SSE parser: every deviation of the LLM servers in upstreams.md, every split point.
#include "tianyi/sseparser.h"

#include <QtTest>

using namespace tianyi;

namespace {

// "event|data|id|error" per event, data newlines shown as \n.
QStringList describe(const QList<SseEvent> &events)
{
    QStringList out;
    for (const SseEvent &e : events) {
        QString data = e.data;
        data.replace(QLatin1Char('\n'), QLatin1String("\\n"));
        QString error = e.error;
        error.replace(QLatin1Char('\n'), QLatin1String("\\n"));
        out << QStringLiteral("%1|%2|%3|%4").arg(e.event, data, e.id, error);
    }
    return out;
}

QList<SseEvent> parseWhole(const QByteArray &bytes)
{
    SseParser p;
    QList<SseEvent> events = p.feed(bytes);
    events += p.finish();
    return events;
}

// A stream with every feature at once: CRLF, LF, CR, comments, multi-line data, CJK text, an id,
// an event type, the error field, [DONE].
const QByteArray kSample =
    ": OPENROUTER PROCESSING\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\r\n\r\n"
    "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"你好，天依\"}}]}\n\n"
    "id: 42\n"
    "event: message\n"
    "data: line one\n"
    "data: line two 🎤\n"
    "\n"
    ": ping\r"
    "data: cr only\r\r"
    "error: {\"content\":\"slot unavailable\"}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}\r\n\r\n"
    "data: [DONE]\r\n\r\n";

} // namespace

class TestSseParser : public QObject
{
    Q_OBJECT

private slots:
    void deviations_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QStringList>("expected");

        QTest::newRow("data with a space") << QByteArray("data: {\"a\":1}\n\n") << QStringList{QStringLiteral("|{\"a\":1}||")};
        QTest::newRow("data without the space") << QByteArray("data:{\"a\":1}\n\n") << QStringList{QStringLiteral("|{\"a\":1}||")};
        QTest::newRow("only one space is removed") << QByteArray("data:  x\n\n") << QStringList{QStringLiteral("| x||")};
        QTest::newRow("comment lines") << QByteArray(": keep-alive\n\n: ping\ndata: x\n\n: bye\n")
                                       << QStringList{QStringLiteral("|x||")};
        QTest::newRow("CRLF line ends") << QByteArray("data: x\r\n\r\ndata: y\r\n\r\n") << QStringList{QStringLiteral("|x||"), QStringLiteral("|y||")};
        QTest::newRow("CR line ends") << QByteArray("data: x\r\rdata: y\r\r") << QStringList{QStringLiteral("|x||"), QStringLiteral("|y||")};
        QTest::newRow("mixed line ends") << QByteArray("data: x\r\n\ndata: y\n\r\ndata: z\r\r\n")
                                         << QStringList{QStringLiteral("|x||"), QStringLiteral("|y||"), QStringLiteral("|z||")};
        QTest::newRow("multi-line data") << QByteArray("data: a\ndata: b\ndata:\n\n") << QStringList{QStringLiteral("|a\\nb\\n||")};
        QTest::newRow("event type and id, id persists")
            << QByteArray("event: error\nid: 7\ndata: x\n\ndata: y\n\n")
            << QStringList{QStringLiteral("error|x|7|"), QStringLiteral("|y|7|")};
        QTest::newRow("error field of older llama.cpp")
            << QByteArray("error: {\"content\":\"slot unavailable\",\"code\":500}\n\n")
            << QStringList{QStringLiteral("|||{\"content\":\"slot unavailable\",\"code\":500}")};
        QTest::newRow("[DONE]") << QByteArray("data: [DONE]\n\n") << QStringList{QStringLiteral("|[DONE]||")};
        QTest::newRow("UTF-8 BOM at the start") << QByteArray("\xEF\xBB\xBF" "data: x\n\n") << QStringList{QStringLiteral("|x||")};
        QTest::newRow("field name alone") << QByteArray("data\n\n") << QStringList{QStringLiteral("|||")};
        QTest::newRow("blank lines alone dispatch nothing") << QByteArray("\n\n\r\n\r") << QStringList{};
        QTest::newRow("unknown fields ignored") << QByteArray("foo: bar\nretry: 1000\ndata: x\n\n") << QStringList{QStringLiteral("|x||")};
        QTest::newRow("event type without data is dropped and reset")
            << QByteArray("event: ping\n\ndata: x\n\n") << QStringList{QStringLiteral("|x||")};
        QTest::newRow("multibyte UTF-8") << QByteArray("data: 你好🎤\n\n") << QStringList{QStringLiteral("|你好🎤||")};
        QTest::newRow("EOF without the final blank line") << QByteArray("data: x\n\ndata: last") << QStringList{QStringLiteral("|x||"), QStringLiteral("|last||")};
    }

    void deviations()
    {
        QFETCH(QByteArray, input);
        QFETCH(QStringList, expected);
        QCOMPARE(describe(parseWhole(input)), expected);
    }

    void everySplitPointGivesTheSameEvents()
    {
        const QList<SseEvent> whole = parseWhole(kSample);
        QCOMPARE(whole.size(), 7);
        QCOMPARE(whole[1].data, QStringLiteral("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"你好，天依\"}}]}"));
        QCOMPARE(whole[2].data, QStringLiteral("line one\nline two 🎤"));
        QCOMPARE(whole[2].id, QStringLiteral("42"));
        QCOMPARE(whole[2].event, QStringLiteral("message"));
        QCOMPARE(whole[3].data, QStringLiteral("cr only"));
        QCOMPARE(whole[4].error, QStringLiteral("{\"content\":\"slot unavailable\"}"));
        QCOMPARE(whole[6].data, QStringLiteral("[DONE]"));
        // Two pieces, every split point (mid-line, mid-CRLF, mid-UTF-8 sequence).
        for (qsizetype i = 0; i <= kSample.size(); ++i) {
            SseParser p;
            QList<SseEvent> events = p.feed(kSample.left(i));
            events += p.feed(kSample.mid(i));
            events += p.finish();
            QVERIFY2(events == whole, qPrintable(QStringLiteral("split at %1").arg(i)));
        }
        // Three pieces, every pair of split points.
        for (qsizetype i = 0; i <= kSample.size(); i += 3) {
            for (qsizetype j = i; j <= kSample.size(); ++j) {
                SseParser p;
                QList<SseEvent> events = p.feed(kSample.left(i));
                events += p.feed(kSample.mid(i, j - i));
                events += p.feed(kSample.mid(j));
                events += p.finish();
                if (events != whole)
                    QFAIL(qPrintable(QStringLiteral("split at %1 and %2").arg(i).arg(j)));
            }
        }
        // One byte at a time.
        SseParser p;
        QList<SseEvent> events;
        for (char c : kSample)
            events += p.feed(QByteArrayView(&c, 1));
        events += p.finish();
        QVERIFY(events == whole);
    }

    void eventsArriveAsSoonAsTheirBlankLineDoes()
    {
        SseParser p;
        QVERIFY(p.feed("data: a\n").isEmpty());
        QCOMPARE(p.feed("\n").size(), 1);
        // A CR ending the event is enough; the LF that may follow belongs to it.
        QCOMPARE(p.feed("data: b\r\r").size(), 1);
        QVERIFY(p.feed("\n").isEmpty());
        QCOMPARE(p.feed("data: c\n\n").size(), 1);
    }

    void oversizeEventIsAnErrorNotUnboundedMemory_data()
    {
        QTest::addColumn<QList<QByteArray>>("pieces");
        const QByteArray big(300, 'x');
        QTest::newRow("one long line in one read") << QList<QByteArray>{"data: " + big + "\n\n"};
        QTest::newRow("one long line over many reads") << QList<QByteArray>{"data: ", big.left(100), big.mid(100, 100), big.mid(200), "\n\n"};
        QTest::newRow("long line without end") << QList<QByteArray>{"data: " + big};
        QTest::newRow("many short data lines") << QList<QByteArray>{QByteArray("data: 0123456789\n").repeated(30) + "\n"};
        QTest::newRow("long comment line") << QList<QByteArray>{": " + big + "\n"};
    }

    void oversizeEventIsAnErrorNotUnboundedMemory()
    {
        QFETCH(QList<QByteArray>, pieces);
        SseParser p(200);
        QList<SseEvent> events = p.feed("data: small\n\n");
        QCOMPARE(events.size(), 1);
        for (const QByteArray &piece : pieces)
            events += p.feed(piece);
        events += p.finish();
        QVERIFY(p.hasError());
        QVERIFY(p.errorString().contains(QLatin1String("200")));
        QCOMPARE(events.size(), 1);
        // Stays in error: nothing more comes out.
        QVERIFY(p.feed("data: more\n\n").isEmpty());
        p.reset();
        QVERIFY(!p.hasError());
        QCOMPARE(p.feed("data: again\n\n").size(), 1);
    }

    void eventAtTheCapPasses()
    {
        // The cap counts the bytes of the event's lines ("data:" included, line ends not).
        SseParser p(100);
        const QList<SseEvent> events = p.feed("data:" + QByteArray(95, 'y') + "\r\n\r\n");
        QVERIFY(!p.hasError());
        QCOMPARE(events.size(), 1);
        QCOMPARE(events[0].data.size(), 95);
        SseParser q(100);
        QVERIFY(q.feed("data:" + QByteArray(96, 'y') + "\r\n\r\n").isEmpty());
        QVERIFY(q.hasError());
    }

    void retryFieldIsRemembered()
    {
        SseParser p;
        p.feed("retry: 2500\n\nretry: x\n\n");
        QCOMPARE(p.retryMs(), 2500);
    }
};

QTEST_GUILESS_MAIN(TestSseParser)
#include "tst_sseparser.moc"
