// Statuses, their order, and the --fail-on threshold: the vocabulary every layer shares.
/** Ordered from harmless to worst; `failed` means the check itself could not run to the end. */
export const STATUSES = ['ok', 'skipped', 'info', 'warning', 'error', 'failed'] as const;
export type Status = (typeof STATUSES)[number];

export function worstStatus(statuses: Iterable<Status>): Status {
  let worst: Status = 'ok';
  for (const s of statuses) if (STATUSES.indexOf(s) > STATUSES.indexOf(worst)) worst = s;
  return worst;
}

export function statusAtLeast(status: Status, threshold: Status): boolean {
  return STATUSES.indexOf(status) >= STATUSES.indexOf(threshold);
}

/** --fail-on: the lowest status that makes the run exit 1, or never. */
export type FailOn = 'error' | 'warning' | 'never';
