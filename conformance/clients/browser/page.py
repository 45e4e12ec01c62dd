"""The bridge page: runs the adapter's commands on ``WebSocket`` objects, reports their events.

:class:`~conformance.clients.browser.bridge.Bridge` serves it once per launch. It long-polls
``next?after=N`` for command N, runs it on a ``WebSocket`` object as any script would, and
POSTs each event record, numbered, to ``event`` one at a time, so they arrive in the order
they fired. It adds nothing but the ``WebSocket``'s ``readyState`` when the event fired.

A ``connect`` with ``"echo": true`` also sends every delivered message back with ``send()``,
after reporting it: ``event.data`` as it came, a string as text, an ``ArrayBuffer`` as
binary (every socket's ``binaryType`` is ``"arraybuffer"``).
"""

from __future__ import annotations

from typing import Final

PAGE: Final = """<!doctype html>
<meta charset="utf-8">
<title>ws-conformance browser adapter</title>
<script>
"use strict";
// Runs the bridge's commands on WebSocket objects and reports what they expose, in order.
const sockets = new Map();
const outbox = [];
let numbered = 0;
let sending = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function report(record) {
  outbox.push(JSON.stringify({ n: ++numbered, event: record }));
  if (!sending) flush();
}

async function flush() {
  sending = true;
  while (outbox.length > 0) {
    try {
      const response = await fetch("event", { method: "POST", body: outbox[0], cache: "no-store" });
      if (response.ok) { outbox.shift(); continue; }
    } catch (e) { /* the bridge is busy or gone: retry */ }
    await sleep(100);
  }
  sending = false;
}

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  if (typeof bytes.toBase64 === "function") return bytes.toBase64();
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function exception(conn, phase, e, ws) {
  const record = {
    event: "exception", conn, phase, name: String(e && e.name), message: String(e && e.message),
    status: null, headers: null, body: null, redirected: null,
  };
  if (ws !== null) record.readyState = ws.readyState;
  report(record);
}

function connect(command) {
  const conn = command.conn;
  let ws;
  try {
    ws = new WebSocket(command.url, command.protocols ?? []);
  } catch (e) {
    exception(conn, "connect", e, null);
    return;
  }
  ws.binaryType = "arraybuffer";
  sockets.set(conn, ws);
  const on = (type, fields) => ws.addEventListener(type, (e) => {
    report({ event: type, conn, ...fields(e), readyState: ws.readyState });
  });
  on("open", () => ({ protocol: ws.protocol, extensions: ws.extensions }));
  on("message", (e) => (typeof e.data === "string"
    ? { text: e.data } : { binary: base64(e.data) }));
  on("error", (e) => ({ message: e.message === undefined ? "" : String(e.message) }));
  on("close", (e) => ({ code: e.code, reason: e.reason, wasClean: e.wasClean }));
  if (command.echo === true) {
    // after the reporting listener: the message is reported, then sent back as it came
    ws.addEventListener("message", (e) => {
      try { ws.send(e.data); } catch (err) { exception(conn, "send", err, ws); }
    });
  }
}

function run(command) {
  if (command.op === "connect") return connect(command);
  const ws = sockets.get(command.conn);
  if (ws === undefined) {
    report({ event: "log", conn: command.conn, message: `no connection for ${command.op}` });
  } else if (command.op === "send") {
    try { ws.send(command.text); } catch (e) { exception(command.conn, "send", e, ws); }
  } else if (command.op === "close") {
    const args = [];
    if (command.reason !== null && command.reason !== undefined) {
      args.push(command.code ?? undefined, command.reason);
    } else if (command.code !== null && command.code !== undefined) {
      args.push(command.code);
    }
    try { ws.close(...args); } catch (e) { exception(command.conn, "close", e, ws); }
  }
}

async function poll() {
  let after = 0;
  for (;;) {
    let command = null;
    try {
      const response = await fetch(`next?after=${after}`, { cache: "no-store" });
      if (response.status === 200) command = await response.json();
      else if (response.status !== 204) await sleep(200);
    } catch (e) {
      await sleep(200);
      continue;
    }
    if (command === null) continue;
    after += 1;
    try { run(command); } catch (e) { report({ event: "log", message: `page: ${e}` }); }
  }
}

poll();
</script>
"""
