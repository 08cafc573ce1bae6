// The 16-byte binary audio header of the chat socket: exact bytes, round trip, and rejection of
// frames a client must not accept.
#include "tianyi/chatprotocol.h"

#include <QtTest>

using namespace tianyi::chat;

class TestAudioFrame : public QObject
{
    Q_OBJECT

private slots:
    void exactBytes()
    {
        AudioFrameHeader h;
        h.turn = 0x01020304;
        h.sentence = 0x0506;
        h.seq = 0x0708;
        h.sampleRate = 32000;
        h.last = true;
        const QByteArray frame = encodeAudioFrame(h, QByteArray("\x01\x02\x03\x04", 4));
        QCOMPARE(frame.size(), AudioFrameHeader::kSize + 4);
        const QByteArray expected("AU\x01\x01"
                                  "\x04\x03\x02\x01"
                                  "\x06\x05\x08\x07"
                                  "\x00\x7d\x00\x00"
                                  "\x01\x02\x03\x04",
                                  20);
        QCOMPARE(frame, expected);
    }

    void roundTrip_data()
    {
        QTest::addColumn<quint32>("turn");
        QTest::addColumn<int>("sentence");
        QTest::addColumn<int>("seq");
        QTest::addColumn<quint32>("rate");
        QTest::addColumn<bool>("last");
        QTest::addColumn<int>("samples");
        QTest::newRow("first") << quint32(1) << 0 << 0 << quint32(32000) << false << 640;
        QTest::newRow("last chunk") << quint32(42) << 3 << 17 << quint32(24000) << true << 1;
        QTest::newRow("extremes") << quint32(0xFFFFFFFF) << 65535 << 65535 << quint32(48000) << true << 4800;
        QTest::newRow("no samples") << quint32(5) << 1 << 2 << quint32(16000) << true << 0;
    }
    void roundTrip()
    {
        QFETCH(quint32, turn);
        QFETCH(int, sentence);
        QFETCH(int, seq);
        QFETCH(quint32, rate);
        QFETCH(bool, last);
        QFETCH(int, samples);
        AudioFrameHeader h;
        h.turn = turn;
        h.sentence = quint16(sentence);
        h.seq = quint16(seq);
        h.sampleRate = rate;
        h.last = last;
        QByteArray pcm(samples * 2, '\0');
        for (int i = 0; i < pcm.size(); ++i)
            pcm[i] = char(i * 7);
        QByteArray decodedPcm("garbage");
        const auto d = decodeAudioFrame(encodeAudioFrame(h, pcm), &decodedPcm);
        QVERIFY(d.has_value());
        QCOMPARE(d->turn, turn);
        QCOMPARE(int(d->sentence), sentence);
        QCOMPARE(int(d->seq), seq);
        QCOMPARE(d->sampleRate, rate);
        QCOMPARE(d->last, last);
        QCOMPARE(decodedPcm, pcm);
    }

    void rejectsBadFrames()
    {
        AudioFrameHeader h;
        h.turn = 1;
        h.sampleRate = 32000;
        const QByteArray good = encodeAudioFrame(h, QByteArray(8, '\x11'));
        QVERIFY(decodeAudioFrame(good).has_value());

        QVERIFY(!decodeAudioFrame(QByteArray()).has_value());
        QVERIFY(!decodeAudioFrame(good.left(AudioFrameHeader::kSize - 1)).has_value()); // short header
        QByteArray magic = good;
        magic[0] = 'X';
        QVERIFY(!decodeAudioFrame(magic).has_value());
        QByteArray magic2 = good;
        magic2[1] = 'u';
        QVERIFY(!decodeAudioFrame(magic2).has_value());
        QByteArray version = good;
        version[2] = 2;
        QVERIFY(!decodeAudioFrame(version).has_value());
        QByteArray version0 = good;
        version0[2] = 0;
        QVERIFY(!decodeAudioFrame(version0).has_value());
        QVERIFY(!decodeAudioFrame(good + 'x').has_value()); // odd PCM length: not s16
        QVERIFY(!decodeAudioFrame(QByteArray("{\"type\":\"audio\"}")).has_value()); // JSON text is no frame
    }

    void flagsOtherThanLastAreIgnored()
    {
        AudioFrameHeader h;
        h.turn = 9;
        QByteArray frame = encodeAudioFrame(h, {});
        frame[3] = char(0xFE); // bit0 clear, other (reserved) bits set
        auto d = decodeAudioFrame(frame);
        QVERIFY(d.has_value());
        QVERIFY(!d->last);
        frame[3] = char(0xFF);
        d = decodeAudioFrame(frame);
        QVERIFY(d.has_value());
        QVERIFY(d->last);
    }
};

QTEST_GUILESS_MAIN(TestAudioFrame)
#include "tst_audioframe.moc"
