// String interning: every name, category and task id in a trace becomes a
// small integer, so the model stores Int32Arrays instead of millions of JS
// strings. The byte parser looks strings up by their raw UTF-8 bytes (and a
// hash it computed while scanning them), so a name that was seen before costs
// no allocation at all; pushed JS objects look up by string. Both routes give
// the same id for the same text.

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class StringTable {
  constructor() {
    /** @type {string[]} id -> text */
    this.strings = [];
    /** text -> id */
    this.byText = new Map();
    // Open-addressing hash table over raw byte keys. A raw key differs from
    // the text when it holds JSON escapes, so several keys may map to one id.
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
    return this.strings.length;
  }

  get(id) {
    return id >= 0 ? this.strings[id] : undefined;
  }

  /** Id of a JS string, adding it if new. */
  intern(text) {
    let id = this.byText.get(text);
    if (id !== undefined) return id;
    id = this.strings.length;
    this.strings.push(text);
    this.byText.set(text, id);
    const bytes = encoder.encode(text);
    this.addKey(hashBytes(bytes, 0, bytes.length), bytes, 0, bytes.length, id);
    return id;
  }

  /**
   * Id of the JSON string body buf[start, end) (between the quotes), whose
   * FNV-1a hash the caller computed; `escaped` says it contains backslashes.
   */
  internBytes(buf, start, end, hash, escaped) {
    const len = end - start;
    const mask = this.mask;
    let slot = hash & mask;
    for (;;) {
      const k = this.slots[slot];
      if (k < 0) break;
      if (this.keyHash[k] === hash && this.keyLen[k] === len) {
        const off = this.keyOff[k];
        const pool = this.pool;
        let i = 0;
        while (i < len && pool[off + i] === buf[start + i]) i++;
        if (i === len) return this.keyId[k];
      }
      slot = (slot + 1) & mask;
    }
    // Miss: decode once, then remember the raw bytes for next time.
    let text = decoder.decode(buf.subarray(start, end));
    if (escaped) text = JSON.parse('"' + text + '"');
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(text);
      this.byText.set(text, id);
    }
    this.addKey(hash, buf, start, end, id);
    return id;
  }

  addKey(hash, buf, start, end, id) {
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

function grow32(a, n) {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
