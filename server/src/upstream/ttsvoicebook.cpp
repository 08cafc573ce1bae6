#include "upstream/ttsvoicebook.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>

namespace tianyi {

namespace {

const QStringList &supportedLanguages()
{
    static const QStringList langs{QStringLiteral("auto"), QStringLiteral("en"), QStringLiteral("zh"), QStringLiteral("ja"),
                                   QStringLiteral("yue"), QStringLiteral("ko"), QStringLiteral("all_zh"), QStringLiteral("all_ja"),
                                   QStringLiteral("all_yue"), QStringLiteral("all_ko"), QStringLiteral("auto_yue")};
    return langs;
}

TtsVoice knobs(int rate, int pitch)
{
    TtsVoice v;
    v.espeakRate = rate;
    v.espeakPitch = pitch;
    return v;
}

} // namespace

QStringList TtsVoiceBook::fallbackIds()
{
    return {QStringLiteral("default"), QStringLiteral("neutral"), QStringLiteral("calm"), QStringLiteral("平静")};
}

TtsVoiceBook TtsVoiceBook::builtIn()
{
    TtsVoiceBook book;
    const struct {
        const char *id;
        const char *tag;
        int rate;
        int pitch;
    } table[] = {
        {"happy", "开心", 190, 65},   {"angry", "生气", 200, 40},      {"sad", "悲伤", 150, 35},
        {"surprised", "惊讶", 195, 72}, {"coquettish", "撒娇", 165, 75}, {"calm", "平静", 175, 50},
    };
    for (const auto &row : table) {
        book.insert(QString::fromUtf8(row.id), knobs(row.rate, row.pitch));
        book.insert(QString::fromUtf8(row.tag), knobs(row.rate, row.pitch));
    }
    book.insert(QStringLiteral("default"), knobs(175, 50));
    book.insert(QStringLiteral("neutral"), knobs(175, 50));
    return book;
}

std::optional<TtsVoiceBook> TtsVoiceBook::loadFile(const QString &path, QString *error)
{
    auto failWith = [&](const QString &text) -> std::optional<TtsVoiceBook> {
        if (error)
            *error = QStringLiteral("tts.voices_file %1: %2").arg(path, text);
        return std::nullopt;
    };
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return failWith(QStringLiteral("cannot read: %1").arg(f.errorString()));
    QJsonParseError perr;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (perr.error != QJsonParseError::NoError)
        return failWith(QStringLiteral("not valid JSON at offset %1: %2").arg(perr.offset).arg(perr.errorString()));
    if (!doc.isObject())
        return failWith(QStringLiteral("expected a JSON object {\"emotion_id\": {...}}"));
    const QJsonObject root = doc.object();
    if (root.isEmpty())
        return failWith(QStringLiteral("no emotions defined"));

    const QStringList known{QStringLiteral("ref_audio_path"), QStringLiteral("prompt_text"), QStringLiteral("prompt_lang"),
                            QStringLiteral("espeak_rate"), QStringLiteral("espeak_pitch")};
    TtsVoiceBook book;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const QString id = it.key();
        auto bad = [&](const QString &text) { return failWith(QStringLiteral("emotion \"%1\": %2").arg(id, text)); };
        if (id.trimmed().isEmpty())
            return failWith(QStringLiteral("an emotion id is empty"));
        if (!it.value().isObject())
            return bad(QStringLiteral("expected an object {ref_audio_path, prompt_text, prompt_lang}"));
        const QJsonObject o = it.value().toObject();
        for (auto f2 = o.begin(); f2 != o.end(); ++f2) {
            if (!known.contains(f2.key()))
                return bad(QStringLiteral("unknown field \"%1\" (known: %2)").arg(f2.key(), known.join(QStringLiteral(", "))));
        }
        TtsVoice v;
        const QJsonValue ref = o.value(QStringLiteral("ref_audio_path"));
        if (!ref.isString() || ref.toString().trimmed().isEmpty())
            return bad(QStringLiteral("ref_audio_path must be a non-empty string (a path on the GPT-SoVITS host)"));
        v.refAudioPath = ref.toString().trimmed();
        const QJsonValue text = o.value(QStringLiteral("prompt_text"));
        if (!text.isUndefined() && !text.isString())
            return bad(QStringLiteral("prompt_text must be a string"));
        v.promptText = text.toString();
        const QJsonValue lang = o.value(QStringLiteral("prompt_lang"));
        if (!lang.isUndefined()) {
            if (!lang.isString() || !supportedLanguages().contains(lang.toString().toLower()))
                return bad(QStringLiteral("prompt_lang must be one of %1").arg(supportedLanguages().join(QStringLiteral(", "))));
            v.promptLang = lang.toString().toLower();
        }
        const QJsonValue rate = o.value(QStringLiteral("espeak_rate"));
        if (!rate.isUndefined()) {
            if (!rate.isDouble() || rate.toDouble() != double(rate.toInt()) || rate.toInt() < 80 || rate.toInt() > 450)
                return bad(QStringLiteral("espeak_rate must be an integer between 80 and 450"));
            v.espeakRate = rate.toInt();
        }
        const QJsonValue pitch = o.value(QStringLiteral("espeak_pitch"));
        if (!pitch.isUndefined()) {
            if (!pitch.isDouble() || pitch.toDouble() != double(pitch.toInt()) || pitch.toInt() < 0 || pitch.toInt() > 100)
                return bad(QStringLiteral("espeak_pitch must be an integer between 0 and 100"));
            v.espeakPitch = pitch.toInt();
        }
        book.insert(id, v);
    }
    if (!book.contains(QStringLiteral("default")) && !book.contains(QStringLiteral("neutral")))
        return failWith(QStringLiteral("needs a \"default\" (or \"neutral\") entry: unknown emotions fall back to it"));
    return book;
}

std::optional<TtsVoiceBook> TtsVoiceBook::fromSettings(const TtsSettings &settings, QString *error)
{
    if (settings.voicesFile.isEmpty()) {
        if (!settings.baseUrls.isEmpty()) {
            if (error)
                *error = QStringLiteral("tts.voices_file: required when tts.base_urls is set (GPT-SoVITS needs a reference voice per emotion)");
            return std::nullopt;
        }
        return builtIn();
    }
    return loadFile(settings.voicesFile, error);
}

QStringList TtsVoiceBook::emotions() const
{
    QStringList ids = m_voices.keys();
    std::sort(ids.begin(), ids.end());
    return ids;
}

TtsVoice TtsVoiceBook::voiceFor(const QString &emotion) const
{
    auto it = m_voices.constFind(emotion);
    if (it != m_voices.constEnd())
        return *it;
    it = m_voices.constFind(emotion.trimmed().toLower());
    if (it != m_voices.constEnd())
        return *it;
    for (const QString &id : fallbackIds()) {
        it = m_voices.constFind(id);
        if (it != m_voices.constEnd())
            return *it;
    }
    return {};
}

} // namespace tianyi
