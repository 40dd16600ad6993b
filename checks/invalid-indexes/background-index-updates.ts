// Synapse builds many indexes in background updates (register_background_index_update in
// synapse/storage/background_updates.py): a row in background_updates names the update, and the
// Python code maps it to the index. Where the update's name is the index's own name, nothing is
// needed; the others are listed here, read from Synapse v1.157.1 (commit a58ad44). Before it
// builds, the update runs DROP INDEX CONCURRENTLY IF EXISTS on the index, so a pending update
// replaces an invalid index left by an earlier, interrupted attempt.

/** Index name → the background update that builds it, where the two names differ. */
export const BACKGROUND_INDEX_UPDATES: ReadonlyMap<string, string> = new Map([
  ['access_tokens_device_id', 'access_tokens_device_index'],
  ['cache_invalidation_stream_by_instance_instance_index', 'cache_invalidation_index_by_instance'],
  ['current_state_delta_stream_room_idx', 'current_state_delta_stream_room_index'],
  ['current_state_events_member_index', 'current_state_members_idx'],
  ['device_inbox_stream_id_user_id', 'device_inbox_stream_index'],
  ['device_lists_changes_in_room_by_room_idx', 'device_lists_changes_in_room_by_room_index'],
  ['device_lists_remote_cache_unique_id', 'device_lists_remote_cache_unique_idx'],
  ['device_lists_stream_user_id', 'device_lists_stream_idx'],
  ['e2e_cross_signing_keys_stream_idx', 'e2e_cross_signing_keys_idx'],
  ['e2e_one_time_keys_json_user_id_device_id_algorithm_ts_added_idx', 'add_otk_ts_added_index'],
  ['e2e_room_keys_room_id', 'e2e_room_keys_index_room_id'],
  ['event_contains_url_index2', 'index_stream_ordering2_contains_url'],
  ['event_edges_event_id_prev_event_id_idx', 'event_edges_replace_index'],
  ['event_push_actions_u_highlight', 'epa_highlight_index'],
  ['events_jump_to_date_idx', 'events_jump_to_date_index'],
  ['events_order_room2', 'index_stream_ordering2_room_order'],
  ['events_room_stream2', 'index_stream_ordering2_room_stream'],
  ['events_stream_ordering', 'index_stream_ordering2'],
  ['events_ts2', 'index_stream_ordering2_ts'],
  ['full_users_unique_idx', 'full_users_filters_unique_idx'],
  ['local_media_repository_sha256', 'local_media_repository_sha256_idx'],
  ['local_media_repository_thumbn_media_id_width_height_method_key', 'local_media_repository_thumbnails_method_idx'],
  ['presence_stream_state_not_offline_idx', 'presence_stream_not_offline_index'],
  ['profiles_full_user_id_key', 'profiles_full_user_id_key_idx'],
  ['receipts_linearized_event_id', 'receipts_room_id_event_id_index'],
  ['received_ts_idx', 'events_received_ts_index'],
  ['redactions_censored_redacts', 'event_fix_redactions_bytes_create_index'],
  ['redactions_have_censored_ts', 'redactions_have_censored_ts_idx'],
  ['remote_media_cache_sha256', 'remote_media_cache_sha256_idx'],
  ['remote_media_repository_thumbn_media_origin_id_width_height_method_key', 'remote_media_repository_thumbnails_method_idx'],
  ['room_account_data_room_id', 'room_account_data_index_room_id'],
  ['room_membership_user_room_idx', 'room_membership_user_room_index'],
  ['room_memberships_user_room_forgotten', 'room_membership_forgotten_idx'],
  ['user_ips_device_id', 'user_ips_device_index'],
  ['user_ips_last_seen', 'user_ips_last_seen_index'],
  ['user_ips_last_seen_only', 'user_ips_last_seen_only_index'],
  ['user_ips_user_token_ip_unique_index', 'user_ips_device_unique_index'],
]);

/**
 * The pending updates that would (re)build `index`: the update named after it, the one the map
 * names, or one whose progress_json mentions the index by name (custom updates keep it there).
 */
export function updatesBuildingIndex(index: string, pending: readonly { name: string; progress: string }[]): string[] {
  const mapped = BACKGROUND_INDEX_UPDATES.get(index);
  return pending
    .filter((u) => u.name === index || u.name === mapped || u.progress.includes(`"${index}"`))
    .map((u) => u.name);
}
