// String interning: every name, category and task id in a trace becomes a
// small integer, so the model stores Int32Arrays instead of millions of JS
// strings.
//
// Strings are kept as UTF-8 bytes in one pool and looked up by their bytes
// (with a hash the parser computed while scanning them), so a name costs no
// allocation when it was seen before, and a new one costs a copy of its
// bytes: JS strings are only made when something asks for the text (a label
// on screen, the details panel, a search). Traces with many unique names
// (file paths, ids) load much faster that way.
//
// Ids are for texts, not spellings: a JSON string with escapes ("\u0041")
// is decoded and gets the id of the same text written plainly ("A").

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class StringTable {
  constructor() {
    /** id -> text, filled lazily */
    this.cache = [];
    this.count = 0;
    this.idOff = new Int32Array(1024); // id -> its UTF-8 bytes in the pool
    this.idLen = new Int32Array(1024);
    // Open-addressing hash table over byte keys; a key is a spelling.
    this.mask = 4095;
    this.slots = new Int32Array(this.mask + 1).fill(-1); // -> key index
    this.keyHash = new Int32Array(1024);
    this.keyOff = new Int32Array(1024);
    this.keyLen = new Int32Array(1024);
    this.keyId = new Int32Array(1024);
    this.keyCount = 0;
    this.pool = new Uint8Array(1 << 16);
    this.poolUsed = 0;
  }

  get size() {
    return this.count;
  }

  /** The text of an id (undefined for -1). */
  get(id) {
    if (!(id >= 0 && id < this.count)) return undefined;
    let text = this.cache[id];
    if (text === undefined) {
      const off = this.idOff[id];
      text = this.cache[id] = decodeUtf8(this.pool, off, off + this.idLen[id]);
    }
    return text;
  }

  /** Id of a JS string, adding it if new. */
  intern(text) {
    const bytes = encoder.encode(text);
    const hash = hashBytes(bytes, 0, bytes.length);
    let id = this.lookup(bytes, 0, bytes.length, hash);
    if (id < 0) {
      id = this.newId();
      this.addKey(hash, bytes, 0, bytes.length, id, true);
      this.cache[id] = text;
    }
    return id;
  }

  /**
   * Id of the JSON string body buf[start, end) (between the quotes), whose
   * FNV-1a hash the caller computed; `escaped` says it contains backslashes.
   */
  internBytes(buf, start, end, hash, escaped) {
    const found = this.lookup(buf, start, end, hash);
    if (found >= 0) return found;
    if (!escaped) {
      const id = this.newId();
      this.addKey(hash, buf, start, end, id, true);
      return id;
    }
    // A new spelling with escapes: find or add its plain text, then
    // remember this spelling too.
    const id = this.intern(JSON.parse('"' + decoder.decode(buf.subarray(start, end)) + '"'));
    this.addKey(hash, buf, start, end, id, false);
    return id;
  }

  lookup(buf, start, end, hash) {
    const len = end - start;
    const mask = this.mask;
    const pool = this.pool;
    let slot = hash & mask;
    for (;;) {
      const k = this.slots[slot];
      if (k < 0) return -1;
      if (this.keyHash[k] === hash && this.keyLen[k] === len) {
        const off = this.keyOff[k] - start;
        let i = start;
        while (i < end && pool[off + i] === buf[i]) i++;
        if (i === end) return this.keyId[k];
      }
      slot = (slot + 1) & mask;
    }
  }

  newId() {
    if (this.count === this.idOff.length) {
      this.idOff = grow32(this.idOff, this.count * 2);
      this.idLen = grow32(this.idLen, this.count * 2);
    }
    return this.count++;
  }

  addKey(hash, buf, start, end, id, canonical) {
    const len = end - start;
    if ((this.keyCount + 1) * 2 > this.mask) this.growSlots();
    if (this.keyCount === this.keyHash.length) {
      const n = this.keyCount * 2;
      this.keyHash = grow32(this.keyHash, n);
      this.keyOff = grow32(this.keyOff, n);
      this.keyLen = grow32(this.keyLen, n);
      this.keyId = grow32(this.keyId, n);
    }
    if (this.poolUsed + len > this.pool.length) {
      const next = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      next.set(this.pool.subarray(0, this.poolUsed));
      this.pool = next;
    }
    this.pool.set(buf.subarray(start, end), this.poolUsed);
    const k = this.keyCount++;
    this.keyHash[k] = hash;
    this.keyOff[k] = this.poolUsed;
    this.keyLen[k] = len;
    this.keyId[k] = id;
    if (canonical) {
      this.idOff[id] = this.poolUsed;
      this.idLen[id] = len;
    }
    this.poolUsed += len;
    let slot = hash & this.mask;
    while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = k;
  }

  growSlots() {
    this.mask = this.mask * 2 + 1;
    this.slots = new Int32Array(this.mask + 1).fill(-1);
    for (let k = 0; k < this.keyCount; k++) {
      let slot = this.keyHash[k] & this.mask;
      while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = k;
    }
  }
}

/** FNV-1a over bytes; the parser computes the same hash inline. */
export function hashBytes(buf, start, end) {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 16777619);
  return h;
}

/** Short ASCII strings are cheaper to build directly than through TextDecoder. */
function decodeUtf8(bytes, start, end) {
  if (end - start <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) if (bytes[i] > 127) ascii = false;
    if (ascii) return String.fromCharCode.apply(null, bytes.subarray(start, end));
  }
  return decoder.decode(bytes.subarray(start, end));
}

function grow32(a, n) {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
