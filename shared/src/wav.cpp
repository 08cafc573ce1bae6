#include "tianyi/wav.h"

#include <QtEndian>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tianyi::wav {

namespace {

void putU32(char *p, quint32 v) { qToLittleEndian<quint32>(v, p); }
void putU16(char *p, quint16 v) { qToLittleEndian<quint16>(v, p); }
quint32 getU32(const char *p) { return qFromLittleEndian<quint32>(p); }
quint16 getU16(const char *p) { return qFromLittleEndian<quint16>(p); }

void setError(QString *error, const QString &text)
{
    if (error)
        *error = text;
}

} // namespace

QByteArray header(int sampleRate, int channels, quint32 dataBytes, int bitsPerSample)
{
    QByteArray h(44, '\0');
    char *p = h.data();
    const quint32 blockAlign = quint32(channels * bitsPerSample / 8);
    std::memcpy(p, "RIFF", 4);
    putU32(p + 4, 36 + dataBytes);
    std::memcpy(p + 8, "WAVE", 4);
    std::memcpy(p + 12, "fmt ", 4);
    putU32(p + 16, 16);
    putU16(p + 20, 1);
    putU16(p + 22, quint16(channels));
    putU32(p + 24, quint32(sampleRate));
    putU32(p + 28, quint32(sampleRate) * blockAlign);
    putU16(p + 32, quint16(blockAlign));
    putU16(p + 34, quint16(bitsPerSample));
    std::memcpy(p + 36, "data", 4);
    putU32(p + 40, dataBytes);
    return h;
}

QByteArray file(const QByteArray &pcm, int sampleRate, int channels)
{
    return header(sampleRate, channels, quint32(pcm.size())) + pcm;
}

HeaderStatus parseHeader(const QByteArray &bytes, HeaderInfo *info, QString *error)
{
    const char *d = bytes.constData();
    const qint64 n = bytes.size();
    if (n < 12) {
        // Reject early what cannot become a WAV header.
        if (n >= 4 && std::memcmp(d, "RIFF", 4) != 0) {
            setError(error, QStringLiteral("not a WAV file (no RIFF tag)"));
            return HeaderStatus::Invalid;
        }
        return HeaderStatus::NeedMoreData;
    }
    if (std::memcmp(d, "RIFF", 4) != 0 || std::memcmp(d + 8, "WAVE", 4) != 0) {
        setError(error, QStringLiteral("not a WAV file (no RIFF/WAVE tags)"));
        return HeaderStatus::Invalid;
    }
    // The RIFF size (d+4) is ignored on purpose: GPT-SoVITS streaming writes a wrong one.
    Format fmt;
    bool haveFmt = false;
    qint64 pos = 12;
    for (int guard = 0; guard < 64; ++guard) {
        if (pos + 8 > n)
            return HeaderStatus::NeedMoreData;
        const char *id = d + pos;
        const quint32 size = getU32(d + pos + 4);
        if (std::memcmp(id, "data", 4) == 0) {
            if (!haveFmt) {
                setError(error, QStringLiteral("WAV data chunk before the fmt chunk"));
                return HeaderStatus::Invalid;
            }
            if (info) {
                info->format = fmt;
                info->dataOffset = int(pos + 8);
                info->dataSize = (size == 0 || size == 0xFFFFFFFFu) ? -1 : qint64(size);
            }
            return HeaderStatus::Ok;
        }
        const qint64 padded = qint64(size) + (size & 1);
        if (std::memcmp(id, "fmt ", 4) == 0) {
            if (size < 16) {
                setError(error, QStringLiteral("WAV fmt chunk too short (%1 bytes)").arg(size));
                return HeaderStatus::Invalid;
            }
            if (pos + 8 + 16 > n)
                return HeaderStatus::NeedMoreData;
            const char *f = d + pos + 8;
            fmt.audioFormat = getU16(f);
            fmt.channels = getU16(f + 2);
            fmt.sampleRate = int(getU32(f + 4));
            fmt.bitsPerSample = getU16(f + 14);
            if (fmt.audioFormat == 0xFFFE) { // WAVE_FORMAT_EXTENSIBLE: sub-format GUID starts with the format code
                if (size < 40)
                    fmt.audioFormat = 0;
                else if (pos + 8 + 40 > n)
                    return HeaderStatus::NeedMoreData;
                else
                    fmt.audioFormat = getU16(f + 24);
            }
            if (fmt.channels <= 0 || fmt.sampleRate <= 0 || fmt.bitsPerSample <= 0 || fmt.bitsPerSample % 8 != 0) {
                setError(error, QStringLiteral("WAV fmt chunk is invalid (rate %1, channels %2, bits %3)")
                                    .arg(fmt.sampleRate).arg(fmt.channels).arg(fmt.bitsPerSample));
                return HeaderStatus::Invalid;
            }
            haveFmt = true;
        }
        // Any other chunk (LIST, fact, ...) is skipped; a huge one would need its bytes first.
        if (padded > (qint64(1) << 24)) {
            setError(error, QStringLiteral("WAV chunk before the data is implausibly large (%1 bytes)").arg(size));
            return HeaderStatus::Invalid;
        }
        pos += 8 + padded;
    }
    setError(error, QStringLiteral("too many WAV chunks before the data chunk"));
    return HeaderStatus::Invalid;
}

