// WAV header writer/parser (including GPT-SoVITS's streaming header with wrong sizes), the silence
// detector, the lip-sync volume envelope, and the multipart/form-data builder used by the ASR client.
#include <QtEndian>
#include <QtTest>
#include <cmath>
#include <tianyi/multipart.h>
#include <tianyi/wav.h>

using namespace tianyi;

namespace {

QByteArray tone(int sampleRate, int ms, double amplitude, double freq = 440.0)
{
    const int n = sampleRate * ms / 1000;
    QByteArray pcm(n * 2, Qt::Uninitialized);
    for (int i = 0; i < n; ++i) {
        const double v = amplitude * 32767.0 * std::sin(2 * M_PI * freq * i / sampleRate);
        qToLittleEndian(qint16(std::lround(v)), pcm.data() + 2 * i);
    }
    return pcm;
}

// The header api_v2 streams: written by Python's wave module for an empty file (RIFF size 36, data 0).
QByteArray gptSovitsStreamingHeader(int sampleRate)
{
    QByteArray h = wav::header(sampleRate, 1, 0);
    qToLittleEndian<quint32>(36, h.data() + 4);
    return h;
}

} // namespace

class TestWav : public QObject
{
    Q_OBJECT

private slots:
    void headerRoundTrip()
    {
        const QByteArray pcm = tone(32000, 100, 0.5);
        const QByteArray file = wav::file(pcm, 32000);
        QCOMPARE(file.size(), 44 + pcm.size());
        QVERIFY(file.startsWith("RIFF"));
        QCOMPARE(qFromLittleEndian<quint32>(file.constData() + 4), quint32(36 + pcm.size()));
        wav::HeaderInfo info;
        QCOMPARE(wav::parseHeader(file, &info), wav::HeaderStatus::Ok);
        QCOMPARE(info.format.sampleRate, 32000);
        QCOMPARE(info.format.channels, 1);
        QCOMPARE(info.format.bitsPerSample, 16);
        QVERIFY(info.format.isPcm16());
        QCOMPARE(info.dataOffset, 44);
        QCOMPARE(info.dataSize, qint64(pcm.size()));
        wav::Format fmt;
        QByteArray back;
        QString error;
        QVERIFY2(wav::parseFile(file, &fmt, &back, &error), qPrintable(error));
        QCOMPARE(back, pcm);
        QCOMPARE(fmt.sampleRate, 32000);
    }

    void streamingHeaderWithWrongSizes_data()
    {
        QTest::addColumn<int>("rate");
        QTest::newRow("v2 32000") << 32000;
        QTest::newRow("v3 24000") << 24000;
        QTest::newRow("v4 48000") << 48000;
    }
    void streamingHeaderWithWrongSizes()
    {
        QFETCH(int, rate);
        const QByteArray header = gptSovitsStreamingHeader(rate);
        const QByteArray pcm = tone(rate, 50, 0.3);
        const QByteArray stream = header + pcm;
        // Fed byte by byte, the parser asks for more until the data chunk header is complete.
        for (int n = 0; n < 44; ++n)
            QCOMPARE(wav::parseHeader(stream.left(n), nullptr), wav::HeaderStatus::NeedMoreData);
        wav::HeaderInfo info;
        QCOMPARE(wav::parseHeader(stream, &info), wav::HeaderStatus::Ok);
        QCOMPARE(info.format.sampleRate, rate);
        QCOMPARE(info.format.channels, 1);
        QCOMPARE(info.format.bitsPerSample, 16);
        QCOMPARE(info.dataSize, qint64(-1)); // unknown: read until EOF
        // As a "whole file" it is read to the end too.
        QByteArray back;
        QVERIFY(wav::parseFile(stream, nullptr, &back));
        QCOMPARE(back, pcm);
    }

    void extraChunksAndGarbage()
    {
        QByteArray file = wav::file(tone(16000, 10, 0.5), 16000);
        // Insert a LIST chunk between fmt and data.
        QByteArray list = "LIST";
        QByteArray size(4, '\0');
        qToLittleEndian<quint32>(5, size.data());
        list += size + "INFOx" + QByteArray(1, '\0'); // odd size, padded
        file.insert(36, list);
        wav::HeaderInfo info;
        QCOMPARE(wav::parseHeader(file, &info), wav::HeaderStatus::Ok);
        QCOMPARE(info.dataOffset, 44 + list.size());
        QString error;
        QCOMPARE(wav::parseHeader("<html>not audio</html>", nullptr, &error), wav::HeaderStatus::Invalid);
        QVERIFY(!error.isEmpty());
        QByteArray truncated = wav::file(tone(16000, 100, 0.5), 16000);
        truncated.chop(100);
        QVERIFY(!wav::parseFile(truncated, nullptr, nullptr, &error));
        QVERIFY(error.contains(QStringLiteral("truncated")));
    }

