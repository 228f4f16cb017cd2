/**
 * A setting's type in words a user reads (`integer 1–1000`, `integer ≥ 0, or percentage like "5%"`), from
 * its JSON Schema (the one `--about --format json` prints). `--about`, configuration errors and the README's
 * settings reference (scripts/settings-reference.mjs, style `markdown`) all word types through this.
 */

export interface SettingTypeSchema {
  type?: string;
  anyOf?: SettingTypeSchema[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: SettingTypeSchema;
}

/** `text` for a terminal; `markdown` puts literal values in backticks. */
export type TypeStyle = 'text' | 'markdown';

/** zod writes Number.MAX_SAFE_INTEGER as the maximum of unbounded integers: that is no bound for a reader. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** Digits as text: how orchestrators may pass a number; the number alternative already says it. */
const DIGITS = '^\\d+$';
const PERCENTAGE = '^\\d+(\\.\\d+)?%$';

export function describeSettingType(prop: SettingTypeSchema, style: TypeStyle = 'text'): string {
  const literal = (v: unknown) => (style === 'markdown' ? `\`${String(v)}\`` : String(v));
  if (prop.anyOf) {
    const hasNumber = prop.anyOf.some((a) => a.type === 'integer' || a.type === 'number');
    return prop.anyOf
      .filter((a) => !(hasNumber && a.type === 'string' && a.pattern === DIGITS))
      .map((a) => describeSettingType(a, style))
      .join(', or ');
  }
  if (prop.enum) return `one of ${prop.enum.map(literal).join(', ')}`;
  switch (prop.type) {
    case 'string':
      if (prop.format === 'uri') return 'URL';
      if (prop.pattern === PERCENTAGE) return `percentage like ${literal('"5%"')}`;
      if (prop.pattern === DIGITS) return `digits like ${literal('"10"')}`;
      if (prop.pattern) return `text matching ${literal(prop.pattern)}`;
      return 'text';
    case 'integer':
    case 'number': {
      const name = prop.type;
      const low = prop.exclusiveMinimum !== undefined ? `> ${prop.exclusiveMinimum}` : prop.minimum !== undefined ? `≥ ${prop.minimum}` : undefined;
      const high = prop.maximum !== undefined && prop.maximum < NO_BOUND ? prop.maximum : undefined;
      if (prop.minimum !== undefined && high !== undefined) return `${name} ${prop.minimum}–${high}`;
      return [name, low, high !== undefined ? `≤ ${high}` : undefined].filter(Boolean).join(' ');
    }
    case 'array':
      return prop.items ? `list of ${describeSettingType(prop.items, style)}` : 'list';
    default:
      return prop.type ?? 'any';
  }
}
