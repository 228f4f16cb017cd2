/**
 * Per-record state shared by the compiled closures of one mapping: the reasons a record is rejected, the
 * indices of the `each` loops being walked (for field labels like `engagementUsers[2].email`), and the
 * JSON-text columns already parsed for this record (several fields often read into the same json column).
 */
export interface MapContext {
  reasons: string[] | undefined;
  indices: number[];
  json: Map<string, unknown> | undefined;
}

export function newContext(): MapContext {
  return { reasons: undefined, indices: [], json: undefined };
}

/** Field labels of items built by `each` carry `[]`; a reason shows the item's index there. */
export function labelAt(label: string, ctx: MapContext): string {
  if (!label.includes('[]')) return label;
  let i = 0;
  return label.replace(/\[\]/g, () => `[${ctx.indices[i++] ?? ''}]`);
}

export function reject(ctx: MapContext, reason: string): void {
  (ctx.reasons ??= []).push(reason);
}
