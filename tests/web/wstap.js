// Sits between the page and the server's chat socket (playwright's routeWebSocket): everything is passed
// on and recorded, so a test sees exactly what the page sent (listen_start, PCM frames, listen_stop) and
// what it got, and can add server messages of its own (duck, unduck) at a chosen moment.

// options: rewrite(msg) changes a server message on its way to the page (a hello of an older server).
export async function tapSocket(page, { rewrite = (m) => m } = {}) {
  const tap = {
    fromPage: [],      // JSON messages the page sent, in order (auth, chat, listen_start, …)
    fromServer: [],    // JSON messages the page got
    binary: [],        // sizes of the binary frames the page sent
    binaryAfterStop: 0,          // binary frames that came after a listen_stop
    binaryBeforeListening: null, // binary frames the page had sent when `listening` reached it
    closed: null,      // {code, reason} when the server closed the socket
    toPage: () => { throw new Error('no socket yet'); },
    sentTypes() { return this.fromPage.map((m) => m.type); },
  };

  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    const toPage = (msg) => {
      if (msg.type === 'listening' && tap.binaryBeforeListening === null) tap.binaryBeforeListening = tap.binary.length;
      tap.fromServer.push(msg);
      ws.send(JSON.stringify(msg));
    };
    tap.toPage = toPage;
    ws.onClose((code, reason) => server.close({ code, reason }));
    server.onClose((code, reason) => { tap.closed = { code, reason }; ws.close({ code, reason }); });
    ws.onMessage((m) => {
      if (typeof m !== 'string') {
        tap.binary.push(m.length);
        if (tap.fromPage.at(-1)?.type === 'listen_stop') tap.binaryAfterStop++;
      } else {
        tap.fromPage.push(JSON.parse(m));
      }
      server.send(m);
    });
    server.onMessage((m) => {
      if (typeof m !== 'string') return ws.send(m);
      toPage(rewrite(JSON.parse(m)));
    });
  });
  return tap;
}
