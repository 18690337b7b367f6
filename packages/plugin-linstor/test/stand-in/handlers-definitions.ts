/**
 * Stand-in routes for resource groups, resource definitions, volume definitions, resources and
 * placement, answering as the real controller does (linstor-api.md §3–§5).
 */
import { ApiFailure, rc, type RcEntry } from './replies.js';
import type { DefinitionState, Model, NodeState } from './model.js';
import type { Route } from './router.js';
import { definitionJson, groupJson, resourceJson } from './views.js';

type Body = Record<string, unknown>;

function warnOffline(model: Model, nodes: Iterable<string>, op: 'create' | 'modify' | 'delete', obj: 'resource' | 'resourceDefinition' | 'snapshot'): RcEntry[] {
  const out: RcEntry[] = [];
  for (const n of nodes) {
    const node = model.nodes.get(n.toLowerCase());
    if (node && !node.online) {
      out.push(rc('warning', op, obj, 1002, `No active connection to satellite '${node.name}'`, { details: 'The controller will apply the change when the satellite reconnects.' }));
    }
  }
  return out;
}

function props(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null) return {};
  return Object.fromEntries(Object.entries(v).map(([a, b]) => [a, String(b)]));
}

/** Places diskful replicas up to `count` on online nodes with room, most free space first. */
export function place(model: Model, d: DefinitionState, count: number): RcEntry[] {
  const diskful = [...d.resources.values()].filter((r) => !r.diskless).length;
  if (diskful >= count) return [rc('warning', 'create', 'resource', 1006, `Resource '${d.name}' is already deployed as requested.`)];
  const candidates = [...model.nodes.values()]
    .filter((n) => n.online && !d.resources.has(n.name.toLowerCase()) && model.freeKib(n) >= d.sizeKib)
    .sort((a, b) => model.freeKib(b) - model.freeKib(a));
  const need = count - diskful;
  if (candidates.length < need) {
    throw new ApiFailure(
      rc('error', 'create', 'resource', 996, `Not enough available nodes`, {
        cause: `Needed ${need} nodes with ${d.sizeKib} KiB free, found ${candidates.length}.`,
        correction: 'Add storage or nodes, or lower the place count.',
      }),
    );
  }
  const out: RcEntry[] = [];
  for (const n of candidates.slice(0, need)) {
    model.addResource(d, n, false);
    out.push(rc('success', 'create', 'resource', 1, `Resource '${d.name}' on node '${n.name}' created.`, { obj_refs: { RscDfn: d.name, Node: n.name } }));
  }
  return out;
}

function requireBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiFailure(rc('error', undefined, undefined, 998, 'Invalid request body.'), 400);
  }
  return body as Body;
}

