#include "compat/floatpcm.h"

#include <QtEndian>
#include <algorithm>
#include <cmath>

namespace tianyi::olv {

std::optional<QByteArray> floatSamplesToPcm(const QJsonArray &samples, int maxSamples)
{
    if (samples.size() > maxSamples)
        return std::nullopt;
    QByteArray pcm(samples.size() * 2, Qt::Uninitialized);
    char *out = pcm.data();
    for (const QJsonValue &v : samples) {
        const double x = v.isDouble() ? v.toDouble() : 0.0;
        const double clamped = std::isfinite(x) ? std::clamp(x, -1.0, 1.0) : 0.0;
        qToLittleEndian<qint16>(qint16(std::lround(clamped * 32767.0)), out);
        out += 2;
    }
    return pcm;
}

} // namespace tianyi::olv
