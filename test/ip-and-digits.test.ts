// The two hand-written replacements for Node built-ins that cost start-up time (src/units.ts
// groupDigits for toLocaleString, src/connection-diagnosis/ip.ts for net.isIP): each must agree
// with the built-in it replaced on every input kind the checks meet.
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatAddress, maskToPrefix, parseAddress } from '../src/connection-diagnosis/ip.js';
import { groupDigits } from '../src/units.js';

describe('groupDigits', () => {
  it.each([0, 7, 999, 1000, 1429, 65_535, 1_000_000, 2_146_483_647, -1234, 9_007_199_254_740_991])('%d as en-US writes it', (n) => {
    expect(groupDigits(n)).toBe(n.toLocaleString('en-US'));
  });

  it('rounds an estimate to a whole number', () => {
    expect(groupDigits(1234.6)).toBe('1,235');
  });
});

describe('parseAddress', () => {
  const inputs = [
    '127.0.0.1', '0.0.0.0', '255.255.255.255', '10.1.2.3', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04',
    '::1', '::', '::ffff:127.0.0.1', 'fe80::1', '2001:db8::8a2e:370:7334', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9',
    '1::2::3', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '12345::1', 'g::1', '::ffff:1.2.3.256', 'localhost', '', 'samehost',
    '1:2:3:4:5:6:1.2.3.4', '::1.2.3.4',
  ];
  it.each(inputs)('%j: the family net.isIP gives', (text) => {
    expect(parseAddress(text)?.family ?? 0).toBe(isIP(text));
  });

  it('reads the bytes, with a zone id ignored for IPv6 only', () => {
    expect(parseAddress('fe80::1%eth0')).toEqual({ family: 6, bytes: [0xfe, 0x80, ...Array(13).fill(0), 1] });
    expect(parseAddress('10.0.0.1%eth0')).toBeUndefined();
    expect(formatAddress(parseAddress('2001:db8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(maskToPrefix('255.255.255.0')).toBe(24);
    expect(maskToPrefix('ffff:ffff::')).toBe(32);
    expect(maskToPrefix('255.0.255.0')).toBeUndefined();
  });
});
