#pragma once
// Helpers shared by the fuzz targets: a property check that fails loudly (libFuzzer records a crash
// artifact, the corpus replay test fails), a Qt application for targets that need an event loop,
// and a reader that takes parameters off the front of the input.

#include <QByteArray>
#include <QCoreApplication>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// A property of the parser that must hold for every input (beyond "does not crash").
#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace tianyi::fuzz {

// Once per process; the Qt objects some parsers use (event loop, timers, QNetworkReply) need it.
inline void ensureApplication()
{
    if (QCoreApplication::instance())
        return;
    static int argc = 1;
    static char name[] = "tianyi-fuzz";
    static char *argv[] = {name, nullptr};
    static QCoreApplication app(argc, argv);
}

// Reads parameters (one byte each) off the front of the input; what is left is the payload.
class Input
{
public:
    Input(const uint8_t *data, size_t size) : m_data(data), m_size(size) {}

    uint8_t byte()
    {
        if (m_size == 0)
            return 0;
        --m_size;
        return *m_data++;
    }
    QByteArray rest() const { return QByteArray(reinterpret_cast<const char *>(m_data), qsizetype(m_size)); }

private:
    const uint8_t *m_data;
    size_t m_size;
};

// Cuts `bytes` into pieces whose sizes come from `seed` (1..maxPiece bytes), as a network delivers them.
inline QList<QByteArray> pieces(const QByteArray &bytes, uint8_t seed, int maxPiece = 64)
{
    QList<QByteArray> out;
    uint32_t state = seed * 2654435761u + 1;
    for (qsizetype pos = 0; pos < bytes.size();) {
        state = state * 1103515245u + 12345u;
        const qsizetype n = 1 + qsizetype((state >> 16) % uint32_t(maxPiece));
        out.append(bytes.mid(pos, n));
        pos += n;
    }
    return out;
}

} // namespace tianyi::fuzz