bool parseFile(const QByteArray &bytes, Format *format, QByteArray *pcm, QString *error)
{
    HeaderInfo info;
    QString err;
    switch (parseHeader(bytes, &info, &err)) {
    case HeaderStatus::Invalid:
        setError(error, err);
        return false;
    case HeaderStatus::NeedMoreData:
        setError(error, QStringLiteral("WAV header is truncated (%1 bytes)").arg(bytes.size()));
        return false;
    case HeaderStatus::Ok:
        break;
    }
    const qint64 available = bytes.size() - info.dataOffset;
    qint64 take = available;
    if (info.dataSize >= 0) {
        if (info.dataSize > available) {
            setError(error, QStringLiteral("WAV data is truncated: %1 bytes announced, %2 present").arg(info.dataSize).arg(available));
            return false;
        }
        take = info.dataSize;
    }
    if (format)
        *format = info.format;
    if (pcm)
        *pcm = bytes.mid(info.dataOffset, take);
    return true;
}

int peakAmplitude(const QByteArray &pcm)
{
    const qsizetype count = pcm.size() / 2;
    const char *d = pcm.constData();
    int peak = 0;
    for (qsizetype i = 0; i < count; ++i) {
        const int s = std::abs(int(qFromLittleEndian<qint16>(d + 2 * i)));
        peak = std::max(peak, s);
    }
    return peak;
}

bool isSilent(const QByteArray &pcm, int threshold)
{
    const qsizetype count = pcm.size() / 2;
    const char *d = pcm.constData();
    for (qsizetype i = 0; i < count; ++i) {
        if (std::abs(int(qFromLittleEndian<qint16>(d + 2 * i))) > threshold)
            return false;
    }
    return true;
}

float envelopeValue(const char *pcm, int count)
{
    if (count <= 0)
        return 0.f;
    double sum = 0;
    for (int i = 0; i < count; ++i) {
        const double s = qFromLittleEndian<qint16>(pcm + 2 * i) / 32768.0;
        sum += s * s;
    }
    const double rms = std::sqrt(sum / count);
    if (rms <= 0)
        return 0.f;
    const double db = 20.0 * std::log10(rms * std::sqrt(2.0));
    return float(std::clamp((db - kEnvelopeFloorDb) / -kEnvelopeFloorDb, 0.0, 1.0));
}

QVector<float> volumeEnvelope(const QByteArray &pcm, int sampleRate, int windowMs)
{
    EnvelopeTracker tracker(sampleRate, windowMs);
    QVector<float> out = tracker.feed(pcm);
    out += tracker.flush();
    return out;
}

EnvelopeTracker::EnvelopeTracker(int sampleRate, int windowMs)
    : m_windowSamples(std::max(1, int(qint64(sampleRate) * windowMs / 1000)))
{
}

QVector<float> EnvelopeTracker::feed(const QByteArray &pcm)
{
    m_pending += pcm;
    QVector<float> out;
    const qsizetype windowBytes = qsizetype(m_windowSamples) * 2;
    qsizetype pos = 0;
    while (m_pending.size() - pos >= windowBytes) {
        out.append(envelopeValue(m_pending.constData() + pos, m_windowSamples));
        pos += windowBytes;
    }
    m_pending.remove(0, pos);
    return out;
}

QVector<float> EnvelopeTracker::flush()
{
    const int samples = int(m_pending.size() / 2);
    QVector<float> out;
    if (samples > 0)
        out.append(envelopeValue(m_pending.constData(), samples));
    m_pending.clear();
    return out;
}

} // namespace tianyi::wav
