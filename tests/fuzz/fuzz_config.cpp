// The INI-style config file (server/src/base/config.cpp, loadConfig): the bytes are the file, read
// from disk as the server reads it at start-up; byte 0 chooses whether the lines after a "\n--env--\n"
// marker are TIANYI_* environment entries instead. Either a config or an error naming the line comes
// back, and a loaded config renders (renderConfig, what --print-config shows).

#include "fuzzsupport.h"

#include "base/config.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace tianyi;
    static QTemporaryDir dir(QDir::tempPath() + QStringLiteral("/tianyi-fuzz-config-XXXXXX"));
    static const QString path = dir.filePath(QStringLiteral("tianyi.conf"));

    fuzz::Input in(data, size);
    const bool withEnvironment = in.byte() & 1;
    QByteArray file = in.rest();
    QStringList environment;
    if (withEnvironment) {
        const qsizetype marker = file.indexOf("\n--env--\n");
        if (marker >= 0) {
            for (const QByteArray &line : file.mid(marker + 9).split('\n'))
                environment << QString::fromUtf8(line);
            file.truncate(marker);
        }
    }
    {
        QFile f(path);
        FUZZ_CHECK(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(file);
    }
    const ConfigLoadResult result = loadConfig(path, environment);
    FUZZ_CHECK(result.config.has_value() != !result.error.isEmpty());
    if (!result.config)
        return 0;
    const QString rendered = renderConfig(*result.config);
    FUZZ_CHECK(!rendered.isEmpty());
    return 0;
}
