/**
 * Stand-in routes for listings, snapshots and clones (linstor-api.md §4–§5).
 */
import { ApiFailure, rc } from './replies.js';
import type { Model } from './model.js';
import type { Route } from './router.js';
import { resourceJson, snapshotJson } from './views.js';

type Body = Record<string, unknown>;

/** How the next clones end; the stand-in's test hooks set it. */
export interface CloneBehaviour {
  /** Status polls answered `CLONING` before the clone settles. */
  polls: number;
  /** How the next clone ends. */
  outcome: 'COMPLETE' | 'FAILED';
}

function restoreParts(model: Model, p: Readonly<Record<string, string>>, body: unknown) {
  const d = model.definition(p.rd as string, 'create');
  const s = d.snapshots.get((p.snap as string).toLowerCase());
  if (!s) throw new ApiFailure(rc('error', 'create', 'snapshot', 313, `Snapshot '${p.snap}' of '${d.name}' not found.`));
  const to = (body as Body | undefined)?.to_resource;
  const target = model.definition(String(to), 'create');
  return { d, s, target };
}

export function snapshotRoutes(model: Model, clone: CloneBehaviour): Route[] {
  return [
    ['GET', '/v1/controller/version', () => ({ status: 200, body: { version: '1.33.0', git_hash: 'stand-in', build_time: '2026-06-02T00:00:00+00:00', rest_api_version: '1.28.0' } })],
    [
      'GET',
      '/v1/view/resources',
      ({ q }) => {
        const nodes = q.getAll('nodes').map((s) => s.toLowerCase());
        const rscs = q.getAll('resources').map((s) => s.toLowerCase());
        const out: unknown[] = [];
        for (const d of model.definitions.values()) {
          if (rscs.length && !rscs.includes(d.name.toLowerCase())) continue;
          for (const r of d.resources.values()) {
            if (nodes.length && !nodes.includes(r.node.toLowerCase())) continue;
            out.push(resourceJson(model, d, r, true));
          }
        }
        return { status: 200, body: out };
      },
    ],
    [
      'GET',
      '/v1/resource-definitions/:rd/sync-status',
      ({ p }) => {
        const d = model.definition(p.rd as string);
        const synced = [...d.resources.values()].every((r) => model.nodes.get(r.node.toLowerCase())?.online);
        return { status: 200, body: { synced_on_all: synced && d.clone === undefined } };
      },
    ],
    [
      'GET',
      '/v1/resource-definitions/:rd/snapshots',
      ({ p }) => {
        const d = model.definition(p.rd as string);
        return { status: 200, body: [...d.snapshots.values()].sort((a, b) => a.seq - b.seq).map((s) => snapshotJson(d, s)) };
      },
    ],
    [
      'GET',
      '/v1/resource-definitions/:rd/snapshots/:snap',
      ({ p }) => {
        const d = model.definition(p.rd as string);
        const s = d.snapshots.get((p.snap as string).toLowerCase());
        if (!s) throw new ApiFailure(rc('error', undefined, 'snapshot', 313, `Snapshot '${p.snap}' of '${d.name}' not found.`));
        return { status: 200, body: snapshotJson(d, s) };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/snapshots',
      ({ p, body }) => {
        const d = model.definition(p.rd as string, 'create');
        const name = model.checkName((body as Body | undefined)?.name, 'snapshot', 'create');
        if (d.snapshots.has(name.toLowerCase())) {
          throw new ApiFailure(rc('error', 'create', 'snapshot', 514, `A snapshot definition with the name '${name}' already exists in resource definition '${d.name}'.`));
        }
        const offline = [...d.resources.values()].filter((r) => !r.diskless && !model.nodes.get(r.node.toLowerCase())?.online);
        if (offline.length) {
          throw new ApiFailure(rc('error', 'create', 'snapshot', 995, `Cannot create snapshot: satellite '${offline[0]?.node}' is not connected.`));
        }
        if (![...d.resources.values()].some((r) => !r.diskless)) {
          throw new ApiFailure(rc('error', 'create', 'snapshot', 998, `Resource '${d.name}' has no diskful replica to snapshot.`));
        }
        model.takeSnapshot(d, name);
        return { status: 201, body: [rc('success', 'create', 'snapshot', 1, `New snapshot '${name}' of resource '${d.name}' registered.`)] };
      },
    ],
    [
      'DELETE',
      '/v1/resource-definitions/:rd/snapshots/:snap',
      ({ p }) => {
        const d = model.findDefinition(p.rd as string);
        const s = d?.snapshots.get((p.snap as string).toLowerCase());
        if (!d || !s) return { status: 200, body: [rc('warning', 'delete', 'snapshot', 3000, `Snapshot '${p.snap}' of '${p.rd}' not found.`)] };
        const users = model.dependents(d, s);
        if (users.length) {
          // the satellites' `zfs destroy` fails; the snapshot stays, DELETING (see model.ts)
          s.deleting = true;
          throw new ApiFailure(
            rc('error', 'delete', 'snapshot', 998, `(${s.nodes[0] ?? '?'}) Failed to delete zfs snapshot`, {
              details: `cannot destroy snapshot of '${d.name}': snapshot has dependent clones (${users.map((u) => u.name).join(', ')})`,
            }),
          );
        }
        model.deleteSnapshot(d, s);
        return { status: 200, body: [rc('success', 'delete', 'snapshot', 2, `Snapshot '${s.name}' of resource '${d.name}' deleted.`)] };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/snapshot-restore-volume-definition/:snap',
      ({ p, body }) => {
        const { d, s, target } = restoreParts(model, p, body);
        if (target.sizeKib > 0) throw new ApiFailure(rc('error', 'create', 'volumeDefinition', 503, `Volume definition 0 of '${target.name}' already exists.`));
        model.restoreData(s, target);
        return { status: 200, body: [rc('success', 'create', 'volumeDefinition', 1, `Volume definitions of snapshot '${s.name}' of '${d.name}' restored to '${target.name}'.`)] };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/snapshot-restore-resource/:snap',
      ({ p, body }) => {
        const { d, s, target } = restoreParts(model, p, body);
        if (target.sizeKib === 0) throw new ApiFailure(rc('error', 'create', 'resource', 303, `Resource definition '${target.name}' has no volume definitions.`));
        const want = Array.isArray((body as Body).nodes) ? ((body as Body).nodes as string[]) : s.nodes;
        for (const n of want) if (!target.resources.has(n.toLowerCase())) model.addResource(target, model.node(n), false);
        if (model.zfs) target.origin = { rd: d.name, snapshot: s.name };
        return { status: 200, body: [rc('success', 'create', 'resource', 1, `Resources of snapshot '${s.name}' of '${d.name}' restored to '${target.name}'.`)] };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/snapshot-rollback/:snap',
      ({ p }) => {
        const d = model.definition(p.rd as string, 'modify');
        const s = d.snapshots.get((p.snap as string).toLowerCase());
        if (!s) throw new ApiFailure(rc('error', 'modify', 'snapshot', 313, `Snapshot '${p.snap}' of '${d.name}' not found.`));
        const newest = Math.max(...[...d.snapshots.values()].map((o) => o.seq));
        if (s.seq !== newest) throw new ApiFailure(rc('error', 'modify', 'snapshot', 514, 'Rollback is only allowed with the most recent snapshot'));
        const user = [...d.resources.values()].find((r) => r.inUse);
        if (user) {
          throw new ApiFailure(
            rc('error', 'modify', 'snapshot', 997, `Resource '${d.name}' on node '${user.node}' is still in use.`, {
              cause: 'Resource is mounted/in use.',
              correction: `Un-mount resource '${d.name}' on the node '${user.node}'.`,
            }),
          );
        }
        model.rollback(d, s);
        return { status: 200, body: [rc('success', 'modify', 'snapshot', 3, `Resource '${d.name}' rolled back to snapshot '${s.name}'.`)] };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/clone',
      ({ p, body }) => {
        const src = model.definition(p.rd as string, 'create');
        const b = (body ?? {}) as Body;
        const name = String(b.name);
        const location = `/v1/resource-definitions/${src.name}/clone/${name}`;
        try {
          const group = typeof b.resource_group === 'string' ? b.resource_group : src.group;
          const props = { ...src.props, 'cloned-from': src.name } as Record<string, string>;
          for (const [k, v] of Object.entries((b.override_props as Record<string, unknown> | undefined) ?? {})) props[k] = String(v);
          for (const k of Array.isArray(b.delete_props) ? b.delete_props : []) delete props[String(k)];
          if (b.use_zfs_clone === true) props.UseZFSClone = 'true';
          const d = model.createDefinition(name, group, props, src.sizeKib);
          if (model.zfs && b.use_zfs_clone === true) d.origin = { rd: src.name };
          model.copyData(src, d);
          d.flags.push('CLONING');
          for (const r of src.resources.values()) model.addResource(d, model.node(r.node), r.diskless);
          d.clone = { source: src.name, pollsLeft: clone.polls, outcome: clone.outcome };
          return {
            status: 201,
            body: {
              location,
              source_name: src.name,
              clone_name: name,
              messages: [rc('success', 'create', 'resourceDefinition', 1, `Resource definition '${name}' created as a clone of '${src.name}'.`)],
            },
          };
        } catch (e) {
          // §5: on an error the CloneStarted object comes back with 500, not an ApiCallRc list.
          if (e instanceof ApiFailure) return { status: 500, body: { location, source_name: src.name, clone_name: name, messages: e.entries } };
          throw e;
        }
      },
    ],
    [
      'GET',
      '/v1/resource-definitions/:rd/clone/:clone',
      ({ p }) => {
        const d = model.definition(p.clone as string);
        const job = d.clone;
        if (!job || job.source.toLowerCase() !== (p.rd as string).toLowerCase()) {
          if (d.props['cloned-from']?.toLowerCase() === (p.rd as string).toLowerCase()) {
            return { status: 200, body: { status: d.flags.includes('FAILED') ? 'FAILED' : 'COMPLETE' } };
          }
          throw new ApiFailure(rc('error', undefined, 'resourceDefinition', 301, `No clone '${p.clone}' of '${p.rd}'.`));
        }
        if (job.pollsLeft > 0) {
          job.pollsLeft--;
          return { status: 200, body: { status: 'CLONING' } };
        }
        d.flags = d.flags.filter((f) => f !== 'CLONING');
        delete d.clone;
        if (job.outcome === 'FAILED') {
          d.flags.push('FAILED');
          return { status: 200, body: { status: 'FAILED' } };
        }
        return { status: 200, body: { status: 'COMPLETE' } };
      },
    ],
  ];
}
