#pragma once
// Open-LLM-VTuber's frontend protocol (its web page and desktop pet) on compat.olv_path: the
// messages its frontend sends and expects (docs/olv.md), over a ChatSession like any other, so
// accounts, per-user memory, limits, barge-in and the admin console apply unchanged.
//
//  - Authentication: ?token= in the URL the user pastes into the client (OLV cannot send an auth
//    message); an access token or a device token. None or a bad one: close 4001.
//  - One turn: control conversation-chain-start, full-text "Thinking...", [user-input-transcription],
//    per sentence one `audio` (a WAV, 20 ms volumes, display_text, the emotion's Live2D expression),
//    backend-synth-complete, then — once the client says frontend-playback-complete, or after
//    compat.olv_playback_timeout_ms (OLV's own server waits forever) — the turn is stored and
//    force-new-message and control conversation-chain-end follow.
//  - interrupt-signal {text}: the heard text is mapped to the whole sentences it covers; the turn
//    stops and stores exactly those (their audio duration is the played time). The turn stays open
//    until the playback is complete (TurnPipeline::holdUntilPlayback): OLV's clients play long after
//    the audio was sent, and an interrupt during that playback stores only what was heard too.
//  - Microphone: mic-audio-data float chunks through SpeechInput (its caps), mic-audio-end starts
//    recognition. raw-audio-data (OLV's server-side voice detection) is not supported.
//  - Histories: see OlvHistory. Config switching: one config (the persona); no backgrounds; no groups.

#include "compat/olvhistory.h"
#include "compat/sentenceassembler.h"
#include "dialog/chatwire.h"

#include <QJsonObject>
#include <QTimer>
#include <QVector>

namespace tianyi {

struct CompatSettings;
struct PersonaCard;
struct WebSettings;

namespace olv {

// model_info of set-model-and-conf for the configured Live2D model (null without one): OLV's
// model_dict.json fields; emotionMap maps each persona emotion id to the expression name that
// the `audio` messages' actions.expressions carry for it.
QJsonValue modelInfo(const PersonaCard &persona, const WebSettings &web);

// How many of the sentences (in order) the heard text covers: OLV's frontend sends the display
// texts of the sentences it played, concatenated. Whitespace is ignored.
int sentencesCovered(const QString &heard, const QStringList &sentences);

class OlvWire : public ChatWire
{
public:
    static constexpr int kMaxSentencesPerTurn = 1024;  // sentence texts remembered for one turn
    // OLV's frontend sends its first requests (backgrounds, configs, histories) as soon as the socket
    // opens, while the token is still being checked: they wait for hello, up to this many bytes of an
    // unauthenticated client (more are dropped).
    static constexpr int kMaxEarlyBytes = 64 * 1024;
    // History requests (reads and deletions) use storage: one at a time per socket, later ones while
    // it runs are refused.
    static constexpr int kMaxHistoryReadsInFlight = 1;

    explicit OlvWire(const CompatSettings &settings);

    QString clientName() const override { return QStringLiteral("Open-LLM-VTuber"); }
    bool acceptsDeviceTokens() const override { return true; }
    bool holdsTurnsUntilPlayback() const override { return true; }
    void opened(const QWebSocket &socket) override;
    void text(const QString &message) override;
    void binary(const QByteArray &message) override;

    void hello() override;
    void authenticated(qint64 tokenExpiresAtS) override;
    void turnEvent(int turn, const QString &type, const QJsonObject &fields) override;
    void turnAudio(int turn, int sentence, int seq, int sampleRate, bool last, const QByteArray &pcm) override;
    void turnSynthesized(int turn) override;
    void transcript(const QString &text) override;
    void error(const QString &code, const QString &message, const QJsonObject &extra) override;

private:
    struct Sentence {
        QString text;
        QString emotion;
        qint64 durationMs = 0;
    };
    struct Turn {
        int number = 0;
        QVector<Sentence> sentences;
        int nextToSend = 0;         // sentences before it went out as `audio`
        bool audioSent = false;
    };

    void send(const QString &type, QJsonObject fields = {});
    void sendModelAndConf();
    void handle(const QString &type, const QJsonObject &message);
    void micData(const QJsonObject &message);
    void micEnd();
    void interrupt(const QJsonObject &message);
    void fetchHistory(const QJsonObject &message);
    void fetchHistoryList();
    void deleteHistory(const QJsonObject &message);
    bool startHistoryRead();        // false (and rate_limited sent) while another one runs
    void sendAudio(int index, const AssembledSentence *audio); // null: text only
    void sendTextOnlyUpTo(int index);
    void beginChain(int turn, const QString &userText);
    void playbackComplete();
    void endChain();

    const CompatSettings &m_settings;
    std::unique_ptr<OlvHistory> m_history;
    SentenceAssembler m_assembler;
    Turn m_turn;
    bool m_chainOpen = false;
    bool m_awaitingPlayback = false;
    QTimer m_playbackTimer;
    bool m_micOpen = false;
    QString m_pendingTranscript;
    QStringList m_early;            // messages that arrived before hello
    qint64 m_earlyBytes = 0;
    int m_historyReads = 0;
};

} // namespace olv
} // namespace tianyi
