// Sits between the page and the server's chat socket (playwright's routeWebSocket): everything is passed
// on and recorded, so a test sees exactly what the page sent (listen_start, PCM frames, listen_stop) and
// received, and can add server messages of its own (duck, unduck, a partial transcript) at a chosen moment.
//
// A server built before hands-free listening (the listening server is built in parallel) refuses
// listen_start as a bad request. The tap then answers for it, following docs/protocol.md "Listening":
// `listening`, an energy VAD over the PCM (speech_start after SPEECH_MIN_MS of voice, partial
// transcripts, speech_end after ENDPOINT_MS of silence, the final transcript), duck while she speaks,
// and a voice barge-in as the real `stop` it stands for. The final text goes to the server as the chat
// it becomes, so the turn that follows is the server's own. `tap.emulated` says which one answered.

const SPEECH_MIN_MS = 200;
const ENDPOINT_MS = 600;
const INTERRUPTION_MIN_MS = 500;
const VOICED_DBFS = -40;
const FRAME_BYTES_PER_MS = 32; // 16 kHz s16le

// options: asrText (what the stand-in ASR hears), partials (send partial transcripts), emulate (answer for
// a server without hands-free; false passes its refusal on), rewrite(msg) (change a server message).
export async function tapSocket(page, { asrText = '', partials = true, emulate = true, rewrite = (m) => m } = {}) {
  const tap = {
    fromPage: [],      // JSON messages the page sent, in order (auth, chat, listen_start, …)
    fromServer: [],    // JSON messages the page got
    binary: [],        // sizes of the binary frames the page sent
    binaryAfterStop: 0,
    binaryBeforeListening: null, // binary frames the page had sent when `listening` reached it
    emulated: false,
    closed: null,      // {code, reason} when the server closed the socket
    toPage: () => { throw new Error('no socket yet'); },
    toServer: () => { throw new Error('no socket yet'); },
    sentTypes() { return this.fromPage.map((m) => m.type); },
    gotTypes() { return this.fromServer.map((m) => m.type); },
  };
  const emu = { on: false, utterance: 0, voicedMs: 0, silentMs: 0, inSpeech: false, speechMs: 0, turn: null,
    ducked: null, stopping: null, partialsSent: 0 };

  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    const toPage = (msg) => {
      if (msg.type === 'listening' && tap.binaryBeforeListening === null) tap.binaryBeforeListening = tap.binary.length;
      tap.fromServer.push(msg);
      ws.send(JSON.stringify(msg));
    };
    tap.toPage = toPage;
    tap.toServer = (msg) => server.send(JSON.stringify(msg));
    ws.onClose((code, reason) => server.close({ code, reason }));
    server.onClose((code, reason) => { tap.closed = { code, reason }; ws.close({ code, reason }); });

    ws.onMessage((m) => {
      if (typeof m !== 'string') {
        tap.binary.push(m.length);
        if (tap.fromPage.at(-1)?.type === 'listen_stop') tap.binaryAfterStop++;
        if (tap.emulated) return hear(m);
        return server.send(m);
      }
      const msg = JSON.parse(m);
      tap.fromPage.push(msg);
      if (tap.emulated && msg.type === 'listen_start') { emu.on = true; return toPage(listening()); }
      if (tap.emulated && msg.type === 'listen_stop') { endUtterance(); emu.on = false; return; }
      server.send(m);
    });

    server.onMessage((m) => {
      if (typeof m !== 'string') return ws.send(m);
      const msg = JSON.parse(m);
      const lastSent = tap.fromPage.at(-1);
      if (msg.type === 'error' && msg.code === 'bad_request' && lastSent?.type === 'listen_start' && !tap.emulated && emulate) {
        tap.emulated = true; // a server without hands-free: answer for it from now on
        emu.on = true;
        return toPage(listening());
      }
      if (msg.type === 'turn_start') emu.turn = msg.turn;
      if (msg.type === 'turn_end' && emu.turn === msg.turn) emu.turn = null;
      if (msg.type === 'stopped' && emu.stopping === msg.turn) { msg.reason = 'voice'; emu.stopping = null; }
      toPage(rewrite(msg));
    });

    function listening() { return { type: 'listening', vad: { endpointing_ms: ENDPOINT_MS, interruption_min_ms: INTERRUPTION_MIN_MS } }; }

    function hear(buf) {
      if (!emu.on) return;
      const n = Math.floor(buf.length / 2);
      let sum = 0;
      for (let i = 0; i < n; i++) { const v = buf.readInt16LE(i * 2) / 32768; sum += v * v; }
      const db = 10 * Math.log10(sum / Math.max(1, n) + 1e-12);
      const ms = buf.length / FRAME_BYTES_PER_MS;
      if (db > VOICED_DBFS) { emu.voicedMs += ms; emu.silentMs = 0; } else { emu.silentMs += ms; if (!emu.inSpeech) emu.voicedMs = 0; }
      if (!emu.inSpeech && emu.voicedMs >= SPEECH_MIN_MS) {
        emu.inSpeech = true;
        emu.speechMs = emu.voicedMs;
        emu.partialsSent = 0;
        emu.utterance++;
        toPage({ type: 'speech_start', utterance: emu.utterance });
        if (emu.turn !== null) { emu.ducked = emu.turn; toPage({ type: 'duck', turn: emu.turn }); }
        return;
      }
      if (!emu.inSpeech) return;
      emu.speechMs += ms;
      const words = Math.min(asrText.length, Math.floor(emu.speechMs / 300));
      if (partials && words > emu.partialsSent && words < asrText.length) {
        emu.partialsSent = words;
        toPage({ type: 'transcript', utterance: emu.utterance, text: asrText.slice(0, words), final: false });
      }
      if (emu.ducked !== null && emu.speechMs >= INTERRUPTION_MIN_MS) { // confirmed: the real stop it stands for
        emu.stopping = emu.ducked;
        server.send(JSON.stringify({ type: 'stop', turn: emu.ducked }));
        emu.ducked = null;
      }
      if (emu.silentMs >= ENDPOINT_MS) endUtterance();
    }

    function endUtterance() {
      if (!emu.inSpeech) return;
      emu.inSpeech = false;
      emu.voicedMs = 0;
      if (emu.ducked !== null) { toPage({ type: 'unduck', turn: emu.ducked }); emu.ducked = null; }
      toPage({ type: 'speech_end', utterance: emu.utterance, duration_ms: Math.round(emu.speechMs) });
      toPage({ type: 'transcript', utterance: emu.utterance, text: asrText, final: true });
      if (asrText) server.send(JSON.stringify({ type: 'chat', text: asrText, client_msg_id: `voice-${emu.utterance}` }));
    }
  });
  return tap;
}
