#pragma once
// The character card: name, persona text, the emotion set (id, tag label, Live2D expression, TTS
// voice) and the default emotion. Loaded once at startup from chat.persona: an id of a card
// compiled into the server (":/personas/<id>.json") or a path to a JSON file. A bad card is a
// startup error that names the file and the field.

#include "upstream/tts.h"

#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>

namespace tianyi {

struct PersonaEmotion {
    QString id;               // e.g. "happy"
    QString label;            // the tag the LLM writes, e.g. "开心"
    QString live2dExpression;
    TtsVoice voice;
};

struct PersonaCard {
    QString id;
    QString name;             // 洛天依
    QString nameEn;           // Luo Tianyi
    QString persona;          // the character text of the system prompt
    QString defaultEmotion;   // an emotion id
    QVector<PersonaEmotion> emotions;

    QStringList labels() const;
    // By id or by label; nullptr when unknown.
    const PersonaEmotion *emotionById(const QString &id) const;
    const PersonaEmotion *emotionByLabel(const QString &label) const;
    const PersonaEmotion &defaultEmotionRef() const;

    // chat.persona: an id (letters, digits, '-', '_') -> ":/personas/<id>.json", else a file path.
    static QString resolvePath(const QString &setting);
    static std::optional<PersonaCard> load(const QString &setting, QString *error);
    static std::optional<PersonaCard> parse(const QByteArray &json, const QString &source, QString *error);
};

} // namespace tianyi
