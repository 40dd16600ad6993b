// One line per goal of issue 12, in one format, so that `npm run bench` (bench/all.ts) can gather
// every sub-benchmark's figures into one table at the end: "goal 3 | server | figure | target | met".
export function goal(n: number, where: string, figure: string, target: string, met: boolean): void {
  console.log(`goal ${n} | ${where} | ${figure} | ${target} | ${met ? 'met' : 'NOT met'}`);
}
