/**
 * The declarative YAML mapping language: Singer records → Siro payloads. See docs/mapping-language.md.
 */
export { loadMappingText, loadMappings } from './load.js';
export type { MapFailure, MapResult, MapSuccess, StreamMapping } from './compile.js';
export type { MappingSet } from './mapping-set.js';
