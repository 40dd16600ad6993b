// The plugin's cases, run by pg-preflight's CheckTester against real PostgreSQL: each case builds
// a state in a fresh database, expects codes and objects, and for an invalid case applies the
// printed SQL as a user would (psql when installed) and expects the check to pass.
//
// In your own project, list the servers you test on, e.g.
//   new CheckTester({ servers: () => [{ host: 'localhost', port: 5432, major: 17 }] })
// (the role postgres must log in without a password). pg-preflight's own suite hands in the
// throwaway servers its global setup starts.
import { inject } from 'vitest';
import { CheckTester, type TestServer } from 'pg-preflight/testing';
import { requiredTables } from '../src/index.js';

const servers = () => (inject as unknown as (key: string) => TestServer[])('servers');

new CheckTester({ servers }).run(requiredTables, {
  valid: [
    { name: 'every listed table exists', state: 'CREATE TABLE users (id int); CREATE TABLE events (id int);', params: { tables: 'public.users, events' }, codes: ['tables-present'] },
    { name: 'nothing listed', codes: ['no-tables-listed'] },
  ],
  invalid: [
    {
      name: 'a missing table',
      state: 'CREATE TABLE users (id int);',
      params: { tables: 'public.users,public.events' },
      findings: [{ code: 'table-missing', object: 'public.events', status: 'error' }],
      // The remediation is text (run the migrations): nothing to paste.
      apply: false,
    },
    {
      name: 'tables the role may not read, in a schema with a quote in its name',
      state: async (db) => {
        await db.sql(`CREATE TABLE public.users (id int); CREATE SCHEMA "App ""Data"""; CREATE TABLE "App ""Data""".secrets (id int);
          DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'plugin_reader') THEN CREATE ROLE plugin_reader LOGIN; END IF; END $$;`);
      },
      user: 'plugin_reader',
      params: { tables: 'public.users,App "Data".secrets' },
      findings: [
        { code: 'table-unreadable', object: 'public.users' },
        { code: 'table-unreadable', object: 'App "Data".secrets' },
      ],
    },
  ],
});
