/**
 * Where the bytes of a V8 heap snapshot (`.heapsnapshot`, as `--heapsnapshot-signal` writes it) go: the
 * self size of every node, summed by what a reader recognises (the constructor name of an object, the
 * kind of a string or array), and the strings that weigh most by their first characters (a kept AMI
 * frame shows up as thousands of `Event: EndpointList\r\n…`).
 */
import * as fs from 'node:fs';

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  what: string;
  count: number;
  bytes: number;
}

export interface HeapBreakdown {
  totalBytes: number;
  nodes: number;
  /** By constructor (objects) or kind (strings, arrays, code), heaviest first. */
  byKind: HeapRow[];
  /** Strings grouped by their first 32 characters, heaviest first. */
  strings: HeapRow[];
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

function top(map: Map<string, { count: number; bytes: number }>, n: number): HeapRow[] {
  return [...map]
    .map(([what, v]) => ({ what, ...v }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, n);
}

export function heapBreakdown(file: string, rows = 15): HeapBreakdown {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotFile;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const byKind = new Map<string, { count: number; bytes: number }>();
  const strings = new Map<string, { count: number; bytes: number }>();
  const add = (map: typeof byKind, key: string, bytes: number) => {
    const e = map.get(key);
    if (e) {
      e.count++;
      e.bytes += bytes;
    } else map.set(key, { count: 1, bytes });
  };
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const name = snap.strings[snap.nodes[i + iName]];
    const bytes = snap.nodes[i + iSize];
    total += bytes;
    if (STRING_TYPES.has(type)) {
      add(byKind, type, bytes);
      if (type === 'string') add(strings, JSON.stringify(name.slice(0, 32)), bytes);
    } else if (type === 'object' || type === 'closure') {
      add(byKind, `${type} ${name}`, bytes);
    } else {
      add(byKind, `${type} ${name.startsWith('system /') ? name : ''}`.trim(), bytes);
    }
  }
  return {
    totalBytes: total,
    nodes: snap.nodes.length / width,
    byKind: top(byKind, rows),
    strings: top(strings, 8),
  };
}
