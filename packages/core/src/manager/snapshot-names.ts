/**
 * Names of the snapshots the manager itself takes (kept apart from the transfer code, so that
 * importing the core does not load it).
 *
 * @module
 */

/** The temporary snapshot a snapshot-based stream (`zfs`, `btrfs`) is sent from, as Proxmox names it. */
export const MIGRATION_SNAPSHOT = '__migration__';
