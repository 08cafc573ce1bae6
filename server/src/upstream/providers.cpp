#include "upstream/providers.h"

#include "base/logging.h"
#include "upstream/asr.h"
#include "upstream/demollmresponder.h"
#include "upstream/embedder.h"
#include "upstream/espeaktts.h"
#include "upstream/funasrclient.h"
#include "upstream/gptsovitspool.h"
#include "upstream/hashingembedder.h"
#include "upstream/llm.h"
#include "upstream/openaiasrclient.h"
#include "upstream/openaiembedder.h"
#include "upstream/openaillmclient.h"
#include "upstream/tts.h"

namespace tianyi {

Providers::~Providers() = default;

std::unique_ptr<Providers> Providers::create(const Config &config, WorkerPool &workers, Metrics &metrics, QString *error)
{
    std::unique_ptr<Providers> p(new Providers);

    const std::optional<TtsVoiceBook> book = TtsVoiceBook::fromSettings(config.tts, error);
    if (!book)
        return nullptr;
    p->m_voices = *book;

    if (config.llm.baseUrl.isEmpty())
        p->m_llm = std::make_unique<DemoLlmResponder>();
    else
        p->m_llm = std::make_unique<OpenAiLlmClient>(config.llm, metrics);

    if (config.tts.baseUrls.isEmpty()) {
        auto espeak = std::make_unique<EspeakTtsProvider>(&workers);
        QString espeakError;
        if (!espeak->initialize(&espeakError)) {
            *error = QStringLiteral("tts.base_urls is empty, so the built-in espeak-ng voice is used, but it cannot start: %1").arg(espeakError);
            return nullptr;
        }
        espeak->setVoiceBook(p->m_voices);
        p->m_tts = std::move(espeak);
    } else {
        auto pool = std::make_unique<GptSovitsPool>(config.tts, &metrics);
        pool->setVoiceBook(p->m_voices);
        p->m_tts = std::move(pool);
    }

    if (config.embedding.baseUrl.isEmpty())
        p->m_embedder = std::make_unique<HashingEmbedder>(config.embedding.dimensions, &workers);
    else
        p->m_embedder = std::make_unique<OpenAiEmbedder>(config.embedding, metrics);

    if (config.asr.baseUrl.isEmpty()) {
        // no speech input
    } else if (config.asr.provider == QLatin1String("funasr")) {
        auto funasr = std::make_unique<FunAsrClient>(config.asr);
        if (!funasr->initialize(error))
            return nullptr;
        p->m_asr = std::move(funasr);
    } else {
        p->m_asr = std::make_unique<OpenAiAsrClient>(config.asr);
    }

    const QJsonObject d = p->describe();
    for (auto it = d.constBegin(); it != d.constEnd(); ++it) {
        const QJsonObject o = it.value().toObject();
        qCInfo(lcApp).noquote() << QStringLiteral("%1: %2%3").arg(it.key(), o.value(QStringLiteral("provider")).toString(),
                                                                   o.value(QStringLiteral("built_in")).toBool() ? QStringLiteral(" [built-in]") : QString());
    }
    return p;
}

QJsonObject Providers::describe() const
{
    auto entry = [](const QString &name, bool builtIn) {
        return QJsonObject{{QStringLiteral("provider"), name}, {QStringLiteral("built_in"), builtIn}};
    };
    return QJsonObject{
        {QStringLiteral("llm"), entry(m_llm->name(), m_llm->isBuiltIn())},
        {QStringLiteral("tts"), entry(m_tts->name(), m_tts->isBuiltIn())},
        {QStringLiteral("embedding"), entry(m_embedder->name(), m_embedder->isBuiltIn())},
        {QStringLiteral("asr"), m_asr ? entry(m_asr->name(), false)
                                      : QJsonObject{{QStringLiteral("provider"), QStringLiteral("none (asr.base_url not set: speech input refused)")},
                                                    {QStringLiteral("built_in"), false}}},
    };
}

} // namespace tianyi
