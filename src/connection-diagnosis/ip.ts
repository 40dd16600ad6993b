// IPv4 and IPv6 addresses as bytes, so that pg_hba.conf address/netmask pairs can be compared the
// way the server compares them (bitwise, per family). Node has no public parser that yields bytes,
// and its isIP is not used to tell the families apart either: the first isIPv6 call compiles a
// regular expression that took 5-6 ms of every check (--cpu-prof), longer than this whole parse.

export interface Address {
  family: 4 | 6;
  bytes: number[];
}

function parseV4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  // No leading zeros, as Node's isIPv4 and inet_pton: 010 is not 10 (nor, as inet_aton reads it, 8).
  const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

function parseV6(text: string): number[] | undefined {
  let body = text.replace(/%.*$/, '');
  let tail: number[] = [];
  // An embedded IPv4 tail (::ffff:127.0.0.1) stands for the last two groups.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4) {
    const b = parseV4(v4[2]!);
    if (!b) return undefined;
    tail = b;
    body = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const groupsWanted = 8 - tail.length / 2;
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = groupsWanted - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return [...bytes, ...tail];
}

export function parseAddress(text: string): Address | undefined {
  if (!text.includes(':')) {
    const bytes = parseV4(text);
    return bytes ? { family: 4, bytes } : undefined;
  }
  const bytes = parseV6(text);
  return bytes && bytes.length === 16 ? { family: 6, bytes } : undefined;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z). */
export function isLoopback(text: string): boolean {
  const a = parseAddress(text);
  if (!a) return false;
  if (a.family === 4) return a.bytes[0] === 127;
  if (a.bytes.slice(0, 15).every((b) => b === 0) && a.bytes[15] === 1) return true;
  const mapped = a.bytes.slice(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff;
  return mapped && a.bytes[12] === 127;
}

/** The prefix length of a contiguous netmask (255.255.255.0 → 24), or undefined for odd masks. */
export function maskToPrefix(mask: string): number | undefined {
  const a = parseAddress(mask);
  if (!a) return undefined;
  let bits = 0;
  let ended = false;
  for (const byte of a.bytes) {
    for (let i = 7; i >= 0; i--) {
      const set = (byte >> i) & 1;
      if (set && ended) return undefined;
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

export function prefixMask(family: 4 | 6, prefix: number): number[] {
  const len = family === 4 ? 4 : 16;
  return Array.from({ length: len }, (_, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  });
}

export function applyMask(a: Address, mask: number[]): number[] {
  return a.bytes.map((b, i) => b & (mask[i] ?? 0));
}

export function formatAddress(a: Address): string {
  if (a.family === 4) return a.bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a.bytes[i]! << 8) | a.bytes[i + 1]!);
  // The longest run of zero groups becomes "::", as inet output does.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Whether `inner` (address + mask) lies wholly inside `outer`: same family, wider or equal mask, same network. */
export function rangeContains(outer: { addr: Address; mask: number[] }, inner: { addr: Address; mask: number[] }): boolean {
  if (outer.addr.family !== inner.addr.family) return false;
  const widerOrEqual = outer.mask.every((m, i) => (m & (inner.mask[i] ?? 0)) === m);
  if (!widerOrEqual) return false;
  const a = applyMask(outer.addr, outer.mask);
  const b = applyMask(inner.addr, outer.mask);
  return a.every((x, i) => x === b[i]);
}

/** `addr/prefix` as pg_hba.conf writes a single host: /32 for IPv4, /128 for IPv6. */
export function hostCidr(text: string): string {
  const a = parseAddress(text);
  if (!a) return text;
  return `${formatAddress(a)}/${a.family === 4 ? 32 : 128}`;
}
