import type { CheckTarget } from '../target-view.js';
import { shellQuote } from '../quote.js';

/** `-h H -p P -U U` for libpq client tools, so that pasted commands reach the same server. */
export function clientFlags(target: CheckTarget, user = target.connection.user): string {
  const c = target.connection;
  return `-h ${shellQuote(c.host)} -p ${c.port} -U ${shellQuote(user)}`;
}
