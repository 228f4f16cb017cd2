import type { SiroObject } from '../siro/objects.js';
import type { ColumnPath } from './column-path.js';
import type { CompiledTemplate } from './templates.js';
import type { TimeZone } from './time-zones.js';
import type { FieldType, ValueType } from './values.js';

/**
 * A checked mapping: what the checker (check.ts) makes of the YAML and the compiler (compile.ts) turns
 * into closures. Everything here is already valid against Siro's schema; nothing refers to YAML nodes.
 */

/** The Siro field a leaf fills. `label` is its path for messages (`account.addresses[0].zip`;
 * `[]` marks an `each` item whose index is only known per record). */
export interface TargetField {
  readonly label: string;
  readonly type: FieldType;
  readonly nullable: boolean;
  readonly enum?: readonly string[];
}

export type SourcePlan =
  | { readonly kind: 'column'; readonly path: ColumnPath }
  | { readonly kind: 'template'; readonly template: CompiledTemplate };

export type ZonePlan =
  | { readonly kind: 'fixed'; readonly zone: TimeZone }
  | { readonly kind: 'column'; readonly path: ColumnPath; readonly fallback?: TimeZone };

export interface MapTable {
  /** Lower-cased source text → value sent (null: no value). */
  readonly lookup: ReadonlyMap<string, unknown>;
  /** The keys as written, for messages. */
  readonly keys: readonly string[];
}

/** Elapsed time read from a column, in `unitMs` per unit: added to the instant, so it is exact across DST. */
export interface DurationPlan {
  readonly path: ColumnPath;
  readonly unit: DurationUnit;
  readonly unitMs: number;
}

export const DURATION_UNITS = { milliseconds: 1, seconds: 1000, minutes: 60_000, hours: 3_600_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNITS;

export interface LeafPlan {
  readonly kind: 'leaf';
  readonly target: TargetField;
  readonly source: SourcePlan;
  /** How the source is read: the `type:` written, else the one Siro's schema implies. */
  readonly type: ValueType;
  /** Whether `type:` was written (with a map, only then is the source converted before the lookup). */
  readonly explicitType: boolean;
  readonly map?: MapTable;
  /** Sent when the source has no value or misses the map; already valid for the field. */
  readonly fallback?: { readonly value: unknown };
  readonly zone?: ZonePlan;
  /** `plus:` a duration column added to a datetime (an end time from a start and a duration). */
  readonly plus?: DurationPlan;
  /**
   * `offset: ignore`: the source is wall-clock time in the leaf's `timezone`, whatever offset is written on it
   * (Postgres taps label `timestamp without time zone` values `+00:00`).
   */
  readonly wallClock?: boolean;
  /** The top-level externalId: a record without one is rejected, not sent without it. */
  readonly required: boolean;
}

export interface ConstantPlan {
  readonly kind: 'constant';
  readonly target: TargetField;
  readonly value: unknown;
}

export interface FieldEntry {
  readonly key: string;
  readonly plan: FieldPlan;
}

export interface ObjectPlan {
  readonly kind: 'object';
  readonly label: string;
  readonly fields: readonly FieldEntry[];
  /** Keys Siro requires: an object without them is left out. */
  readonly required: readonly string[];
}

/** A list of text built from several sources; a source holding a list adds each of its elements. */
export interface ScalarListPlan {
  readonly kind: 'scalar-list';
  readonly label: string;
  readonly items: readonly (LeafPlan | ConstantPlan)[];
}

/** A list of objects written item by item in the mapping. */
export interface ObjectListPlan {
  readonly kind: 'object-list';
  readonly label: string;
  readonly items: readonly ObjectPlan[];
}

/** A list of objects, one per element of a JSON array column. */
export interface EachPlan {
  readonly kind: 'each';
  readonly label: string;
  readonly path: ColumnPath;
  readonly item: ObjectPlan;
}

export type FieldPlan = LeafPlan | ConstantPlan | ObjectPlan | ScalarListPlan | ObjectListPlan | EachPlan;

/**
 * A record column the mapping reads (a column path's first name, a template's variable, a time-zone
 * column, an `each:` array), where it is written: checked against each stream's SCHEMA. Paths inside an
 * `each` item read the array's elements, not the record, and are not listed.
 */
export interface ColumnRead {
  /** The record's top-level column. */
  readonly column: string;
  /** As written (`meta.crm_id`, `{{ custmer_name }}`), for messages. */
  readonly text: string;
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface StreamPlan {
  /** The stream name or glob as written. */
  readonly pattern: string;
  readonly object: SiroObject;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly root: ObjectPlan;
  readonly reads: readonly ColumnRead[];
}
