#pragma once
// The built-in offline synthesizer: libespeak-ng in-process (Debian libespeak-ng1 + espeak-ng-data).
//
// espeak-ng keeps global state, so the whole process shares one engine: it is initialized once
// (AUDIO_OUTPUT_SYNCHRONOUS into a buffer) and every synthesis holds one mutex; capacity() is 1.
// Synthesis runs on the WorkerPool, never on the event loop. Voice: Mandarin when the text has CJK
// characters, English ("en") otherwise. The Mandarin voice is "cmn-latn-pinyin": Debian's espeak-ng
// 1.51 "cmn" voice reads Hanzi through English tone digits ("ni-three hao-three"), the pinyin variant
// reads them with Mandarin tones and still switches to English for Latin words; speaking rate and pitch come from the request's
// TtsVoice (espeakRate/espeakPitch, per emotion via the voice book).
// A job emits format(sampleRate reported by espeak-ng, normally 22050, 1 channel), the PCM in
// 200 ms pcm signals, then finished; or failed. cancel() stops synthesis at the next espeak-ng
// callback and suppresses every later signal.

#include "upstream/tts.h"
#include "upstream/ttsvoicebook.h"

#include <QObject>
#include <optional>

namespace tianyi {

class WorkerPool;

class EspeakTtsProvider : public QObject, public TtsProvider
{
    Q_OBJECT
public:
    // dataPath: an espeak-ng-data directory (or its parent); empty = ESPEAK_DATA_PATH, then the
    // path compiled into the library, then the usual Debian locations.
    explicit EspeakTtsProvider(WorkerPool *workers, QString dataPath = {}, QObject *parent = nullptr);
    ~EspeakTtsProvider() override;

    // Initializes the process-wide engine. Once it succeeded it stays initialized (with the data
    // path of that first success, whatever later callers pass); a failure is retried next time.
    // Call at startup to fail early with a clear message when espeak-ng-data is missing.
    bool initialize(QString *error = nullptr);
    int sampleRate() const;              // 0 before a successful initialize()
    bool hasMandarin() const;

    void setVoiceBook(std::optional<TtsVoiceBook> book) { m_voiceBook = std::move(book); }

    QString name() const override;
    bool isBuiltIn() const override { return true; }
    int capacity() const override { return 1; }
    int nominalSampleRate() const override { return sampleRate() > 0 ? sampleRate() : TtsProvider::nominalSampleRate(); }
    TtsJob *synthesize(const TtsRequest &request, QObject *parent) override;

    static constexpr const char *kMandarinVoice = "cmn-latn-pinyin";
    // Which espeak-ng voice a text gets: kMandarinVoice when it contains CJK characters, else "en".
    static QString voiceFor(const QString &text, const QString &textLang);
    // What espeak-ng would say for the text, in its ASCII phoneme notation (as `espeak-ng -x`), with
    // "(en)"-style markers where it switches language. Blocking: for tests and diagnostics only.
    QString phonemes(const QString &text, const QString &textLang);

private:
    WorkerPool *m_workers;
    QString m_dataPath;
    std::optional<TtsVoiceBook> m_voiceBook;
};

} // namespace tianyi
