// A one-line progress display on stderr for runs that take more than a moment. Only on a terminal
// and only for text output: machine formats and logs (systemd, CI) never see it.
import type { RunProgress } from '../runner.js';
import type { Io } from './io.js';

/** Runs shorter than this show nothing at all. */
const DELAY_MS = 400;
const FRAME_MS = 100;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR = '\r\x1b[K';

export interface Progress {
  update(p: RunProgress): void;
  /** A line that must stay (a --wait note): printed above the progress line. */
  note(line: string): void;
  /** Removes the progress line; call before printing the report. */
  stop(): void;
}

function describe(p: RunProgress): string {
  if (!p.check) return `connecting to ${p.database}`;
  return `checking ${p.database}: ${p.check} (${p.done + 1}/${p.total})`;
}

export function startProgress(io: Io, enabled: boolean): Progress {
  if (!enabled) return { update: () => undefined, note: (line) => io.stderr(`${line}\n`), stop: () => undefined };
  let text = 'starting';
  let frame = 0;
  let drawn = false;
  const draw = () => {
    io.stderr(`${CLEAR}${FRAMES[frame++ % FRAMES.length]} ${text}`);
    drawn = true;
  };
  let ticker: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    draw();
    ticker = setInterval(draw, FRAME_MS);
    ticker.unref();
  }, DELAY_MS);
  delay.unref();
  return {
    update(p) {
      text = describe(p);
    },
    note(line) {
      io.stderr(`${drawn ? CLEAR : ''}${line}\n`);
      drawn = false;
    },
    stop() {
      clearTimeout(delay);
      if (ticker) clearInterval(ticker);
      if (drawn) io.stderr(CLEAR);
      drawn = false;
    },
  };
}
