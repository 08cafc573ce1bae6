// A GPT-SoVITS reply read by the real GptSovitsRequest (server/src/upstream/gptsovitsrequest.cpp):
// a fake QNetworkAccessManager answers its POST with the fuzz bytes, delivered in network-sized
// pieces, streaming (a WAV header with wrong sizes, then PCM) or whole-file mode, with a 2xx status
// or an error status whose body is classified. The PCM it hands on is turned into the lip-sync
// envelope at the announced sample rate, as the chat session does for JSON audio. The WAV readers
// (shared/src/wav.cpp) also get the bytes directly.
// Input: byte 0 = mode (bit 0 streaming, bits 1..3 status), byte 1 = seed of the piece sizes, rest = body.

#include "fuzzsupport.h"

#include "upstream/gptsovitsrequest.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTimer>
#include <tianyi/wav.h>

namespace {

using namespace tianyi;

constexpr int kStatuses[] = {200, 200, 200, 206, 400, 422, 429, 500};

// Delivers a prepared body piece by piece from the event loop, then finishes.
class FakeReply : public QNetworkReply
{
public:
    FakeReply(const QNetworkRequest &request, int status, QList<QByteArray> pieces, QObject *parent)
        : QNetworkReply(parent)
        , m_pieces(std::move(pieces))
    {
        setRequest(request);
        setUrl(request.url());
        setOperation(QNetworkAccessManager::PostOperation);
        setAttribute(QNetworkRequest::HttpStatusCodeAttribute, status);
        if (status == 429 && !m_pieces.isEmpty())
            setRawHeader("retry-after", m_pieces.first().left(32));
        open(QIODevice::ReadOnly | QIODevice::Unbuffered);
        QTimer::singleShot(0, this, &FakeReply::next);
    }

    void abort() override
    {
        m_aborted = true;
        m_pieces.clear();
    }
    bool isSequential() const override { return true; }
    qint64 bytesAvailable() const override { return m_buffer.size() + QNetworkReply::bytesAvailable(); }

protected:
    qint64 readData(char *data, qint64 maxSize) override
    {
        const qint64 n = qMin<qint64>(maxSize, m_buffer.size());
        memcpy(data, m_buffer.constData(), size_t(n));
        m_buffer.remove(0, n);
        return n;
    }

private:
    void next()
    {
        if (m_aborted)
            return;
        if (m_pieces.isEmpty()) {
            setFinished(true);
            emit finished();
            return;
        }
        m_buffer += m_pieces.takeFirst();
        emit readyRead();
        if (!m_aborted)
            QTimer::singleShot(0, this, &FakeReply::next);
    }

    QList<QByteArray> m_pieces;
    QByteArray m_buffer;
    bool m_aborted = false;
};

class FakeNetwork : public QNetworkAccessManager
{
public:
    int status = 200;
    QList<QByteArray> pieces;

protected:
    QNetworkReply *createRequest(Operation, const QNetworkRequest &request, QIODevice *) override
    {
        return new FakeReply(request, status, pieces, this);
    }
};

void readDirectly(const QByteArray &bytes)
{
    wav::HeaderInfo info;
    if (wav::parseHeader(bytes, &info) == wav::HeaderStatus::Ok)
        FUZZ_CHECK(info.dataOffset >= 0 && info.dataOffset <= bytes.size() && info.dataSize >= -1);
    wav::Format format;
    QByteArray pcm;
    if (wav::parseFile(bytes, &format, &pcm)) {
        FUZZ_CHECK(pcm.size() <= bytes.size());
        (void)wav::peakAmplitude(pcm);
        (void)wav::isSilent(pcm);
        (void)wav::durationMs(pcm.size(), format.sampleRate, format.channels);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz::ensureApplication();
    fuzz::Input in(data, size);
    const uint8_t mode = in.byte();
    const uint8_t seed = in.byte();
    const QByteArray body = in.rest();
    readDirectly(body);

    FakeNetwork network;
    network.status = kStatuses[(mode >> 1) & 7];
    network.pieces = fuzz::pieces(body, seed, 512);
    GptSovitsRequest::Options options;
    options.streaming = mode & 1;
    TtsRequest request;
    request.text = QStringLiteral("你好");
    GptSovitsRequest tts(&network, QUrl(QStringLiteral("http://gpt-sovits.invalid:9880")), request, options);

    int sampleRate = -1;
    int outcomes = 0;
    qsizetype delivered = 0;
    QObject::connect(&tts, &GptSovitsRequest::format, [&](int rate, int channels) {
        FUZZ_CHECK(sampleRate < 0 && channels == 1);
        sampleRate = rate;
    });
    QObject::connect(&tts, &GptSovitsRequest::pcm, [&](const QByteArray &pcm) {
        FUZZ_CHECK(sampleRate >= 0 && outcomes == 0 && pcm.size() % 2 == 0);
        delivered += pcm.size();
        (void)wav::volumeEnvelope(pcm, sampleRate);
    });
    QObject::connect(&tts, &GptSovitsRequest::finished, [&]() { ++outcomes; });
    QObject::connect(&tts, &GptSovitsRequest::failed, [&](const UpstreamError &error) {
        FUZZ_CHECK(!error.message.isEmpty());
        ++outcomes;
    });
    tts.start();
    while (outcomes == 0)
        QCoreApplication::processEvents(QEventLoop::AllEvents);
    FUZZ_CHECK(outcomes == 1 && delivered <= body.size());
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    return 0;
}
