// A test OTLP/HTTP receiver on 127.0.0.1 for lstrace-bpf's integration tests.
// Every request is decoded by the OpenTelemetry JavaScript packages' own
// protobuf code (@opentelemetry/otlp-transformer's generated root, on
// protobufjs), never by lstrace's: protobuf bodies with its decoder, JSON
// bodies checked against the same schema (converted with fromObject and
// back: a field the schema does not have, or a wrong type, makes them
// differ, and the request is answered 400 and logged as invalid).
//
//   node receiver.js --port N|0 --port-file F --out F [--behaviour B]
//     --behaviour ok                 answer 200 (the default)
//     --behaviour status:CODE:N[:RA] answer CODE to the first N requests
//                                    (N "all": every one), with Retry-After RA
//     --behaviour hang               accept, read, never answer
//   node receiver.js --decode-json-lines FILE --out F
//                                    check a file of OTLP/JSON requests
//
// --out gets one JSON line per request: {"t_ms", "status", "content_type",
// "gzip", "valid", "error", "request"}, the request decoded with trace and
// span ids as hex and 64-bit integers as strings.
'use strict';
const http = require('http');
const fs = require('fs');
const zlib = require('zlib');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const Response = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const TO_OBJECT = { longs: String, enums: Number, bytes: String };

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// Walks a decoded object, turning the id fields with `convert`.
function mapIds(value, convert) {
  if (Array.isArray(value)) return value.map((v) => mapIds(v, convert));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value))
      out[k] = ID_FIELDS.has(k) && typeof v === 'string' ? convert(v) : mapIds(v, convert);
    return out;
  }
  return value;
}
const b64ToHex = (s) => Buffer.from(s, 'base64').toString('hex');
const hexToB64 = (s) => Buffer.from(s, 'hex').toString('base64');

// Sorted keys, 64-bit integers as strings: two forms of one message compare equal.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value).sort()) {
      const v = value[k];
      if (Array.isArray(v) && v.length === 0) continue;
      out[k] = /UnixNano$|^intValue$/.test(k) && typeof v === 'number' ? String(v) : canonical(v);
    }
    return out;
  }
  return value;
}

function decodeProtobuf(body) {
  const message = Request.decode(body);
  return mapIds(Request.toObject(message, TO_OBJECT), b64ToHex);
}

// OTLP/JSON: ids are hex; the rest is protobuf's JSON mapping.
function decodeJson(text) {
  const parsed = JSON.parse(text);
  const back = mapIds(Request.toObject(Request.fromObject(mapIds(parsed, hexToB64)), TO_OBJECT), b64ToHex);
  const a = JSON.stringify(canonical(parsed));
  const b = JSON.stringify(canonical(back));
  if (a !== b) {
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    throw new Error('fields outside the schema or of the wrong type near: ' + a.slice(Math.max(0, i - 80), i + 80));
  }
  return back;
}

const out = fs.openSync(arg('--out', '/dev/null'), 'a');
const log = (entry) => fs.writeSync(out, JSON.stringify(entry) + '\n');

if (arg('--decode-json-lines')) {
  let bad = 0;
  for (const line of fs.readFileSync(arg('--decode-json-lines'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      log({ valid: true, request: decodeJson(line) });
    } catch (e) {
      bad++;
      log({ valid: false, error: String(e.message) });
    }
  }
  process.exit(bad ? 1 : 0);
}

const behaviour = arg('--behaviour', 'ok');
const started = Date.now();
let served = 0;

function answer(req, res, body) {
  const n = served++;
  const contentType = String(req.headers['content-type'] || '');
  const gz = req.headers['content-encoding'] === 'gzip';
  const entry = { t_ms: Date.now() - started, content_type: contentType, gzip: gz, path: req.url };
  const json = contentType.startsWith('application/json');
  if (behaviour === 'hang') {
    entry.status = 'hang';
    log(entry);
    return;  // never answered
  }
  const m = /^status:(\d+):(\d+|all)(?::(.+))?$/.exec(behaviour);
  if (m && (m[2] === 'all' || n < Number(m[2]))) {
    const code = Number(m[1]);
    const headers = { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' };
    if (m[3]) headers['Retry-After'] = m[3];
    const message = 'test receiver says ' + code;
    // google.rpc.Status{message}: field 2, length-delimited
    const status = json ? JSON.stringify({ code: 3, message })
                        : Buffer.concat([Buffer.from([0x12, message.length]), Buffer.from(message)]);
    entry.status = code;
    log(entry);
    res.writeHead(code, headers);
    res.end(status);
    return;
  }
  try {
    const raw = gz ? zlib.gunzipSync(body) : body;
    entry.request = json ? decodeJson(raw.toString('utf8')) : decodeProtobuf(raw);
    entry.valid = true;
    entry.status = 200;
  } catch (e) {
    entry.valid = false;
    entry.error = String(e.message);
    entry.status = 400;
  }
  log(entry);
  if (entry.status !== 200) {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(entry.error);
    return;
  }
  if (json) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  } else {
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
    res.end(Buffer.from(Response.encode(Response.create({})).finish()));
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => answer(req, res, Buffer.concat(chunks)));
});
server.keepAliveTimeout = 60000;
server.listen(Number(arg('--port', '0')), '127.0.0.1', () => {
  const portFile = arg('--port-file');
  if (portFile) fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  if (portFile) fs.renameSync(portFile + '.tmp', portFile);
});
const stop = () => {
  fs.fsyncSync(out);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
