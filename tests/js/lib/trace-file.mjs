// Reading an actrace stream the way a viewer's file loader would.
import fs from 'node:fs';

/**
 * Parse an actrace Chrome JSON stream into its event array.
 *
 * A stream that is still running (or was cut) has no closing `]` (C4). Real
 * viewers accept that (Catapult and Perfetto both do), but the DevTools trace
 * engine is handed already-parsed events, so its checker needs the framing
 * repaired first: keep everything up to the last complete line, then close the
 * array. This touches framing only, never an event.
 */
export function readEvents(file) {
  const text = fs.readFileSync(file, 'utf8');
  try {
    const json = JSON.parse(text);
    return { events: Array.isArray(json) ? json : json.traceEvents, repairedFraming: false };
  } catch {
    const lines = text.split('\n');
    const kept = [];
    for (const line of lines) {
      const body = line.trim().replace(/,$/, '');
      if (body === '[' || body === ']' || body === '') continue;
      try { kept.push(JSON.parse(body)); } catch { break; } // a cut last line ends the stream
    }
    if (!text.trimStart().startsWith('[')) throw new Error(`${file}: not a JSON array stream`);
    return { events: kept, repairedFraming: true };
  }
}
