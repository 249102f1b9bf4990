'use strict';
// Foreign WebSocket peers for scripts/bench (the Node.js 'ws' library, as a third-party app would use it).
// Every role writes one JSON line per event on stdout; the benchmark JVM reads them.
//
//   node peer.js instance <relay-ws-url> <instance-id>...      registers each id; counts relay_message
//                                                                 frames, echoes them back (latency), answers
//                                                                 the END marker with DONE (throughput)
//   node peer.js direct-server <port>                           a ws server that decodes like an instance, echoes
//                                                                 small frames, answers ping with pong
//   node peer.js throughput <url> <instance-id|-> <bytes> <seconds>
//   node peer.js latency <url> <instance-ids,|-> <sessions> <rate> <warmup-s> <measure-s>
//
// A client with instance id '-' talks to a server that is not the relay (direct or pekko-http layer) and
// sends its frames as they are; with an id it first connects to that instance through the relay.
const crypto = require('crypto');
const WebSocket = require('ws');

const END = Buffer.from('END').toString('base64');
const DONE = Buffer.from('DONE').toString('base64');
/** Bytes queued in the client socket before the sender waits: keeps the pipe full, memory bounded. */
const HIGH_WATER = 4 * 1024 * 1024;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Decodes a frame as an instance would: JSON, then the base64 payload into bytes. */
function decode(data) {
  const frame = JSON.parse(data.toString('utf8'));
  const bytes = frame.payload === undefined ? null : Buffer.from(frame.payload, 'base64');
  return { frame, bytes };
}

function instance(url, ids) {
  let received = 0;
  let registered = 0;
  for (const id of ids) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const key = crypto.randomBytes(32).toString('base64');
    const register = () => ws.send(JSON.stringify({ type: 'register', instance_id: id, public_key: key }));
    let isRegistered = false;
    ws.on('open', register);
    ws.on('message', (data) => {
      const { frame, bytes } = decode(data);
      if (frame.type === 'registered') {
        isRegistered = true;
        if (++registered === ids.length) out({ ready: true });
        setInterval(() => ws.send('{"type":"ping"}'), 30000).unref();
      } else if (frame.type === 'relay_message') {
        received++;
        if (frame.payload === END) {
          ws.send(JSON.stringify({ type: 'relay_message', session_id: frame.session_id, payload: DONE }));
        } else if (bytes.length <= 64) { // latency probes are small: echo them
          ws.send(JSON.stringify({ type: 'relay_message', session_id: frame.session_id, payload: frame.payload }));
        }
      } else if (frame.type === 'error' && !isRegistered) {
        setTimeout(register, 1000); // as a real instance retries, e.g. when the relay's key store is slow
      } else if (frame.type === 'error') {
        out({ error: frame });
      }
    });
    ws.on('error', (e) => { out({ error: String(e) }); process.exit(1); });
  }
}

function directServer(port) {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const { frame, bytes } = decode(data);
      if (frame.type === 'ping') {
        ws.send('{"type":"pong"}');
      } else if (bytes !== null && bytes.length <= 64) {
        ws.send(JSON.stringify({ type: 'message', payload: frame.payload }));
      }
    });
  });
  wss.on('listening', () => out({ ready: true }));
}

/** Opens a client socket; through the relay it connects to instanceId first. Resolves once usable. */
function openClient(url, instanceId, onFrame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
    let ready = false;
    ws.on('open', () => {
      if (instanceId === '-') { ready = true; resolve(ws); return; }
      ws.send(JSON.stringify({ type: 'connect', instance_id: instanceId }));
    });
    ws.on('message', (data) => {
      if (!ready) {
        const frame = JSON.parse(data.toString('utf8'));
        if (frame.type === 'connected') { ready = true; resolve(ws); } else { reject(new Error(data.toString())); }
        return;
      }
      onFrame(data);
    });
    ws.on('error', reject);
  });
}

async function throughput(url, instanceId, size, seconds) {
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  // The far end has every frame once it answers a marker sent behind them: through the relay the
  // instance answers END with DONE; a direct or pekko-http server answers ping with pong.
  const direct = instanceId === '-';
  const ws = await openClient(url, instanceId, (data) => {
    const { frame } = decode(data);
    if (direct ? frame.type === 'pong' : frame.payload === DONE) done();
  });
  const frame = Buffer.from(JSON.stringify({ type: 'message', payload: crypto.randomBytes(size).toString('base64') }));
  const cpu0 = cpuSeconds();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let sent = 0;
  // As fast as the socket takes it: fill to the high-water mark, continue when the kernel took some.
  await new Promise((resolve) => {
    const pump = () => {
      while (ws.bufferedAmount < HIGH_WATER) {
        if (process.hrtime.bigint() >= end) { resolve(); return; }
        ws.send(frame, { binary: false });
        sent++;
      }
      setImmediate(pump);
    };
    pump();
  });
  ws.send(direct ? '{"type":"ping"}' : JSON.stringify({ type: 'message', payload: END }));
  await finished;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  out({ sent, seconds: elapsed, cpu: cpuSeconds() - cpu0 });
  ws.close();
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function latency(url, ids, sessions, rate, warmup, measure) {
  const instanceIds = ids === '-' ? ['-'] : ids.split(',');
  const samples = [];
  const sockets = [];
  let measuring = false;
  const intervalMs = (sessions / rate) * 1000;
  for (let i = 0; i < sessions; i += 64) {
    const batch = [];
    for (let j = i; j < Math.min(sessions, i + 64); j++) {
      const s = { out: null, sentAt: 0n, seq: 0 };
      batch.push(openClient(url, instanceIds[j % instanceIds.length], () => {
        const rtt = Number(process.hrtime.bigint() - s.sentAt) / 1e6;
        if (measuring) samples.push(rtt);
        s.out = null;
      }).then((ws) => { s.ws = ws; sockets.push(s); }));
    }
    await Promise.all(batch);
  }
  const payload = Buffer.alloc(16);
  const timers = sockets.map((s) => setTimeout(() => {
    const tick = () => {
      if (s.out === null) {
        payload.writeUInt32BE(s.seq++, 0);
        s.out = s.seq;
        s.sentAt = process.hrtime.bigint();
        s.ws.send(JSON.stringify({ type: 'message', payload: payload.toString('base64') }));
      }
    };
    tick();
    s.timer = setInterval(tick, intervalMs);
  }, Math.random() * intervalMs));
  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  const cpu0 = cpuSeconds();
  await new Promise((r) => setTimeout(r, measure * 1000));
  measuring = false;
  const cpu = cpuSeconds() - cpu0;
  timers.forEach(clearTimeout);
  sockets.forEach((s) => { clearInterval(s.timer); s.ws.close(); });
  samples.sort((a, b) => a - b);
  out({ count: samples.length, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99),
    p999: percentile(samples, 0.999), cpu, seconds: measure });
  setTimeout(() => process.exit(0), 200);
}

const [role, ...args] = process.argv.slice(2);
const fail = (e) => { out({ error: String(e && e.stack || e) }); process.exit(1); };
switch (role) {
  case 'instance': instance(args[0], args.slice(1)); break;
  case 'direct-server': directServer(Number(args[0])); break;
  case 'throughput': throughput(args[0], args[1], Number(args[2]), Number(args[3])).then(() => process.exit(0), fail); break;
  case 'latency': latency(args[0], args[1], Number(args[2]), Number(args[3]), Number(args[4]), Number(args[5])).catch(fail); break;
  default: fail('unknown role ' + role);
}
