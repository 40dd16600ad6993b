import { describe, expect, it, inject } from 'vitest';
import pg from 'pg';

describe('throwaway servers', () => {
  for (const s of inject('servers')) {
    it(`PostgreSQL ${s.major} accepts connections over TCP and the Unix socket`, async () => {
      for (const host of [s.host, s.socketDir]) {
        const c = new pg.Client({ host, port: s.port, user: 'postgres', database: 'postgres' });
        await c.connect();
        const { rows } = await c.query<{ v: string }>("select current_setting('server_version_num') as v");
        await c.end();
        expect(Math.floor(Number(rows[0]!.v) / 10000)).toBe(s.major);
      }
    });
  }
});
