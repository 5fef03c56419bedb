// "actrace/viewer": the bundled viewer (www/, copied into ./viewer/) mounted
// in the page and fed by a tracer, batch by batch.

import { mountViewer } from './viewer/viewer.js';
import { decodeEvents } from './index.js';

export { mountViewer };

/**
 * Mounts the viewer into `element` and shows `tracer`'s trace in it live,
 * starting with what is live now (C6). `options` go to mountViewer; the
 * viewer does not listen on the BroadcastChannel unless asked, since a page
 * that also broadcasts its trace would see every event twice.
 */
export function mountTraceViewer(tracer, element, options = {}) {
  addStyles();
  const viewer = mountViewer(element, { broadcast: false, ...options });
  const id = tracer.addSink((bytes) => viewer.push(decodeEvents(bytes)));
  return {
    viewer,
    push: (events) => viewer.push(events),
    stats: () => viewer.stats(),
    detach: () => tracer.removeSink(id),
  };
}

function addStyles() {
  const href = new URL('./viewer/style.css', import.meta.url).href;
  for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
    if (link.href === href) return;
  }
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = href;
  document.head.append(link);
}
