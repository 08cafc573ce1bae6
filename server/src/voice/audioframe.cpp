#include "voice/audioframe.h"

#include <algorithm>
#include <cmath>

namespace tianyi::voice {

double frameLevelDbfs(const FrameSamples &frame)
{
    double sum = 0.0;
    for (qint16 s : frame)
        sum += double(s) * s;
    if (sum <= 0.0)
        return kDigitalSilenceDbfs;
    const double rms = std::sqrt(sum / kFrameSamples);
    return std::max(kDigitalSilenceDbfs, 20.0 * std::log10(rms / 32768.0));
}

} // namespace tianyi::voice