export function definitionRoutes(model: Model): Route[] {
  return [
    ['GET', '/v1/resource-groups', () => ({ status: 200, body: [...model.groups.values()].map(groupJson) })],
    ['GET', '/v1/resource-groups/:rg', ({ p }) => ({ status: 200, body: groupJson(model.group(p.rg as string)) })],
    [
      'POST',
      '/v1/resource-groups',
      ({ body }) => {
        const b = requireBody(body);
        const name = model.checkName(b.name, 'resourceDefinition', 'create');
        if (model.groups.has(name.toLowerCase())) throw new ApiFailure(rc('error', 'create', 'resourceGroup', 522, `Resource group '${name}' already exists.`));
        const pc = (b.select_filter as Body | undefined)?.place_count;
        model.addGroup(name, typeof pc === 'number' ? pc : undefined);
        return { status: 201, body: [rc('success', 'create', 'resourceGroup', 1, `New resource group '${name}' created.`)] };
      },
    ],
    [
      'POST',
      '/v1/resource-groups/:rg/spawn',
      ({ p, body }) => {
        const b = requireBody(body);
        const g = model.group(p.rg as string);
        const sizes = Array.isArray(b.volume_sizes) ? (b.volume_sizes as number[]) : [];
        if (sizes.length !== 1 || !Number.isInteger(sizes[0]) || (sizes[0] as number) <= 0) {
          throw new ApiFailure(rc('error', 'create', 'volumeDefinition', 228, 'Invalid volume sizes.'));
        }
        const name = String(b.resource_definition_name);
        const d = model.createDefinition(name, g.name, props(b.resource_definition_props), sizes[0] as number);
        const out = [
          rc('success', 'create', 'resourceDefinition', 1, `New resource definition '${d.name}' created.`, { obj_refs: { RscDfn: d.name } }),
          rc('success', 'create', 'volumeDefinition', 1, `New volume definition with number '0' of resource definition '${d.name}' created.`),
        ];
        if (b.definitions_only === true || g.placeCount === undefined) {
          out.push(rc('info', 'create', 'resourceDefinition', 10000, `Resource definition '${d.name}' created but no resources deployed.`));
        } else {
          try {
            out.push(...place(model, d, g.placeCount));
          } catch (e) {
            model.deleteDefinition(d);
            throw e;
          }
        }
        return { status: 201, body: out };
      },
    ],
    [
      'POST',
      '/v1/resource-groups/:rg/query-size-info',
      ({ p }) => {
        const g = model.group(p.rg as string);
        const online = [...model.nodes.values()].filter((n) => n.online);
        const count = g.placeCount ?? 2;
        const frees = online.map((n) => model.freeKib(n)).sort((a, b) => b - a);
        const capacity = Math.min(...online.map((n) => n.capacityKib));
        const available = frees.length >= count ? (frees[count - 1] as number) : 0;
        return {
          status: 200,
          body: { space_info: { max_vlm_size_in_kib: available, available_size_in_kib: available, capacity_in_kib: capacity }, reports: [] },
        };
      },
    ],
    [
      'GET',
      '/v1/resource-definitions',
      ({ q }) => {
        const only = q.getAll('resource_definitions').map((s) => s.toLowerCase());
        const withVd = q.get('with_volume_definitions') === 'true';
        const list = [...model.definitions.values()].filter((d) => only.length === 0 || only.includes(d.name.toLowerCase()));
        return { status: 200, body: list.map((d) => definitionJson(d, withVd)) };
      },
    ],
    ['GET', '/v1/resource-definitions/:rd', ({ p }) => ({ status: 200, body: definitionJson(model.definition(p.rd as string), false) })],
    [
      'POST',
      '/v1/resource-definitions',
      ({ body }) => {
        const rd = requireBody(requireBody(body).resource_definition);
        const d = model.createDefinition(String(rd.name), String(rd.resource_group_name ?? 'DfltRscGrp'), props(rd.props), 0);
        return { status: 201, body: [rc('success', 'create', 'resourceDefinition', 1, `New resource definition '${d.name}' created.`)] };
      },
    ],
    [
      'PUT',
      '/v1/resource-definitions/:rd',
      ({ p, body }) => {
        const d = model.definition(p.rd as string, 'modify');
        const b = requireBody(body);
        Object.assign(d.props, props(b.override_props));
        for (const key of Array.isArray(b.delete_props) ? b.delete_props : []) delete d.props[String(key)];
        if (typeof b.resource_group === 'string') d.group = model.group(b.resource_group).name;
        return { status: 200, body: [rc('success', 'modify', 'resourceDefinition', 3, `Resource definition '${d.name}' modified.`)] };
      },
    ],
    [
      'DELETE',
      '/v1/resource-definitions/:rd',
      ({ p }) => {
        const d = model.findDefinition(p.rd as string);
        if (!d) return { status: 200, body: [rc('warning', 'delete', 'resourceDefinition', 3000, `Resource definition '${p.rd}' not found.`)] };
        if (d.snapshots.size > 0) {
          throw new ApiFailure(
            rc('error', 'delete', 'resourceDefinition', 514, `Cannot delete resource definition '${d.name}' because it has snapshots.`, {
              correction: 'Delete the snapshots first.',
            }),
          );
        }
        const user = [...d.resources.values()].find((r) => r.inUse);
        if (user) {
          throw new ApiFailure(rc('error', 'delete', 'resourceDefinition', 997, `Resource '${d.name}' on node '${user.node}' is still in use.`, { cause: 'Resource is mounted/in use.' }));
        }
        const clones = model.dependents(d);
        if (clones.length) {
          // the satellites' `zfs destroy` fails; the definition stays, DELETING (see model.ts)
          if (!d.flags.includes('DELETE')) d.flags.push('DELETE');
          throw new ApiFailure(
            rc('error', 'delete', 'resourceDefinition', 998, `Failed to delete zfs volume of '${d.name}'`, {
              details: `volume has dependent clones (${clones.map((c) => c.name).join(', ')})`,
            }),
          );
        }
        const warnings = warnOffline(model, [...d.resources.values()].map((r) => r.node), 'delete', 'resource');
        model.deleteDefinition(d);
        return { status: 200, body: [...warnings, rc('success', 'delete', 'resourceDefinition', 2, `Resource definition '${d.name}' deleted.`)] };
      },
    ],
    [
      'PUT',
      '/v1/resource-definitions/:rd/volume-definitions/:nr',
      ({ p, body }) => {
        const d = model.definition(p.rd as string, 'modify');
        if (p.nr !== '0') throw new ApiFailure(rc('error', 'modify', 'volumeDefinition', 303, `Volume definition ${p.nr} not found.`));
        const size = requireBody(body).size_kib;
        if (size === undefined) return { status: 200, body: [rc('success', 'modify', 'volumeDefinition', 3, 'Volume definition modified.')] };
        if (!Number.isInteger(size) || (size as number) < d.sizeKib) {
          throw new ApiFailure(rc('error', 'modify', 'volumeDefinition', 206, `Invalid volume size ${String(size)}: shrinking DRBD volumes is not supported.`));
        }
        if (size === d.sizeKib) return { status: 200, body: [rc('warning', 'modify', 'volumeDefinition', 1023, 'Volume definition already has the requested size.')] };
        if (d.props['DrbdOptions/ExactSize']?.toLowerCase() === 'true') {
          throw new ApiFailure(rc('error', 'modify', 'volumeDefinition', 206, 'Growing is not allowed while DrbdOptions/ExactSize is set.'));
        }
        const offline = [...d.resources.values()].filter((r) => !model.nodes.get(r.node.toLowerCase())?.online);
        if (offline.length) throw new ApiFailure(rc('error', 'modify', 'volumeDefinition', 995, `Cannot resize: satellite '${offline[0]?.node}' is not connected.`));
        model.resize(d, size as number);
        return { status: 200, body: [rc('success', 'modify', 'volumeDefinition', 3, `Volume definition 0 of '${d.name}' modified.`)] };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/autoplace',
      ({ p, body }) => {
        const d = model.definition(p.rd as string, 'create');
        const b = requireBody(body);
        const pc = (b.select_filter as Body | undefined)?.place_count;
        const count = typeof pc === 'number' ? pc : (model.group(d.group).placeCount ?? 2);
        return { status: 201, body: place(model, d, count) };
      },
    ],
    [
      'POST',
      '/v1/resource-definitions/:rd/resources/:node/make-available',
      ({ p, body }) => {
        const d = model.definition(p.rd as string, 'create');
        const node: NodeState = model.node(p.node as string);
        const diskful = requireBody(body).diskful === true;
        const existing = d.resources.get(node.name.toLowerCase());
        const warn = warnOffline(model, [node.name], 'create', 'resource');
        if (existing && (!diskful || !existing.diskless)) {
          return { status: 200, body: [rc('success', undefined, undefined, 0, 'Resource already deployed as requested')] };
        }
        if (existing) {
          if (model.freeKib(node) < d.sizeKib) throw new ApiFailure(rc('error', 'modify', 'resource', 996, 'Not enough free space on the node.'));
          existing.diskless = false;
          return { status: 200, body: [...warn, rc('success', 'modify', 'resource', 3, `Resource '${d.name}' on '${node.name}' now has a disk.`)] };
        }
        if (diskful && model.freeKib(node) < d.sizeKib) throw new ApiFailure(rc('error', 'create', 'resource', 996, 'Not enough free space on the node.'));
        model.addResource(d, node, !diskful);
        return { status: 200, body: [...warn, rc('success', 'create', 'resource', 1, `Resource '${d.name}' on node '${node.name}' created.`)] };
      },
    ],
    [
      'GET',
      '/v1/resource-definitions/:rd/resources',
      ({ p }) => {
        const d = model.definition(p.rd as string);
        return { status: 200, body: [...d.resources.values()].map((r) => resourceJson(model, d, r, false)) };
      },
    ],
    [
      'PUT',
      '/v1/resource-definitions/:rd/resources/:node',
      ({ p, body }) => {
        const d = model.definition(p.rd as string, 'modify');
        const r = d.resources.get((p.node as string).toLowerCase());
        if (!r) throw new ApiFailure(rc('error', 'modify', 'resource', 302, `Resource '${d.name}' on node '${p.node}' not found.`));
        const b = requireBody(body);
        Object.assign(r.props, props(b.override_props));
        for (const key of Array.isArray(b.delete_props) ? b.delete_props : []) delete r.props[String(key)];
        return { status: 200, body: [rc('success', 'modify', 'resource', 3, `Resource '${d.name}' on node '${r.node}' modified.`)] };
      },
    ],
    [
      'DELETE',
      '/v1/resource-definitions/:rd/resources/:node',
      ({ p }) => {
        const d = model.findDefinition(p.rd as string);
        const r = d?.resources.get((p.node as string).toLowerCase());
        if (!d || !r) return { status: 200, body: [rc('warning', 'delete', 'resource', 3000, `Resource '${p.rd}' on node '${p.node}' not found.`)] };
        if (r.inUse) throw new ApiFailure(rc('error', 'delete', 'resource', 997, `Resource '${d.name}' on node '${r.node}' is still in use.`));
        model.removeResource(d, r.node);
        return { status: 200, body: [rc('success', 'delete', 'resource', 2, `Resource '${d.name}' on node '${r.node}' deleted.`)] };
      },
    ],
  ];
}
