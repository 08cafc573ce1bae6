#include "tianyi/chatprotocol.h"

#include <QtEndian>

namespace tianyi::chat {

QByteArray encodeAudioFrame(const AudioFrameHeader &header, const QByteArray &pcm)
{
    QByteArray out(AudioFrameHeader::kSize, '\0');
    uchar *p = reinterpret_cast<uchar *>(out.data());
    p[0] = 'A';
    p[1] = 'U';
    p[2] = AudioFrameHeader::kVersion;
    p[3] = header.last ? 1 : 0;
    qToLittleEndian<quint32>(header.turn, p + 4);
    qToLittleEndian<quint16>(header.sentence, p + 8);
    qToLittleEndian<quint16>(header.seq, p + 10);
    qToLittleEndian<quint32>(header.sampleRate, p + 12);
    out += pcm;
    return out;
}

std::optional<AudioFrameHeader> decodeAudioFrame(const QByteArray &message, QByteArray *pcm)
{
    if (message.size() < AudioFrameHeader::kSize)
        return std::nullopt;
    const uchar *p = reinterpret_cast<const uchar *>(message.constData());
    if (p[0] != 'A' || p[1] != 'U' || p[2] != AudioFrameHeader::kVersion)
        return std::nullopt;
    if ((message.size() - AudioFrameHeader::kSize) % 2 != 0)
        return std::nullopt; // s16 samples only
    AudioFrameHeader h;
    h.last = (p[3] & 1) != 0;
    h.turn = qFromLittleEndian<quint32>(p + 4);
    h.sentence = qFromLittleEndian<quint16>(p + 8);
    h.seq = qFromLittleEndian<quint16>(p + 10);
    h.sampleRate = qFromLittleEndian<quint32>(p + 12);
    if (pcm)
        *pcm = message.mid(AudioFrameHeader::kSize);
    return h;
}

} // namespace tianyi::chat
