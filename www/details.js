// What the details panel says about one slice: where it is, how long it took,
// how long it spent in itself, its span stack (SPEC R13) and its children.

import { OPEN, GAP, firstStartingAtOrAfter } from './store.js';
import { formatDuration, formatTimestamp } from './format.js';

/**
 * The nodes of a slice's span stack: `tasks` from the root task down to the
 * slice's own task, and `inTask` from that task down to the slice itself.
 * The task of a slice is the outermost slice on its lane; a task's parent is
 * the task whose args.id equals its args.parent.
 */
export function spanStack(store, s) {
  const inTask = [];
  for (let n = s; n >= 0; n = store.sParent[n]) inTask.push(n);
  inTask.reverse();
  const task = inTask[0];
  const tasks = [task];
  const seen = new Set([task]);
  let parentId = store.sParentTask[task];
  while (parentId >= 0) {
    const p = store.taskById.get(parentId);
    if (p === undefined) {
      tasks.push({ missingId: parentId }); // parent's begin is not in this trace
      break;
    }
    if (seen.has(p)) break;
    seen.add(p);
    tasks.push(p);
    parentId = store.sParentTask[p];
  }
  tasks.reverse();
  return { tasks, inTask };
}

/** The three R13 renderings of a span stack, and whether ids had to be replaced by names. */
export function renderStack(store, s) {
  const { tasks, inTask } = spanStack(store, s);
  let nameForId = false;
  const strings = store.strings;
  const node = (n) => {
    if (typeof n === 'object') {
      const id = strings.get(n.missingId);
      return { id, name: '?', combined: `(${id} "?")` };
    }
    const name = strings.get(store.sName[n]) ?? '';
    let id = strings.get(store.sTaskId[n]);
    if (id === undefined) {
      id = name;
      nameForId = true;
    }
    return { id, name, combined: `(${id} ${JSON.stringify(name)})` };
  };
  const t = tasks.map(node);
  const i = inTask.map(node);
  const join = (key) => `${t.map((x) => x[key]).join('$')}$${i.map((x) => x[key]).join('.')}`;
  return {
    byId: join('id'),
    byName: join('name'),
    combined: join('combined'),
    nameForId,
    missingParent: tasks.length > 0 && typeof tasks[0] === 'object',
  };
}

/** Direct children of a slice (the next row down, inside its time range). */
export function childrenOf(store, s) {
  const lane = store.lanes[store.sLane[s]];
  const row = lane.rows[store.sDepth[s] + 1];
  const out = [];
  if (!row) return out;
  const end = store.endOf(s);
  for (let i = firstStartingAtOrAfter(store, row, store.sStart[s]); i < row.n; i++) {
    const c = row.a[i];
    if (store.sStart[c] > end) break;
    if (store.sParent[c] === s) out.push(c);
  }
  return out;
}

/** Tasks whose args.parent is this slice's args.id (only for task slices). */
export function childTasks(store, s) {
  const id = store.sTaskId[s];
  const out = [];
  if (id < 0) return out;
  for (const t of store.taskById.values()) if (store.sParentTask[t] === id) out.push(t);
  return out.sort((a, b) => store.sStart[a] - store.sStart[b]);
}

export function describe(store, s) {
  const lane = store.lanes[store.sLane[s]];
  const start = store.sStart[s];
  const open = (store.sFlags[s] & OPEN) !== 0;
  const end = store.endOf(s);
  const dur = end - start;
  const children = childrenOf(store, s);
  let inChildren = 0;
  for (const c of children) inChildren += Math.min(store.endOf(c), end) - Math.max(store.sStart[c], start);
  return {
    name: store.strings.get(store.sName[s]) ?? '',
    lane: lane.label,
    start,
    dur,
    self: dur - inChildren,
    open,
    gap: (store.sFlags[s] & GAP) !== 0,
    children,
    stack: renderStack(store, s),
    taskId: store.strings.get(store.sTaskId[s]),
    childTasks: childTasks(store, s),
  };
}

/** Fill `panel` with the details of slice s; links call onSelect(slice). */
export function renderDetails(panel, store, s, onSelect) {
  panel.replaceChildren();
  const d = describe(store, s);
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...kids);
    return e;
  };
  const t0 = store.tMin;
  const durText = d.open
    ? `unfinished — at least ${formatDuration(d.dur)} so far`
    : d.gap
      ? `at most ${formatDuration(d.dur)} (its end was missed while the live connection was down)`
      : formatDuration(d.dur);
  const rows = [
    ['Name', 'name', d.name],
    ['Lane', 'lane', d.lane],
    ['Start', 'start', `${formatDuration(d.start - t0)} after trace start (ts ${formatTimestamp(d.start)})`],
    ['Duration', 'duration', durText],
    ['Self time', 'self', d.open ? `at least ${formatDuration(d.self)} so far` : formatDuration(d.self)],
  ];
  if (d.taskId !== undefined) rows.splice(2, 0, ['Task id', 'task-id', d.taskId]);
  const dl = el('dl');
  for (const [label, field, value] of rows) dl.append(el('dt', {}, label), el('dd', { 'data-field': field }, value));
  panel.append(el('h2', { 'data-field': 'title' }, d.name || '(unnamed)'), dl);

  const stack = el('section', { class: 'stack' }, el('h3', {}, 'Span stack'));
  for (const [label, field, value] of [
    ['by id', 'stack-id', d.stack.byId],
    ['by name', 'stack-name', d.stack.byName],
    ['combined', 'stack-combined', d.stack.combined],
  ]) {
    stack.append(el('div', { class: 'stack-row' }, el('span', { class: 'stack-label' }, label), el('code', { 'data-field': field }, value)));
  }
  if (d.stack.nameForId) {
    stack.append(el('p', { class: 'note', 'data-field': 'stack-note' },
      'Spans carry no id in the trace, so their name is shown in place of the id.'));
  }
  if (d.stack.missingParent) {
    stack.append(el('p', { class: 'note' }, 'The root-most parent task began before this trace starts; only its id is known.'));
  }
  panel.append(stack);

  const list = (title, field, items) => {
    const sec = el('section', { class: 'children' }, el('h3', {}, `${title} (${items.length})`));
    const ul = el('ul', { 'data-field': field });
    for (const c of items.slice(0, 200)) {
      const a = el('a', { href: '#', 'data-slice': String(c) }, store.strings.get(store.sName[c]) || '(unnamed)');
      a.addEventListener('click', (e) => {
        e.preventDefault();
        onSelect(c);
      });
      const open = store.sFlags[c] & OPEN ? ' (unfinished)' : '';
      ul.append(el('li', {}, a, el('span', { class: 'dur' }, ' ' + formatDuration(store.endOf(c) - store.sStart[c]) + open)));
    }
    if (items.length > 200) ul.append(el('li', { class: 'note' }, `… and ${items.length - 200} more`));
    sec.append(ul);
    return sec;
  };
  panel.append(list('Children', 'children', d.children));
  if (d.childTasks.length) panel.append(list('Child tasks', 'child-tasks', d.childTasks));
  return d;
}
