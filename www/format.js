// Human-readable times. Trace timestamps are microseconds (SPEC C5).

/** A duration with a unit that keeps 3 significant digits: "412 ns", "1.25 ms". */
export function formatDuration(us) {
  if (!Number.isFinite(us)) return '—';
  const a = Math.abs(us);
  if (a === 0) return '0 µs';
  if (a < 1) return `${round3(us * 1000)} ns`;
  if (a < 1e3) return `${round3(us)} µs`;
  if (a < 1e6) return `${round3(us / 1e3)} ms`;
  if (a < 60e6) return `${round3(us / 1e6)} s`;
  const m = Math.floor(a / 60e6);
  return `${us < 0 ? '-' : ''}${m} min ${round3((a - m * 60e6) / 1e6)} s`;
}

function round3(v) {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * A point in time (µs since the trace start) for a ruler whose ticks are
 * `step` apart: as many decimals as the step needs, in one unit.
 */
export function formatTime(us, step) {
  const units = [
    [1e6, 's'],
    [1e3, 'ms'],
    [1, 'µs'],
    [1e-3, 'ns'],
  ];
  let [div, unit] = units[units.length - 1];
  for (const u of units) {
    if (step >= u[0]) {
      [div, unit] = u;
      break;
    }
  }
  const decimals = Math.max(0, Math.ceil(-Math.log10(step / div) - 1e-9));
  return `${(us / div).toFixed(Math.min(decimals, 6))} ${unit}`;
}

/** A timestamp for the details panel: microseconds with nanosecond precision. */
export function formatTimestamp(us) {
  return `${us.toFixed(3)} µs`;
}
