#pragma once
// Builds the four AI services from the configuration: a real client when its base URL is set,
// else the built-in offline provider (ASR: none; asr.provider picks the OpenAI-compatible or the
// FunASR client). One place decides, logs and reports (/readyz) the choice.

#include "base/config.h"
#include "upstream/ttsvoicebook.h"

#include <QJsonObject>
#include <memory>

class QObject;

namespace tianyi {

class AsrProvider;
class Embedder;
class LlmProvider;
class Metrics;
class TtsProvider;
class WorkerPool;

class Providers
{
public:
    // Returns nullptr with *error naming the key when a provider cannot be set up
    // (unreadable voices file, missing espeak-ng data, ...).
    static std::unique_ptr<Providers> create(const Config &config, WorkerPool &workers, Metrics &metrics, QString *error);
    ~Providers();

    LlmProvider &llm() { return *m_llm; }
    TtsProvider &tts() { return *m_tts; }
    Embedder &embedder() { return *m_embedder; }
    AsrProvider *asr() { return m_asr.get(); } // null: speech input is not configured
    const TtsVoiceBook &voices() const { return m_voices; }

    // {"llm":{"provider":..., "built_in":bool}, "tts":..., "embedding":..., "asr":...} for /readyz.
    QJsonObject describe() const;

private:
    Providers() = default;

    // Each provider is a QObject too; they are owned here, not by a QObject parent.
    std::unique_ptr<LlmProvider> m_llm;
    std::unique_ptr<TtsProvider> m_tts;
    std::unique_ptr<Embedder> m_embedder;
    std::unique_ptr<AsrProvider> m_asr;
    TtsVoiceBook m_voices;
};

} // namespace tianyi
