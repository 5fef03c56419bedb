// An incremental reader for Chrome JSON traces, working on UTF-8 bytes.
//
// Why not JSON.parse: a 66 MB trace would become a million objects before the
// first pixel is drawn. This reader walks the bytes once, pulls out the few
// fields the viewer uses (ph, ts, dur, pid, tid, name, cat, id, s, and
// args.id/parent/task/name/sort_index), interns strings without decoding them
// twice, and hands plain numbers to the store.
//
// It accepts the array form and the {"traceEvents": [...]} form, in any
// layout (one event per line, pretty-printed, one long line). Input may stop
// anywhere (SPEC C4): feed() keeps the incomplete tail and finish() reports
// that the trace was cut. Anything that is not JSON throws a TraceSyntaxError
// with the line and column of the offending byte.

const INCOMPLETE = { incomplete: true }; // thrown when a chunk ends mid-value

export class TraceSyntaxError extends Error {
  constructor(message, line, column) {
    super(`${message} at line ${line}, column ${column}`);
    this.name = 'TraceSyntaxError';
    this.line = line;
    this.column = column;
  }
}

const ROOT = 0; // before the first byte of the trace
const ARRAY = 1; // inside the events array
const OBJECT = 2; // inside {"traceEvents": ...}, between keys
const DONE = 3; // after the closing bracket

const TWO_POW_40 = 1099511627776;
const latin1 = new TextDecoder('latin1');

export class TraceParser {
  /** @param {import('./store.js').TraceStore} store */
  constructor(store) {
    this.store = store;
    this.strings = store.strings;
    this.mode = ROOT;
    this.objectForm = false;
    this.carry = null;
    this.base = 0; // absolute offset of buf[0]
    this.line = 1;
    this.lineStart = 0; // absolute offset of the first byte of this line
    this.bytes = 0;
    this.buf = null;
    this.n = 0;
    this.eventLine = 0;
    this.eventColumn = 0;
    this.resetEvent();
  }

  resetEvent() {
    this.ph = 0;
    this.pid = 0;
    this.tid = 0;
    this.ts = NaN;
    this.dur = NaN;
    this.name = -1;
    this.cat = -1;
    this.flowId = NaN;
    this.scope = null;
    this.argId = -1;
    this.argParent = -1;
    this.argTask = -1;
    this.argName = -1;
    this.argSort = NaN;
    this.actrace = -1;
    this.count = NaN;
  }

  /** Where the current event starts, for messages. */
  location() {
    return `line ${this.eventLine}, column ${this.eventColumn}`;
  }