    void silenceDetector()
    {
        QVERIFY(wav::isSilent(QByteArray()));
        QVERIFY(wav::isSilent(QByteArray(32000, '\0')));   // api_v2's second of silence at 16 kHz
        QVERIFY(wav::isSilent(tone(16000, 100, 0.002)));   // faint noise (about -54 dBFS)
        QVERIFY(!wav::isSilent(tone(16000, 100, 0.1)));
        QByteArray oneClick(2000, '\0');
        qToLittleEndian<qint16>(-3000, oneClick.data() + 1000);
        QVERIFY(!wav::isSilent(oneClick));
        QCOMPARE(wav::peakAmplitude(oneClick), 3000);
    }

    void envelope()
    {
        const int rate = 24000;
        const QVector<float> silent = wav::volumeEnvelope(QByteArray(rate * 2, '\0'), rate); // 1 s
        QCOMPARE(silent.size(), 50); // 20 ms windows
        for (float v : silent)
            QCOMPARE(v, 0.f);
        const QVector<float> loud = wav::volumeEnvelope(tone(rate, 1000, 1.0), rate);
        QCOMPARE(loud.size(), 50);
        for (float v : loud)
            QVERIFY2(v > 0.97f && v <= 1.0f, qPrintable(QString::number(v)));
        // -20 dB lands at 2/3 of the scale, -60 dB and below at 0.
        const QVector<float> speechy = wav::volumeEnvelope(tone(rate, 200, 0.1), rate);
        QVERIFY(std::abs(speechy.first() - 2.f / 3.f) < 0.02f);
        QCOMPARE(wav::volumeEnvelope(tone(rate, 100, 0.0005), rate).first(), 0.f);
        // A partial last window counts; odd pieces through the tracker give the same values.
        const QByteArray pcm = tone(rate, 130, 0.5);
        const QVector<float> whole = wav::volumeEnvelope(pcm, rate);
        QCOMPARE(whole.size(), 7);
        wav::EnvelopeTracker tracker(rate);
        QVector<float> pieces;
        for (int pos = 0; pos < pcm.size(); pos += 777)
            pieces += tracker.feed(pcm.mid(pos, 777));
        pieces += tracker.flush();
        QCOMPARE(pieces, whole);
    }

    void multipartRoundTrip()
    {
        multipart::Builder b;
        const QByteArray file = wav::file(tone(16000, 20, 0.5), 16000);
        b.addFile("file", "audio.wav", "audio/wav", file);
        b.addField("model", "FunAudioLLM/SenseVoiceSmall");
        b.addField("language", "zh");
        QVERIFY(b.contentType().startsWith("multipart/form-data; boundary="));
        QVERIFY(!b.contentType().contains('"')); // unquoted boundary
        QString error;
        const auto parts = multipart::parse(b.contentType(), b.body(), &error);
        QVERIFY2(parts.has_value(), qPrintable(error));
        QCOMPARE(parts->size(), 3);
        QCOMPARE(parts->at(0).name, QByteArray("file"));
        QCOMPARE(parts->at(0).fileName, QByteArray("audio.wav"));
        QCOMPARE(parts->at(0).contentType, QByteArray("audio/wav"));
        QCOMPARE(parts->at(0).data, file);
        QCOMPARE(parts->at(1).data, QByteArray("FunAudioLLM/SenseVoiceSmall"));
        QVERIFY(!multipart::parse("application/json", b.body()).has_value());
        QVERIFY(!multipart::parse(b.contentType(), b.body().left(b.body().size() / 2)).has_value());
    }

    // A ';' or an escaped quote inside a quoted name or file name is part of it (found by fuzz_multipart:
    // the parser used to split every parameter at ';').
    void multipartQuotedParameters()
    {
        multipart::Builder b("b0undary");
        b.addFile("a;b", "x\\\"; name=evil.wav", "audio/wav", "data");
        b.addField("q\\", "v");
        const auto parts = multipart::parse(b.contentType(), b.body());
        QVERIFY(parts.has_value());
        QCOMPARE(parts->size(), 2);
        QCOMPARE(parts->at(0).name, QByteArray("a;b"));
        QCOMPARE(parts->at(0).fileName, QByteArray("x\\\"; name=evil.wav"));
        QCOMPARE(parts->at(1).name, QByteArray("q\\"));
        const auto raw = multipart::parse("multipart/form-data; boundary=\"x;y\"",
                                          "--x;y\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a;b.wav\"\r\n\r\nz\r\n--x;y--");
        QVERIFY(raw.has_value());
        QCOMPARE(raw->at(0).fileName, QByteArray("a;b.wav"));
    }
};

QTEST_GUILESS_MAIN(TestWav)
#include "tst_wav.moc"
