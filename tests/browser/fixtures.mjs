// Small hand-written traces whose every number is known.

/**
 * Task a (id AAAA) starts task b (id BBBB) on its own lane; in b, span c
 * holds span d, which holds "needle e". Times in µs.
 *   a [0,100]  b [10,90]  c [20,80]  d [30,70]  needle e [35,45]
 */
export const HANDMADE_LINES = [
  '{"ph":"M","pid":1,"name":"process_name","args":{"name":"handmade","origin_unix_us":1764140000000000}}',
  '{"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"a#0"}}',
  '{"ph":"B","pid":1,"tid":1,"ts":0.000,"name":"a","args":{"id":"AAAA","task":"a#0"}}',
  '{"ph":"s","pid":1,"tid":1,"ts":10.000,"id":1,"cat":"actrace","name":"spawn"}',
  '{"ph":"M","pid":1,"tid":2,"name":"thread_name","args":{"name":"b#0"}}',
  '{"ph":"B","pid":1,"tid":2,"ts":10.000,"name":"b","args":{"id":"BBBB","task":"b#0","parent":"AAAA"}}',
  '{"ph":"f","bp":"e","pid":1,"tid":2,"ts":10.000,"id":1,"cat":"actrace","name":"spawn"}',
  '{"ph":"B","pid":1,"tid":2,"ts":20.000,"name":"c"}',
  '{"ph":"B","pid":1,"tid":2,"ts":30.000,"name":"d"}',
  '{"ph":"B","pid":1,"tid":2,"ts":35.000,"name":"needle e"}',
  '{"ph":"E","pid":1,"tid":2,"ts":45.000}',
  '{"ph":"E","pid":1,"tid":2,"ts":70.000}',
  '{"ph":"E","pid":1,"tid":2,"ts":80.000}',
  '{"ph":"E","pid":1,"tid":2,"ts":90.000}',
  '{"ph":"E","pid":1,"tid":1,"ts":100.000}',
];
export const HANDMADE = '[\n' + HANDMADE_LINES.join(',\n') + '\n]\n';
export const HANDMADE_COUNTS = { lanes: 2, slices: 5, openSlices: 0, flows: 1, events: 15 };

/**
 * A Chrome trace from some other tool: object form, pretty-printed, X events
 * out of order (children first), instants, a flow with a step, string ids,
 * metadata and an event type the viewer does not draw (C, counter).
 */
export const FOREIGN = JSON.stringify({
  displayTimeUnit: 'ms',
  otherData: { version: 'x', nested: [1, 2, { deep: true }] },
  traceEvents: [
    { ph: 'M', pid: 7, tid: 1, name: 'thread_name', args: { name: 'Renderer' } },
    { ph: 'M', pid: 7, tid: 2, name: 'thread_name', args: { name: 'IO "thread"\u00e9' } },
    { ph: 'M', pid: 7, name: 'process_name', args: { name: 'browser' } },
    { ph: 'X', pid: 7, tid: 1, ts: 120, dur: 30, name: 'Layout', cat: 'blink' },
    { ph: 'X', pid: 7, tid: 1, ts: 100, dur: 100, name: 'Frame', cat: 'blink', args: { frame: 3, data: { a: [1, null, false] } } },
    { ph: 'X', pid: 7, tid: 1, ts: 160, dur: 20, name: 'Paint', cat: 'blink' },
    { ph: 'B', pid: 7, tid: 2, ts: 105, name: 'Read' },
    { ph: 'E', pid: 7, tid: 2, ts: 140 },
    { ph: 'i', pid: 7, tid: 2, ts: 150, name: 'Mark', s: 't' },
    { ph: 'I', pid: 7, tid: 1, ts: 155, name: 'Global', s: 'g' },
    { ph: 's', pid: 7, tid: 1, ts: 125, id: '0x1', cat: 'ipc', name: 'msg' },
    { ph: 't', pid: 7, tid: 2, ts: 130, id: '0x1', cat: 'ipc', name: 'msg' },
    { ph: 'f', pid: 7, tid: 2, ts: 135, id: '0x1', cat: 'ipc', name: 'msg', bp: 'e' },
    { ph: 's', pid: 7, tid: 1, ts: 126, id: '0x1', cat: 'other', name: 'unmatched' },
    { ph: 'C', pid: 7, tid: 1, ts: 110, name: 'counter', args: { v: 1 } },
    { ph: 'B', pid: 7, tid: 2, ts: 190, name: 'Still open' },
  ],
}, null, 2);
// 3 M + 3 X + B/E + i + I + s,t,f + s + B = 15 accepted; C is not drawn.
export const FOREIGN_COUNTS = { lanes: 2, slices: 4, openSlices: 1, flows: 1, events: 15 };
