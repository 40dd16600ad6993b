import type { DatabaseTarget } from './config/target.js';

/** Defence in depth: whatever a message or a plugin printed, the passwords we know never leave. */
export function secretsOf(targets: DatabaseTarget[], extra: (string | undefined)[] = []): string[] {
  const all = [...targets.flatMap((t) => [t.connection.password, ...(t.connection.hosts ?? []).map((h) => h.password)]), ...extra];
  return [...new Set(all.filter((s): s is string => typeof s === 'string' && s.length >= 3))];
}

export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) {
    out = out.split(s).join('********');
    // The same secret as it appears URI-encoded or inside a JSON string.
    for (const form of [encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]) {
      if (form !== s) out = out.split(form).join('********');
    }
  }
  return out;
}
