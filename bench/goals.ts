import { pathRoundTrips } from '../src/runner.js';

// One line per goal of issue 12, in one format, so that `npm run bench` (bench/all.ts) can gather
// every sub-benchmark's figures into one table at the end: "goal 3 | server | figure | target | met".
export function goal(n: number, where: string, figure: string, target: string, met: boolean): void {
  console.log(`goal ${n} | ${where} | ${figure} | ${target} | ${met ? 'met' : 'NOT met'}`);
}

/** A target's round trips as the JSON (or a TargetReport) counts them, each session's. */
export interface SessionTrips {
  roundTrips: number;
  besideRoundTrips?: number;
  readerRoundTrips?: number;
}

/** The round trips one after another (pathRoundTrips), and what each session sent. */
export function roundTripsText(t: SessionTrips): { path: number; text: string; short: string } {
  const beside = t.besideRoundTrips ?? 0;
  const readers = (t.readerRoundTrips ?? 0) - beside;
  const path = pathRoundTrips(t);
  const parts = [`first session ${t.roundTrips}`, ...(beside ? [`second ${beside}`] : []), ...(readers ? [`a reader ${readers} beside the second`] : [])];
  return { path, text: `${path} (${parts.join(', ')})`, short: `${path} (${t.roundTrips}/${beside}/${readers})` };
}
