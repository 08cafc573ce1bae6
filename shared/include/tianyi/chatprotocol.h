#pragma once
// The chat socket contract (docs/protocol.md, ../shared/spec/protocol.md "Chat socket"):
// message type names, close codes, and the 16-byte binary audio frame header. Used by the server,
// tianyi-cli, bench and the admin app, so every side encodes exactly the same bytes.

#include <QByteArray>
#include <QString>
#include <optional>

namespace tianyi::chat {

constexpr int kProtocolVersion = 1;

// Close codes.
constexpr int kCloseUnauthorized = 4001;   // bad or expired token (also on an open socket), or no auth message in time
constexpr int kCloseAbuse = 4002;          // repeated malformed messages
constexpr int kCloseTooManySessions = 4003;// the user's device limit is reached
constexpr int kCloseSlowConsumer = 4004;   // send queue over its cap
constexpr int kCloseServerShutdown = 1001; // going away
constexpr int kCloseKicked = 4005;         // disconnected by an admin

// Client -> server.
inline const QString kAuth = QStringLiteral("auth");
inline const QString kChat = QStringLiteral("chat");
inline const QString kStop = QStringLiteral("stop");
inline const QString kAudioStart = QStringLiteral("audio_start");
inline const QString kAudioEnd = QStringLiteral("audio_end");
inline const QString kPing = QStringLiteral("ping");
// Hands-free listening (protocol v1.1): listen_start {sample_rate, format}, then every binary message
// is microphone PCM (no header) until listen_stop.
inline const QString kListenStart = QStringLiteral("listen_start");
inline const QString kListenStop = QStringLiteral("listen_stop");
constexpr int kListenSampleRate = 16000;
inline const QString kPcmS16le = QStringLiteral("pcm_s16le");

// Server -> client.
inline const QString kHello = QStringLiteral("hello");
inline const QString kAuthenticated = QStringLiteral("authenticated"); // a fresh token was accepted on an open socket
inline const QString kPong = QStringLiteral("pong");
inline const QString kTurnStart = QStringLiteral("turn_start");
inline const QString kEmotion = QStringLiteral("emotion");
inline const QString kTextDelta = QStringLiteral("text_delta");
inline const QString kSentence = QStringLiteral("sentence");
inline const QString kAudio = QStringLiteral("audio");          // json audio mode only
inline const QString kTranscript = QStringLiteral("transcript");
inline const QString kTurnEnd = QStringLiteral("turn_end");
inline const QString kStopped = QStringLiteral("stopped");
inline const QString kError = QStringLiteral("error");
// Listening, each with `utterance` (unique per session) or, for duck/unduck, the `turn` she speaks.
inline const QString kListening = QStringLiteral("listening");        // {vad:{endpointing_ms, interruption_min_ms}}
inline const QString kSpeechStart = QStringLiteral("speech_start");   // {utterance}
inline const QString kSpeechEnd = QStringLiteral("speech_end");       // {utterance, duration_ms}
inline const QString kDuck = QStringLiteral("duck");                  // {turn}: lower her volume, she may be interrupted
inline const QString kUnduck = QStringLiteral("unduck");              // {turn}: it was noise; her volume back
// stopped.reason: absent for an explicit stop or a new chat; "voice" for a barge-in by voice.
inline const QString kStopReasonVoice = QStringLiteral("voice");

// Error codes of `error` events.
inline const QString kErrBadRequest = QStringLiteral("bad_request");
inline const QString kErrUnauthorized = QStringLiteral("unauthorized");
inline const QString kErrRateLimited = QStringLiteral("rate_limited");
inline const QString kErrTooLarge = QStringLiteral("too_large");
inline const QString kErrLlmUnavailable = QStringLiteral("llm_unavailable");
inline const QString kErrTtsUnavailable = QStringLiteral("tts_unavailable");
inline const QString kErrAsrUnavailable = QStringLiteral("asr_unavailable");
inline const QString kErrInternal = QStringLiteral("internal");
// Caps of the listening stream.
inline const QString kErrRateExceeded = QStringLiteral("rate_exceeded");
inline const QString kErrUtteranceTooLong = QStringLiteral("utterance_too_long");
inline const QString kErrListenTimeout = QStringLiteral("listen_timeout");
// Refusals of listen_start and failures of one utterance (docs/protocol.md "Listening").
inline const QString kErrUnsupportedAudio = QStringLiteral("unsupported_audio");   // listen_start: only 16 kHz pcm_s16le
inline const QString kErrAlreadyListening = QStringLiteral("already_listening");
inline const QString kErrSpeechInputBusy = QStringLiteral("speech_input_busy");    // push-to-talk and listening exclude each other
inline const QString kErrAsrFailed = QStringLiteral("asr_failed");                 // {utterance, kind}: that utterance
inline const QString kErrAsrBusy = QStringLiteral("asr_busy");                     // {utterance}: not recognized

// Turn statuses (turn_end.status and stored turns).
inline const QString kCompleted = QStringLiteral("completed");
inline const QString kInterrupted = QStringLiteral("interrupted");
inline const QString kFailed = QStringLiteral("failed");

// Binary audio message: 16-byte little-endian header, then PCM s16le mono.
// {u8[2] "AU", u8 version=1, u8 flags (bit0 = last chunk of this sentence), u32 turn, u16 sentence, u16 seq, u32 sample_rate}
struct AudioFrameHeader {
    quint32 turn = 0;
    quint16 sentence = 0;
    quint16 seq = 0;
    quint32 sampleRate = 0;
    bool last = false;

    static constexpr int kSize = 16;
    static constexpr quint8 kVersion = 1;
};

QByteArray encodeAudioFrame(const AudioFrameHeader &header, const QByteArray &pcm);
// Parses a binary message; nullopt if it is not a valid audio frame. pcm receives the payload.
std::optional<AudioFrameHeader> decodeAudioFrame(const QByteArray &message, QByteArray *pcm = nullptr);

} // namespace tianyi::chat
