#include "prompt/personacard.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>

namespace tianyi {

QStringList PersonaCard::labels() const
{
    QStringList out;
    for (const PersonaEmotion &e : emotions)
        out << e.label;
    return out;
}

const PersonaEmotion *PersonaCard::emotionById(const QString &emotionId) const
{
    for (const PersonaEmotion &e : emotions) {
        if (e.id == emotionId)
            return &e;
    }
    return nullptr;
}

const PersonaEmotion *PersonaCard::emotionByLabel(const QString &label) const
{
    for (const PersonaEmotion &e : emotions) {
        if (e.label == label)
            return &e;
    }
    return nullptr;
}

const PersonaEmotion &PersonaCard::defaultEmotionRef() const
{
    const PersonaEmotion *e = emotionById(defaultEmotion);
    return e ? *e : emotions.first(); // parse() guarantees both exist
}

QString PersonaCard::resolvePath(const QString &setting)
{
    static const QRegularExpression idPattern(QStringLiteral("^[A-Za-z0-9_-]+$"));
    if (idPattern.match(setting).hasMatch())
        return QStringLiteral(":/personas/%1.json").arg(setting);
    return setting;
}

std::optional<PersonaCard> PersonaCard::load(const QString &setting, QString *error)
{
    const QString path = resolvePath(setting);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("chat.persona: cannot read persona card %1 (%2)").arg(path, file.errorString());
        return std::nullopt;
    }
    return parse(file.readAll(), path, error);
}

std::optional<PersonaCard> PersonaCard::parse(const QByteArray &json, const QString &source, QString *error)
{
    auto fail = [&](const QString &why) -> std::optional<PersonaCard> {
        if (error)
            *error = QStringLiteral("chat.persona: persona card %1: %2").arg(source, why);
        return std::nullopt;
    };
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(QStringLiteral("not valid JSON (%1 at offset %2)").arg(parseError.errorString()).arg(parseError.offset));
    if (!doc.isObject())
        return fail(QStringLiteral("the card must be a JSON object"));
    const QJsonObject root = doc.object();
    auto str = [](const QJsonObject &o, const char *key) { return o.value(QLatin1String(key)).toString().trimmed(); };

    PersonaCard card;
    card.id = str(root, "id");
    card.name = str(root, "name");
    card.nameEn = str(root, "name_en");
    card.persona = str(root, "persona");
    card.defaultEmotion = str(root, "default_emotion");
    if (card.name.isEmpty())
        return fail(QStringLiteral("\"name\" is required"));
    if (card.persona.isEmpty())
        return fail(QStringLiteral("\"persona\" (the character text) is required"));
    const QJsonArray emotions = root.value(QStringLiteral("emotions")).toArray();
    if (emotions.isEmpty())
        return fail(QStringLiteral("\"emotions\" must be a non-empty array"));
    QSet<QString> ids;
    QSet<QString> labels;
    for (qsizetype i = 0; i < emotions.size(); ++i) {
        const QJsonObject e = emotions.at(i).toObject();
        PersonaEmotion em;
        em.id = str(e, "id");
        em.label = str(e, "label");
        em.live2dExpression = str(e, "live2d_expression");
        if (em.id.isEmpty() || em.label.isEmpty())
            return fail(QStringLiteral("emotions[%1] needs \"id\" and \"label\"").arg(i));
        if (em.label.contains(QLatin1Char('[')) || em.label.contains(QLatin1Char(']')) || em.label.size() > 8)
            return fail(QStringLiteral("emotions[%1].label \"%2\" must be a short word without brackets").arg(i).arg(em.label));
        if (ids.contains(em.id) || labels.contains(em.label))
            return fail(QStringLiteral("emotions[%1]: id \"%2\" or label \"%3\" is used twice").arg(i).arg(em.id, em.label));
        ids.insert(em.id);
        labels.insert(em.label);
        const QJsonObject v = e.value(QStringLiteral("voice")).toObject();
        em.voice.refAudioPath = str(v, "ref_audio_path");
        em.voice.promptText = str(v, "prompt_text");
        if (v.contains(QStringLiteral("prompt_lang")))
            em.voice.promptLang = str(v, "prompt_lang");
        em.voice.espeakRate = v.value(QStringLiteral("espeak_rate")).toInt(em.voice.espeakRate);
        em.voice.espeakPitch = v.value(QStringLiteral("espeak_pitch")).toInt(em.voice.espeakPitch);
        if (em.voice.espeakRate < 80 || em.voice.espeakRate > 450 || em.voice.espeakPitch < 0 || em.voice.espeakPitch > 100)
            return fail(QStringLiteral("emotions[%1].voice: espeak_rate must be 80..450 and espeak_pitch 0..100").arg(i));
        card.emotions.push_back(em);
    }
    if (card.defaultEmotion.isEmpty())
        return fail(QStringLiteral("\"default_emotion\" is required"));
    if (!card.emotionById(card.defaultEmotion))
        return fail(QStringLiteral("default_emotion \"%1\" is not one of the emotions").arg(card.defaultEmotion));
    return card;
}

} // namespace tianyi
