// Tables synapse_port_db does not copy row for row, so their counts may differ after a complete
// port (synapse/_scripts/synapse_port_db.py, Synapse v1.157.1: IGNORED_TABLES, the tables
// setup skips, and the special cases of handle_table).

const IGNORED: Record<string, string> = {
  user_directory: 'the user directory is rebuilt by Synapse, not ported',
  users_who_share_private_rooms: 'the user directory is rebuilt by Synapse, not ported',
  users_in_public_rooms: 'the user directory is rebuilt by Synapse, not ported',
  ui_auth_sessions: 'UI auth sessions are transient, not ported',
  ui_auth_sessions_credentials: 'UI auth sessions are transient, not ported',
  ui_auth_sessions_ips: 'UI auth sessions are transient, not ported',
  worker_read_write_locks_mode: 'worker locks are not ported',
  worker_read_write_locks: 'worker locks are not ported',
  schema_version: 'schema bookkeeping, which Synapse writes itself',
  applied_schema_deltas: 'schema bookkeeping, which Synapse writes itself',
  event_search: 'rebuilt from events with to_tsvector, so its rows can differ',
  sent_transactions: 'only the last day of it is ported',
  user_directory_stream_pos: 'replaced by one fresh row',
};

/** Why the port leaves `table` out or rebuilds it; undefined for a table it copies as it is. */
export function portExclusion(table: string): string | undefined {
  if (table.startsWith('sqlite_')) return "SQLite's own table";
  if (table.startsWith('user_directory_search')) return 'the user directory is rebuilt by Synapse, not ported';
  return IGNORED[table];
}
