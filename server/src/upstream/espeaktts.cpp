#include "upstream/espeaktts.h"

#include "base/logging.h"
#include "core/workerpool.h"

#include <QDir>
#include <QFileInfo>
#include <QMutex>
#include <QMutexLocker>
#include <QPointer>
#include <QtEndian>
#include <atomic>
#include <memory>

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>

namespace tianyi {

namespace {

// espeak-ng's state is global to the process: so is ours. Everything below `mutex` is only touched
// with it held; the callback runs synchronously inside espeak_ng_Synthesize on the locking thread.
struct Engine {
    QMutex mutex;
    bool ok = false;
    QString error;
    QString version;
    QString dataPath;
    std::atomic<int> sampleRate{0};
    std::atomic<bool> mandarin{false};
    QByteArray *sink = nullptr;
    const std::atomic<bool> *cancel = nullptr;
};

Engine &engine()
{
    static Engine e;
    return e;
}

int onSynth(short *wav, int numSamples, espeak_EVENT *)
{
    Engine &e = engine();
    if (!e.sink)
        return 1;
    if (wav && numSamples > 0) {
        const qsizetype start = e.sink->size();
        e.sink->resize(start + qsizetype(numSamples) * 2);
        char *d = e.sink->data() + start;
        for (int i = 0; i < numSamples; ++i)
            qToLittleEndian<qint16>(wav[i], d + 2 * i);
    }
    return e.cancel && e.cancel->load() ? 1 : 0;
}

QString statusText(espeak_ng_STATUS status)
{
    char buf[512] = {};
    espeak_ng_GetStatusCodeMessage(status, buf, sizeof buf);
    return QString::fromLocal8Bit(buf).trimmed();
}

// Points espeak-ng at a data directory and says whether it holds the phoneme tables.
bool tryDataPath(const QString &candidate, QString *resolved)
{
    // espeak-ng silently falls back to its default path when the given one does not exist: check first.
    if (!candidate.isEmpty() && !QFileInfo::exists(QDir(candidate).filePath(QStringLiteral("phontab")))
        && !QFileInfo::exists(QDir(candidate).filePath(QStringLiteral("espeak-ng-data/phontab")))) {
        *resolved = candidate;
        return false;
    }
    const QByteArray c = QFile::encodeName(candidate);
    espeak_ng_InitializePath(candidate.isEmpty() ? nullptr : c.constData());
    const char *path = nullptr;
    espeak_Info(&path);
    const QString p = path ? QFile::decodeName(path) : QString();
    *resolved = p;
    return !p.isEmpty() && QFileInfo::exists(QDir(p).filePath(QStringLiteral("phontab")));
}

// Called with the mutex held.
void initLocked(const QString &explicitPath)
{
    Engine &e = engine();
    if (e.ok)
        return; // initialized once for the process; a failed attempt may be retried (data installed later)
    e.error.clear();

    QStringList candidates;
    if (!explicitPath.isEmpty()) {
        candidates << explicitPath;
    } else {
        const QString env = qEnvironmentVariable("ESPEAK_DATA_PATH");
        if (!env.isEmpty())
            candidates << env;
        candidates << QString(); // the path compiled into libespeak-ng
        candidates << QStringLiteral("/usr/lib/x86_64-linux-gnu/espeak-ng-data") << QStringLiteral("/usr/lib/aarch64-linux-gnu/espeak-ng-data")
                   << QStringLiteral("/usr/share/espeak-ng-data") << QStringLiteral("/usr/local/share/espeak-ng-data");
    }
    QString resolved;
    QStringList tried;
    bool found = false;
    for (const QString &c : candidates) {
        if (tryDataPath(c, &resolved)) {
            found = true;
            break;
        }
        tried << (resolved.isEmpty() ? c : resolved);
    }
    if (!found) {
        tried.removeDuplicates();
        e.error = QStringLiteral("espeak-ng data not found (looked in %1): install the espeak-ng-data package or set ESPEAK_DATA_PATH")
                      .arg(tried.join(QStringLiteral(", ")));
        return;
    }
    e.dataPath = resolved;

    espeak_ng_ERROR_CONTEXT context = nullptr;
    espeak_ng_STATUS status = espeak_ng_Initialize(&context);
    espeak_ng_ClearErrorContext(&context);
    if (status != ENS_OK) {
        e.error = QStringLiteral("espeak-ng failed to initialize with data %1: %2").arg(resolved, statusText(status));
        return;
    }
    status = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 100, nullptr);
    if (status != ENS_OK) {
        e.error = QStringLiteral("espeak-ng output setup failed: %1").arg(statusText(status));
        return;
    }
    espeak_SetSynthCallback(onSynth);
    status = espeak_ng_SetVoiceByName("en");
    if (status != ENS_OK) {
        e.error = QStringLiteral("espeak-ng has no English voice in %1: %2").arg(resolved, statusText(status));
        return;
    }
    e.mandarin = espeak_ng_SetVoiceByName(EspeakTtsProvider::kMandarinVoice) == ENS_OK;
    e.sampleRate = espeak_ng_GetSampleRate();
    e.version = QString::fromLatin1(espeak_Info(nullptr));
    e.ok = true;
    if (!e.mandarin)
        qCWarning(lcTts).noquote() << "espeak-ng in" << resolved << "has no Mandarin voice (" << EspeakTtsProvider::kMandarinVoice << "): Chinese text will be read with the English voice";
    qCInfo(lcTts).noquote() << "espeak-ng" << e.version << "ready, data" << resolved << "sample rate" << e.sampleRate.load();
}

struct SynthResult {
    QByteArray pcm;
    int sampleRate = 0;
    QString error;
    bool cancelled = false;
};

SynthResult synthesizeBlocking(const QString &dataPath, const QString &text, const QString &voice, int rate, int pitch,
                               const std::shared_ptr<std::atomic<bool>> &cancel)
{
    SynthResult r;
    Engine &e = engine();
    QMutexLocker lock(&e.mutex);
    initLocked(dataPath);
    if (!e.ok) {
        r.error = e.error;
        return r;
    }
    if (cancel->load()) {
        r.cancelled = true;
        return r;
    }
    const QString v = voice == QLatin1String(EspeakTtsProvider::kMandarinVoice) && !e.mandarin ? QStringLiteral("en") : voice;
    espeak_ng_STATUS status = espeak_ng_SetVoiceByName(v.toLatin1().constData());
    if (status != ENS_OK) {
        r.error = QStringLiteral("espeak-ng voice %1: %2").arg(v, statusText(status));
        return r;
    }
    espeak_ng_SetParameter(espeakRATE, qBound(espeakRATE_MINIMUM, rate, espeakRATE_MAXIMUM), 0);
    espeak_ng_SetParameter(espeakPITCH, qBound(0, pitch, 100), 0);
    const QByteArray utf8 = text.toUtf8();
    e.sink = &r.pcm;
    e.cancel = cancel.get();
    status = espeak_ng_Synthesize(utf8.constData(), size_t(utf8.size()) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
    e.sink = nullptr;
    e.cancel = nullptr;
    r.sampleRate = e.sampleRate;
    if (cancel->load()) {
        r.cancelled = true;
        return r;
    }
    if (status != ENS_OK)
        r.error = QStringLiteral("espeak-ng synthesis failed: %1").arg(statusText(status));
    return r;
}

class EspeakJob : public TtsJob
{
public:
    explicit EspeakJob(QObject *parent) : TtsJob(parent), m_cancel(std::make_shared<std::atomic<bool>>(false)) {}
    ~EspeakJob() override { m_cancel->store(true); }

    void cancel() override
    {
        m_cancelled = true;
        m_cancel->store(true);
    }

    void failLater(const UpstreamError &e)
    {
        QMetaObject::invokeMethod(this, [this, e] {
            if (!m_cancelled)
                emit failed(e);
        }, Qt::QueuedConnection);
    }

    void deliver(const SynthResult &r, int chunkMs)
    {
        if (m_cancelled)
            return;
        if (!r.error.isEmpty()) {
            qCWarning(lcTts).noquote() << r.error;
            emit failed({UpstreamErrorKind::Unavailable, r.error, 0});
            return;
        }
        QPointer<EspeakJob> self(this);
        emit format(r.sampleRate, 1);
        const qsizetype chunk = qMax<qsizetype>(2, qsizetype(r.sampleRate) * chunkMs / 1000 * 2);
        for (qsizetype pos = 0; pos < r.pcm.size(); pos += chunk) {
            if (!self || m_cancelled)
                return;
            emit pcm(r.pcm.mid(pos, chunk));
        }
        if (!self || m_cancelled)
            return;
        emit finished();
    }

    std::shared_ptr<std::atomic<bool>> flag() const { return m_cancel; }

private:
    std::shared_ptr<std::atomic<bool>> m_cancel;
    bool m_cancelled = false;
};

bool hasCjk(const QString &text)
{
    for (const QChar c : text) {
        const ushort u = c.unicode();
        if ((u >= 0x3400 && u <= 0x9FFF) || (u >= 0xF900 && u <= 0xFAFF) || (u >= 0x3000 && u <= 0x303F && u != 0x3000))
            return true;
    }
    return false;
}

} // namespace

EspeakTtsProvider::EspeakTtsProvider(WorkerPool *workers, QString dataPath, QObject *parent)
    : QObject(parent)
    , m_workers(workers)
    , m_dataPath(std::move(dataPath))
{
}

EspeakTtsProvider::~EspeakTtsProvider() = default;

bool EspeakTtsProvider::initialize(QString *error)
{
    Engine &e = engine();
    QMutexLocker lock(&e.mutex);
    initLocked(m_dataPath);
    if (!e.ok && error)
        *error = e.error;
    return e.ok;
}

int EspeakTtsProvider::sampleRate() const
{
    return engine().sampleRate.load();
}

bool EspeakTtsProvider::hasMandarin() const
{
    return engine().mandarin.load();
}

QString EspeakTtsProvider::name() const
{
    return QStringLiteral("built-in espeak-ng (offline; Mandarin and English)");
}

QString EspeakTtsProvider::voiceFor(const QString &text, const QString &textLang)
{
    if (hasCjk(text))
        return QString::fromLatin1(kMandarinVoice);
    Q_UNUSED(textLang);
    return QStringLiteral("en");
}

QString EspeakTtsProvider::phonemes(const QString &text, const QString &textLang)
{
    QString error;
    if (!initialize(&error))
        return {};
    Engine &e = engine();
    QMutexLocker lock(&e.mutex);
    QString voice = voiceFor(text, textLang);
    if (voice == QLatin1String(kMandarinVoice) && !e.mandarin)
        voice = QStringLiteral("en");
    if (espeak_ng_SetVoiceByName(voice.toLatin1().constData()) != ENS_OK)
        return {};
    const QByteArray utf8 = text.toUtf8();
    const void *cursor = utf8.constData();
    QStringList clauses;
    while (cursor) // one clause per call; the cursor is null after the last
        clauses << QString::fromUtf8(espeak_TextToPhonemes(&cursor, espeakCHARS_UTF8, 0));
    return clauses.join(QLatin1Char(' '));
}

TtsJob *EspeakTtsProvider::synthesize(const TtsRequest &request, QObject *parent)
{
    auto *job = new EspeakJob(parent);
    const QString text = request.text.trimmed();
    if (text.isEmpty()) {
        job->failLater({UpstreamErrorKind::BadRequest, QStringLiteral("nothing to say: the text is empty"), 0});
        return job;
    }
    if (!m_workers) {
        job->failLater({UpstreamErrorKind::Unavailable, QStringLiteral("espeak-ng needs a worker pool"), 0});
        return job;
    }
    TtsVoice voice = request.voice;
    if (m_voiceBook && !request.emotion.isEmpty())
        voice = m_voiceBook->voiceFor(request.emotion);
    const QString espeakVoice = voiceFor(text, request.textLang);
    const int rate = voice.espeakRate;
    const int pitch = voice.espeakPitch;
    const auto flag = job->flag();
    const QString dataPath = m_dataPath;
    QPointer<EspeakJob> guard(job);
    const bool queued = m_workers->run<SynthResult>(
        job, [dataPath, text, espeakVoice, rate, pitch, flag] { return synthesizeBlocking(dataPath, text, espeakVoice, rate, pitch, flag); },
        [guard](SynthResult r) {
            if (guard)
                guard->deliver(r, 200);
        });
    if (!queued)
        job->failLater({UpstreamErrorKind::Unavailable, QStringLiteral("the worker pool is busy"), 0});
    return job;
}

} // namespace tianyi
