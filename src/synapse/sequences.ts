// The PostgreSQL sequences Synapse uses, with the table columns each must stay ahead of, as
// Synapse's own consistency check (synapse/storage/util/sequence.py, check_consistency) compares
// them. Names are unqualified: Synapse finds them through the connection's search_path.

export type SynapseStore = 'main' | 'state';

/**
 * How a table column is compared with the sequence:
 * - `max`: MAX(column), as for every stream but backfill;
 * - `negated-min`: -MIN(column): backfill stream orderings count down from -1, and the
 *   sequence holds their magnitude (Synapse's `positive=False`);
 * - `numeric-localpart`: the largest numeric localpart of a user id (`@123:server`), read the way
 *   Synapse's find_max_generated_user_id_localpart reads it.
 */
export type ColumnAggregate = 'max' | 'negated-min' | 'numeric-localpart';

export interface SynapseSequence {
  sequence: string;
  columns: { table: string; column: string; aggregate: ColumnAggregate }[];
  /** `stream_positions.stream_name` of a MultiWriterIdGenerator stream. */
  streamName?: string;
  /** Which data store (and so which configured database) holds the sequence. */
  store: SynapseStore;
  /** Whether Synapse compares it with its tables at every start (user_id_seq: never, too expensive). */
  checkedAtStartup: boolean;
}

const max = (table: string, column: string) => ({ table, column, aggregate: 'max' as const });
const negatedMin = (table: string, column: string) => ({ table, column, aggregate: 'negated-min' as const });

/** Facts section 3.1 (stream sequences) and 3.2 (the others), Synapse 1.157. */
export const SYNAPSE_SEQUENCES: readonly SynapseSequence[] = [
  {
    sequence: 'events_stream_seq',
    columns: [max('events', 'stream_ordering'), max('current_state_delta_stream', 'stream_id'), max('ex_outlier_stream', 'event_stream_ordering')],
    streamName: 'events',
    store: 'main',
    checkedAtStartup: true,
  },
  {
    sequence: 'events_backfill_stream_seq',
    columns: [negatedMin('events', 'stream_ordering'), negatedMin('ex_outlier_stream', 'event_stream_ordering')],
    streamName: 'backfill',
    store: 'main',
    checkedAtStartup: true,
  },
  {
    sequence: 'account_data_sequence',
    columns: [max('room_account_data', 'stream_id'), max('room_tags_revisions', 'stream_id'), max('account_data', 'stream_id')],
    streamName: 'account_data',
    store: 'main',
    checkedAtStartup: true,
  },
  { sequence: 'receipts_sequence', columns: [max('receipts_linearized', 'stream_id')], streamName: 'receipts', store: 'main', checkedAtStartup: true },
  {
    sequence: 'device_inbox_sequence',
    columns: [max('device_inbox', 'stream_id'), max('device_federation_outbox', 'stream_id')],
    streamName: 'to_device',
    store: 'main',
    checkedAtStartup: true,
  },
  { sequence: 'presence_stream_sequence', columns: [max('presence_stream', 'stream_id')], streamName: 'presence_stream', store: 'main', checkedAtStartup: true },
  {
    sequence: 'cache_invalidation_stream_seq',
    columns: [max('cache_invalidation_stream_by_instance', 'stream_id')],
    streamName: 'caches',
    store: 'main',
    checkedAtStartup: true,
  },
  {
    sequence: 'device_lists_sequence',
    columns: [
      max('device_lists_stream', 'stream_id'),
      max('user_signature_stream', 'stream_id'),
      max('device_lists_outbound_pokes', 'stream_id'),
      max('device_lists_changes_in_room', 'stream_id'),
      max('device_lists_remote_pending', 'stream_id'),
      max('device_lists_changes_converted_stream_position', 'stream_id'),
    ],
    streamName: 'device_lists_stream',
    store: 'main',
    checkedAtStartup: true,
  },
  {
    sequence: 'e2e_cross_signing_keys_sequence',
    columns: [max('e2e_cross_signing_keys', 'stream_id')],
    streamName: 'e2e_cross_signing_keys',
    store: 'main',
    checkedAtStartup: true,
  },
  { sequence: 'push_rules_stream_sequence', columns: [max('push_rules_stream', 'stream_id')], streamName: 'push_rules_stream', store: 'main', checkedAtStartup: true },
  { sequence: 'pushers_sequence', columns: [max('pushers', 'id'), max('deleted_pushers', 'stream_id')], streamName: 'pushers', store: 'main', checkedAtStartup: true },
  {
    sequence: 'un_partial_stated_room_stream_sequence',
    columns: [max('un_partial_stated_room_stream', 'stream_id')],
    streamName: 'un_partial_stated_room_stream',
    store: 'main',
    checkedAtStartup: true,
  },
  {
    sequence: 'un_partial_stated_event_stream_sequence',
    columns: [max('un_partial_stated_event_stream', 'stream_id')],
    streamName: 'un_partial_stated_event_stream',
    store: 'main',
    checkedAtStartup: true,
  },
  { sequence: 'thread_subscriptions_sequence', columns: [max('thread_subscriptions', 'stream_id')], streamName: 'thread_subscriptions', store: 'main', checkedAtStartup: true },
  { sequence: 'sticky_events_sequence', columns: [max('sticky_events', 'stream_id')], streamName: 'sticky_events', store: 'main', checkedAtStartup: true },
  { sequence: 'quarantined_media_id_seq', columns: [max('quarantined_media_changes', 'stream_id')], streamName: 'quarantined_media', store: 'main', checkedAtStartup: true },
  { sequence: 'event_auth_chain_id', columns: [max('event_auth_chains', 'chain_id')], store: 'main', checkedAtStartup: true },
  { sequence: 'application_services_txn_id_seq', columns: [max('application_services_txns', 'txn_id')], store: 'main', checkedAtStartup: true },
  { sequence: 'state_group_id_seq', columns: [max('state_groups', 'id')], store: 'state', checkedAtStartup: true },
  { sequence: 'user_id_seq', columns: [{ table: 'users', column: 'name', aggregate: 'numeric-localpart' }], store: 'main', checkedAtStartup: false },
];

/** Synapse's own lower bound of the range of user names that can be numeric (find_max_generated_user_id_localpart). */
export const NUMERIC_LOCALPART_RANGE = { from: '@0', below: '@a' } as const;
