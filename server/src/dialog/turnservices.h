#pragma once
// What every chat session and turn of the server uses, built once by the composition root
// (Application) and handed to the ChatGateway, which passes it to each session and turn. Nothing is
// looked up or set later: the parts marked optional say what null means; the rest are required
// (missingPart() names the first one absent, and the gateway refuses to start without it).

#include <QString>
#include <utility>

namespace tianyi {

class AccountService;
class AsrProvider;
class AudioStore;
class Database;
class KnowledgeBase;
class LlmProvider;
class MemoryService;
class Metrics;
struct PersonaCard;
class PromptContextCache;
class TtsScheduler;
class TtsVoiceBook;
struct Config;

struct TurnServices {
    const Config *config = nullptr;
    const PersonaCard *persona = nullptr;
    Database *db = nullptr;
    Metrics *metrics = nullptr;
    AccountService *accounts = nullptr;     // authenticates the sockets
    LlmProvider *llm = nullptr;
    TtsScheduler *tts = nullptr;            // the one global TTS queue
    PromptContextCache *contexts = nullptr; // per-user prompt context of users with a session
    MemoryService *memory = nullptr;        // memories for the prompt, jobs after each turn
    const KnowledgeBase *knowledge = nullptr;
    const TtsVoiceBook *voices = nullptr;   // used instead of the persona's voices when tts.voices_file is set
    AudioStore *audio = nullptr;            // optional: null, synthesized audio is not kept
    AsrProvider *asr = nullptr;             // optional: null, speech input answers asr_unavailable

    QString missingPart() const
    {
        const std::pair<const void *, const char *> required[] = {
            {config, "config"}, {persona, "persona"}, {db, "db"}, {metrics, "metrics"}, {accounts, "accounts"},
            {llm, "llm"}, {tts, "tts"}, {contexts, "contexts"}, {memory, "memory"}, {knowledge, "knowledge"}, {voices, "voices"}};
        for (const auto &[part, name] : required)
            if (!part)
                return QString::fromLatin1(name);
        return {};
    }
};

} // namespace tianyi
