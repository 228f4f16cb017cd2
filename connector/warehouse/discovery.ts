import { ConfigError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { readJsonObject, type StreamConfig } from './config.js';
import { isOrderable, type ColumnDescription, type WarehouseConnection } from './dialect.js';
import { recordSchema, type JsonSchema } from './type-mapping.js';

/** A configured stream with the columns the database reports for it. */
export interface DiscoveredStream {
  config: StreamConfig;
  columns: ColumnDescription[];
  schema: JsonSchema;
  isView: boolean;
}

export async function discoverStreams(warehouse: WarehouseConnection, streams: StreamConfig[]): Promise<DiscoveredStream[]> {
  const out: DiscoveredStream[] = [];
  for (const config of streams) {
    const { columns, isView } = await describe(warehouse, config);
    checkStreamColumns(config, columns);
    out.push({ config, columns, schema: recordSchema(columns), isView });
  }
  return out;
}

/** The stream's columns; a configuration error (a missing table, a query the database refuses) names the stream. */
async function describe(warehouse: WarehouseConnection, config: StreamConfig): Promise<{ columns: ColumnDescription[]; isView: boolean }> {
  try {
    return config.source.kind === 'table'
      ? await warehouse.describeTable(config.source.schema, config.source.table)
      : { columns: await warehouse.describeQuery(config.source.sql), isView: false };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`stream "${config.name}": ${e.message}`);
    throw e;
  }
}

function checkStreamColumns(config: StreamConfig, columns: ColumnDescription[]): void {
  const byName = new Map(columns.map((c) => [c.name, c]));
  // The column meant, when the name is a near miss; else every column.
  const known = (name: string) => didYouMean(name, byName.keys()) || ` (columns: ${columns.map((c) => c.name).join(', ')})`;
  for (const key of config.keyProperties) {
    if (!byName.has(key)) throw new ConfigError(`stream "${config.name}": key property "${key}" is not a column${known(key)}`);
  }
  if (config.replicationKey !== undefined) {
    const column = byName.get(config.replicationKey);
    if (!column) {
      throw new ConfigError(`stream "${config.name}": replication_key "${config.replicationKey}" is not a column${known(config.replicationKey)}`);
    }
    if (!isOrderable(column.kind)) {
      throw new ConfigError(
        `stream "${config.name}": replication_key "${config.replicationKey}" has type ${column.sqlType}, which cannot order rows; use a timestamp, number, date or text column`,
      );
    }
  }
}

/** A Singer catalog entry's metadata list (tap-postgres style breadcrumbs). */
function metadataOf(s: DiscoveredStream): { breadcrumb: string[]; metadata: Record<string, unknown> }[] {
  const { config } = s;
  const automatic = new Set([...config.keyProperties, ...(config.replicationKey ? [config.replicationKey] : [])]);
  const top: Record<string, unknown> = {
    'table-key-properties': config.keyProperties,
    'forced-replication-method': config.replicationMethod,
    'replication-method': config.replicationMethod,
    'selected-by-default': true,
  };
  if (config.replicationKey) top['replication-key'] = config.replicationKey;
  if (config.source.kind === 'table') {
    top['schema-name'] = config.source.schema;
    top['table-name'] = config.source.table;
    top['is-view'] = s.isView;
  }
  return [
    { breadcrumb: [], metadata: top },
    ...s.columns.map((c) => ({
      breadcrumb: ['properties', c.name],
      metadata: {
        'sql-datatype': c.sqlType,
        inclusion: automatic.has(c.name) ? 'automatic' : 'available',
        'selected-by-default': true,
      },
    })),
  ];
}

export interface Catalog {
  streams: {
    tap_stream_id: string;
    stream: string;
    schema: JsonSchema;
    key_properties: string[];
    metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[];
  }[];
}

export function catalogOf(streams: DiscoveredStream[]): Catalog {
  return {
    streams: streams.map((s) => ({
      tap_stream_id: s.config.name,
      stream: s.config.name,
      schema: s.schema,
      key_properties: s.config.keyProperties,
      metadata: metadataOf(s),
    })),
  };
}

/**
 * Streams a `--catalog` file switches off: those whose top-level metadata (breadcrumb []) says
 * `selected: false` (or, in older catalogs, the entry itself). Everything else configured runs.
 */
export function readDeselectedStreams(file: string): Set<string> {
  const catalog = readJsonObject(file, 'catalog file');
  if (!Array.isArray(catalog.streams)) throw new ConfigError(`catalog file ${file} must hold {"streams": [...]}`);
  const off = new Set<string>();
  for (const entry of catalog.streams as Record<string, unknown>[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const metadata = Array.isArray(entry.metadata) ? (entry.metadata as { breadcrumb?: unknown; metadata?: Record<string, unknown> }[]) : [];
    const top = metadata.find((m) => Array.isArray(m?.breadcrumb) && m.breadcrumb.length === 0)?.metadata;
    const selected = top?.selected ?? entry.selected;
    if (selected !== false) continue;
    for (const id of [entry.tap_stream_id, entry.stream]) if (typeof id === 'string') off.add(id);
  }
  return off;
}
