// Types of "actrace/viewer".

import { Tracer } from './actrace_wasm.js';

/** What the viewer's stats() reports (a subset; see www/viewer.js). */
export interface ViewerStats {
  lanes: number;
  slices: number;
  openSlices: number;
  flows: number;
  events: number;
  warnings: number;
  [key: string]: unknown;
}

export interface ViewerApi {
  push(events: Array<Record<string, unknown>>): number;
  stats(): ViewerStats;
  [key: string]: unknown;
}

export interface ViewerOptions {
  url?: string;
  ws?: string;
  autoStream?: boolean;
  broadcast?: boolean;
  channel?: string;
  globalKeys?: boolean;
}

/** The bundled viewer, as www/ exports it. */
export function mountViewer(element: HTMLElement, options?: ViewerOptions): ViewerApi;

/** Mounts the viewer into `element`, fed live by `tracer`. */
export function mountTraceViewer(tracer: Tracer, element: HTMLElement, options?: ViewerOptions): {
  viewer: ViewerApi;
  push(events: Array<Record<string, unknown>>): number;
  stats(): ViewerStats;
  detach(): boolean;
};
