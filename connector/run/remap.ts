import type { Remap } from '../ledger/retry-sweep.js';
import type { MappingSet } from '../mapping/index.js';

/** The ledger's retry sweep maps kept source records again through these mappings (a fixed mapping wins). */
export function remapWith(mappings: MappingSet): Remap {
  return (stream, record) => mappings.forStream(stream)?.map(record);
}