  /** Parse as much of the input as is complete. */
  feed(chunk) {
    let buf = chunk;
    if (this.carry !== null) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry);
      buf.set(chunk, this.carry.length);
      this.carry = null;
    }
    this.bytes += chunk.length;
    this.buf = buf;
    const n = (this.n = buf.length);
    let p = 0;
    let resume = 0; // where to restart if the input stops mid-value
    let resumeLine = this.line;
    let resumeLineStart = this.lineStart;
    try {
      for (;;) {
        p = this.ws(p);
        if (p >= n) break;
        resume = p;
        resumeLine = this.line;
        resumeLineStart = this.lineStart;
        const c = buf[p];
        if (this.mode === ARRAY) {
          if (c === 123) {
            p = this.event(p);
          } else if (c === 44) {
            p++; // separators are not checked strictly: trailing commas are common
          } else if (c === 93) {
            p++;
            this.mode = this.objectForm ? OBJECT : DONE;
          } else {
            throw this.error(`expected an event object "{" or "]" but found ${show(c)}`, p);
          }
        } else if (this.mode === ROOT) {
          if (c === 91) {
            this.mode = ARRAY;
            p++;
          } else if (c === 123) {
            this.mode = OBJECT;
            p++;
          } else if (c === 0xef && p === 0 && this.base === 0) {
            p += 3; // UTF-8 byte order mark
          } else {
            throw this.error(`a trace must start with "[" or "{", found ${show(c)}`, p);
          }
        } else if (this.mode === OBJECT) {
          p = this.topLevelKey(p);
        } else {
          throw this.error(`unexpected ${show(c)} after the end of the trace`, p);
        }
      }
    } catch (e) {
      if (e !== INCOMPLETE) throw e;
      this.carry = buf.slice(resume);
      this.base += resume;
      this.line = resumeLine;
      this.lineStart = resumeLineStart;
      return;
    }
    this.base += n;
  }

  /**
   * End of input. Returns what kind of ending the trace had; a cut trace is
   * not an error (C4), empty input is.
   */
  finish() {
    const cutBytes = this.carry ? this.carry.length : 0;
    if (this.mode === ROOT && cutBytes === 0) {
      throw new TraceSyntaxError('the trace is empty', this.line, 1);
    }
    return {
      closed: this.mode === DONE,
      cut: cutBytes > 0,
      cutLine: this.line,
      bytes: this.bytes,
    };
  }

  error(message, p) {
    return new TraceSyntaxError(message, this.line, this.base + p - this.lineStart + 1);
  }

  ws(p) {
    const buf = this.buf;
    const n = this.n;
    for (; p < n; p++) {
      const c = buf[p];
      if (c === 10) {
        this.line++;
        this.lineStart = this.base + p + 1;
      } else if (c !== 32 && c !== 13 && c !== 9) {
        break;
      }
    }
    return p;
  }

  /** A key of the root object: traceEvents opens the array, others are skipped. */
  topLevelKey(p) {
    const buf = this.buf;
    const c = buf[p];
    if (c === 44) return p + 1;
    if (c === 125) {
      this.mode = DONE;
      return p + 1;
    }
    if (c !== 34) throw this.error(`expected a key in the trace object but found ${show(c)}`, p);
    p = this.string(p);
    const key = latin1.decode(buf.subarray(this.strStart, this.strEnd));
    p = this.colon(p);
    if (key === 'traceEvents') {
      if (buf[p] !== 91) {
        if (p >= this.n) throw INCOMPLETE;
        throw this.error(`"traceEvents" must be an array, found ${show(buf[p])}`, p);
      }
      this.objectForm = true;
      this.mode = ARRAY;
      return p + 1;
    }
    return this.skipValue(p);
  }

  colon(p) {
    p = this.ws(p);
    if (p >= this.n) throw INCOMPLETE;
    if (this.buf[p] !== 58) throw this.error(`expected ":" after a key but found ${show(this.buf[p])}`, p);
    p = this.ws(p + 1);
    if (p >= this.n) throw INCOMPLETE;
    return p;
  }

  /** One event object starting at buf[p] === "{". Returns the offset after it. */
  event(p) {
    const buf = this.buf;
    const n = this.n;
    this.eventLine = this.line;
    this.eventColumn = this.base + p - this.lineStart + 1;
    this.resetEvent();
    p = this.ws(p + 1);
    if (p >= n) throw INCOMPLETE;
    if (buf[p] !== 125) {
      for (;;) {
        if (buf[p] !== 34) throw this.error(`expected a key in an event but found ${show(buf[p])}`, p);
        p = this.string(p);
        const k0 = buf[this.strStart];
        const k1 = buf[this.strStart + 1];
        const len = this.strEnd - this.strStart;
        p = this.colon(p);
        const c = buf[p];
        if (len === 2 && k0 === 112 && k1 === 104) {
          // "ph"
          if (c !== 34) throw this.error('"ph" must be a string', p);
          p = this.string(p);
          this.ph = this.strEnd - this.strStart === 1 ? buf[this.strStart] : -1;
        } else if (len === 2 && k0 === 116 && k1 === 115) {
          // "ts"
          p = this.numberOrSkip(p);
          this.ts = this.num;
        } else if (len === 4 && k0 === 110 && k1 === 97) {
          // "name"
          if (c === 34) {
            p = this.string(p);
            this.name = this.intern();
          } else p = this.skipValue(p);
        } else if (len === 3 && k1 === 105 && k0 === 116) {
          // "tid"
          p = this.idValue(p);
          this.tid = this.num;
        } else if (len === 3 && k1 === 105 && k0 === 112) {
          // "pid"
          p = this.idValue(p);
          this.pid = this.num;
        } else if (len === 3 && k0 === 100) {
          // "dur"
          p = this.numberOrSkip(p);
          this.dur = this.num;
        } else if (len === 4 && k0 === 97 && k1 === 114) {
          // "args"
          p = c === 123 ? this.args(p) : this.skipValue(p);
        } else if (len === 3 && k0 === 99 && k1 === 97) {
          // "cat"
          if (c === 34) {
            p = this.string(p);
            this.cat = this.intern();
          } else p = this.skipValue(p);
        } else if (len === 2 && k0 === 105 && k1 === 100) {
          // "id" (flows): numbers and strings are different ids
          if (c === 34) {
            p = this.string(p);
            this.flowId = TWO_POW_40 + this.intern();
          } else p = this.numberOrSkip(p);
          if (c !== 34) this.flowId = this.num;
        } else if (len === 1 && k0 === 115) {
          // "s": instant scope
          if (c === 34) {
            p = this.string(p);
            this.scope = String.fromCharCode(buf[this.strStart]);
          } else p = this.skipValue(p);
        } else if (len === 7 && k0 === 97 && k1 === 99) {
          // "actrace": a control line of the live stream
          if (c === 34) {
            p = this.string(p);
            this.actrace = this.intern();
          } else p = this.skipValue(p);
        } else if (len === 5 && k0 === 99 && k1 === 111) {
          // "count" of a dropped notice
          p = this.numberOrSkip(p);
          this.count = this.num;
        } else {
          p = this.skipValue(p);
        }
        p = this.ws(p);
        if (p >= n) throw INCOMPLETE;
        const d = buf[p];
        if (d === 44) {
          p = this.ws(p + 1);
          if (p >= n) throw INCOMPLETE;
        } else if (d === 125) {
          break;
        } else {
          throw this.error(`expected "," or "}" in an event but found ${show(d)}`, p);
        }
      }
    }
    this.dispatch();
    return p + 1;
  }

  dispatch() {
    const store = this.store;
    if (this.actrace >= 0) {
      if (this.strings.get(this.actrace) === 'dropped') store.noteDropped(this.count === this.count ? this.count : 0);
      return;
    }
    if (this.ph === 0) {
      store.warn(`event without "ph" (${this.location()})`);
      return;
    }
    store.event(this.ph, this.pid, this.tid, this.ts, this.dur, this.name, this.cat, this.flowId,
      this.argId, this.argParent, this.argTask, this.argName, this.argSort, this.scope, this);
  }

  /** The args object: a few known keys, everything else skipped. */
  args(p) {
    const buf = this.buf;
    const n = this.n;
    p = this.ws(p + 1);
    if (p >= n) throw INCOMPLETE;
    if (buf[p] === 125) return p + 1;
    for (;;) {
      if (buf[p] !== 34) throw this.error(`expected a key in "args" but found ${show(buf[p])}`, p);
      p = this.string(p);
      const k0 = buf[this.strStart];
      const len = this.strEnd - this.strStart;
      p = this.colon(p);
      const c = buf[p];
      if (len === 2 && k0 === 105 && buf[this.strStart + 1] === 100) {
        p = this.stringId(p); // "id"
        this.argId = this.sid;
      } else if (len === 6 && k0 === 112) {
        p = this.stringId(p); // "parent"
        this.argParent = this.sid;
      } else if (len === 4 && k0 === 116) {
        p = this.stringId(p); // "task"
        this.argTask = this.sid;
      } else if (len === 4 && k0 === 110) {
        p = this.stringId(p); // "name"
        this.argName = this.sid;
      } else if (len === 10 && k0 === 115 && c !== 34) {
        p = this.numberOrSkip(p); // "sort_index"
        this.argSort = this.num;
      } else {
        p = this.skipValue(p);
      }
      p = this.ws(p);
      if (p >= n) throw INCOMPLETE;
      const d = buf[p];
      if (d === 44) {
        p = this.ws(p + 1);
        if (p >= n) throw INCOMPLETE;
      } else if (d === 125) {
        return p + 1;
      } else {
        throw this.error(`expected "," or "}" in "args" but found ${show(d)}`, p);
      }
    }
  }

  /** A string (or a number, as text) interned into this.sid; -1 for others. */
  stringId(p) {
    const c = this.buf[p];
    if (c === 34) {
      p = this.string(p);
      this.sid = this.intern();
      return p;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      p = this.number(p);
      this.sid = this.strings.intern(String(this.num));
      return p;
    }
    this.sid = -1;
    return this.skipValue(p);
  }

  /** pid/tid: numbers, or strings mapped to ids that cannot clash with numbers. */
  idValue(p) {
    const c = this.buf[p];
    if (c === 34) {
      p = this.string(p);
      this.num = -1 - this.intern();
      return p;
    }
    return this.numberOrSkip(p);
  }

  numberOrSkip(p) {
    const c = this.buf[p];
    if (c === 45 || (c >= 48 && c <= 57)) return this.number(p);
    this.num = NaN;
    return this.skipValue(p);
  }

  intern() {
    return this.strings.internBytes(this.buf, this.strStart, this.strEnd, this.strHash, this.strEscaped);
  }

  /** A JSON string at buf[p] === '"': sets strStart/strEnd (the body), strHash, strEscaped. */
  string(p) {
    const buf = this.buf;
    const n = this.n;
    const start = ++p;
    let h = 0x811c9dc5 | 0;
    let escaped = false;
    for (;;) {
      if (p >= n) throw INCOMPLETE;
      const c = buf[p];
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        h = Math.imul(h ^ c, 16777619);
        p++;
        if (p >= n) throw INCOMPLETE;
        const e = buf[p];
        if (e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116 && e !== 117) {
          throw this.error(`invalid escape "\\${String.fromCharCode(e)}" in a string`, p - 1);
        }
        h = Math.imul(h ^ e, 16777619);
        p++;
        continue;
      }
      if (c < 32) throw this.error(c === 10 ? 'line break inside a string' : `control character ${c} inside a string`, p);
      h = Math.imul(h ^ c, 16777619);
      p++;
    }
    this.strStart = start;
    this.strEnd = p;
    this.strHash = h;
    this.strEscaped = escaped;
    return p + 1;
  }

  /** A JSON number into this.num. */
  number(p) {
    const buf = this.buf;
    const n = this.n;
    const start = p;
    let c = buf[p];
    if (c === 45) c = buf[++p];
    let m = 0;
    let digits = 0;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      c = buf[++p];
    }
    if (digits === 0) {
      if (p >= n) throw INCOMPLETE;
      throw this.error(`invalid number, found ${show(c)}`, p);
    }
    let scale = 1;
    let exact = true;
    if (c === 46) {
      c = buf[++p];
      let fd = 0;
      while (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        scale *= 10;
        fd++;
        c = buf[++p];
      }
      if (fd === 0) {
        if (p >= n) throw INCOMPLETE;
        throw this.error(`invalid number: no digits after "."`, p);
      }
      digits += fd;
    }
    if (c === 101 || c === 69) {
      exact = false;
      c = buf[++p];
      if (c === 43 || c === 45) c = buf[++p];
      let ed = 0;
      while (c >= 48 && c <= 57) {
        ed++;
        c = buf[++p];
      }
      if (ed === 0) {
        if (p >= n) throw INCOMPLETE;
        throw this.error('invalid number: no digits in the exponent', p);
      }
    }
    // The number may go on in the next chunk.
    if (p >= n) throw INCOMPLETE;
    if (exact && digits <= 15) {
      // Both are exact doubles, so one division rounds correctly.
      this.num = buf[start] === 45 ? -m / scale : m / scale;
    } else {
      this.num = parseFloat(latin1.decode(buf.subarray(start, p)));
    }
    return p;
  }

  /** Any JSON value, checked but not kept. */
  skipValue(p) {
    const buf = this.buf;
    const n = this.n;
    if (p >= n) throw INCOMPLETE;
    const c = buf[p];
    if (c === 34) return this.string(p);
    if (c === 45 || (c >= 48 && c <= 57)) return this.number(p);
    if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      p = this.ws(p + 1);
      if (p >= n) throw INCOMPLETE;
      if (buf[p] === close) return p + 1;
      for (;;) {
        if (c === 123) {
          if (buf[p] !== 34) throw this.error(`expected a key but found ${show(buf[p])}`, p);
          p = this.colon(this.string(p));
        }
        p = this.ws(this.skipValue(p));
        if (p >= n) throw INCOMPLETE;
        const d = buf[p];
        if (d === close) return p + 1;
        if (d !== 44) throw this.error(`expected "," or "${String.fromCharCode(close)}" but found ${show(d)}`, p);
        p = this.ws(p + 1);
        if (p >= n) throw INCOMPLETE;
      }
    }
    for (const word of ['true', 'false', 'null']) {
      if (c === word.charCodeAt(0)) {
        for (let i = 1; i < word.length; i++) {
          if (p + i >= n) throw INCOMPLETE;
          if (buf[p + i] !== word.charCodeAt(i)) throw this.error(`invalid value, expected ${word}`, p);
        }
        return p + word.length;
      }
    }
    throw this.error(`expected a value but found ${show(c)}`, p);
  }
}

function show(c) {
  if (c === undefined) return 'the end of the input';
  if (c >= 33 && c < 127) return `"${String.fromCharCode(c)}"`;
  if (c === 32) return 'a space';
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}
