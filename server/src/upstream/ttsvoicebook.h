#pragma once
// Emotion id -> reference voice (GPT-SoVITS) and espeak-ng knobs (built-in synthesizer).
//
// tts.voices_file is a JSON object keyed by emotion id:
//   { "default": {"ref_audio_path": "/srv/voices/calm.wav", "prompt_text": "...", "prompt_lang": "zh"},
//     "happy":   {"ref_audio_path": "/srv/voices/happy.wav", "prompt_text": "...", "prompt_lang": "zh",
//                 "espeak_rate": 190, "espeak_pitch": 65}, ... }
// ref_audio_path (required, a path on the TTS host) and prompt_lang (default "zh", one of the api_v2
// languages) go to GPT-SoVITS; prompt_text is optional (api_v2 accepts none); espeak_rate (80..450)
// and espeak_pitch (0..100) are optional. Unknown fields are errors (a typo must not be silent).
// One entry named "default" or "neutral" is required: unknown emotions fall back to it.
// Without a voices file the built-in book is used: no reference audio, espeak knobs per emotion.

#include "base/config.h"
#include "upstream/tts.h"

#include <QHash>
#include <QStringList>
#include <optional>

namespace tianyi {

class TtsVoiceBook
{
public:
    // The fallback chain of ids tried for an unknown emotion, in order.
    static QStringList fallbackIds();

    // Espeak knobs for the default emotion set (English ids and the Chinese tag names), no reference audio.
    static TtsVoiceBook builtIn();
    // Reads and validates a voices file; errors name the file and the emotion.
    static std::optional<TtsVoiceBook> loadFile(const QString &path, QString *error);
    // What the server uses at startup: tts.voices_file when set, else the built-in book. With
    // GPT-SoVITS backends configured (tts.base_urls) a voices file is required.
    static std::optional<TtsVoiceBook> fromSettings(const TtsSettings &settings, QString *error);

    void insert(const QString &emotion, const TtsVoice &voice) { m_voices.insert(emotion, voice); }
    bool contains(const QString &emotion) const { return m_voices.contains(emotion); }
    QStringList emotions() const;
    int size() const { return int(m_voices.size()); }

    // The voice of an emotion: exact id, then its lower-case form, then the fallback chain; a
    // default-constructed TtsVoice when the book is empty.
    TtsVoice voiceFor(const QString &emotion) const;

private:
    QHash<QString, TtsVoice> m_voices;
};

} // namespace tianyi
