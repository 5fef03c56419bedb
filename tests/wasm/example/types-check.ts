// Compiled by tests/wasm/types.test.mjs with tsc --noEmit --strict against
// the installed package's declarations: the API must type-check as the
// example uses it, and misuse must not.
import init, { Tracer, Context, NodeInfo, StackKind, recordTrace, broadcastTrace, streamToWebSocket, decodeEvents } from 'actrace';
import { mountTraceViewer } from 'actrace/viewer';

export async function main(element: HTMLElement): Promise<number> {
  await init();
  const tracer = new Tracer({ processName: 'typed', policy: 'report', onViolation: (m: string, rule: string) => console.log(m, rule) });
  const viewer = mountTraceViewer(tracer, element);
  const recording = recordTrace(tracer);
  broadcastTrace(tracer, { channel: 'actrace' }).close();
  streamToWebSocket(tracer, 'ws://127.0.0.1:1/ingest').close();
  tracer.onEnd((info: NodeInfo) => console.log(info.name, info.durationMs, info.stack(StackKind.Ids)));
  const task: Context = tracer.task('t');
  const n: number = await task.runTask('child', async (ctx: Context) => {
    const span = ctx.span('s');
    span.end();
    return ctx.stack(StackKind.Combined, 'none').length;
  });
  task.end();
  const events = decodeEvents(recording.bytes());
  return n + events.length + viewer.stats().slices + tracer.liveTasks;
}
