import { createRequire } from 'node:module';
import type { Liquid, Template } from 'liquidjs';
import { jsonTextValue, parseColumnPath, walk } from './column-path.js';
import { htmlToText } from './html-text.js';
import type { MapContext } from './context.js';

/**
 * `{ template: "..." }` leaves: Liquid (liquidjs), parsed once when the mapping loads. Unknown filters and
 * tags are load-time errors (strictFilters); unknown variables render empty. JSON-text columns can be
 * walked into (`{{ meta.crm_id }}`) like column paths.
 *
 * Most templates only splice variables into text (`{{ call_type }} with {{ contact_name }}`). Those render
 * through a plain concatenation of the variables' values, which gives Liquid's own output for text,
 * numbers, bigints, booleans and nulls at a fraction of the cost; any other value (a list, an object), and
 * every template using tags or filters, is rendered by liquidjs (renderSync).
 */

/**
 * Templates are data transformations, nothing more: no file system (Census, too, allows Liquid without
 * include/render), and bounded work per record, so a template cannot read the config, hang the run or
 * exhaust its memory. A record whose template exceeds a bound is rejected with the reason; the run goes on.
 */
export const TEMPLATE_LIMITS = {
  /** Characters of one template. */
  parse: 100_000,
  /** Milliseconds of rendering per template per record. */
  renderMs: 250,
  /** liquidjs's allocation units per render (ranges, joins, appends). */
  memory: 10_000_000,
};

/** The tags that would read files: refused when the mapping loads, with the template's position. */
const FILE_TAGS = ['include', 'render', 'layout'];

const noFiles = (): never => {
  throw new Error('mapping templates cannot read files');
};
const NO_FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => noFiles(),
  readFileSync: () => noFiles(),
  resolve: (_dir: string, file: string) => file,
  contains: async () => false,
  containsSync: () => false,
  sep: '/',
  dirname: (file: string) => file,
};

/**
 * The Liquid engine, made on first use: a mapping whose templates only splice variables (the default one)
 * never loads liquidjs, which takes ~40 ms of a start.
 */
let liquidEngine: Liquid | undefined;
function engine(): Liquid {
  if (liquidEngine) return liquidEngine;
  const { Liquid: LiquidClass } = createRequire(import.meta.url)('liquidjs') as typeof import('liquidjs');
  const made = new LiquidClass({
    strictFilters: true,
    ownPropertyOnly: true,
    fs: NO_FS,
    root: [],
    partials: [],
    layouts: [],
    relativeReference: false,
    parseLimit: TEMPLATE_LIMITS.parse,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memory,
  });
  made.registerFilter('html_to_text', htmlToText);
  for (const tag of FILE_TAGS) {
    made.registerTag(tag, {
      parse() {
        throw new Error(`the {% ${tag} %} tag is not allowed: mapping templates cannot read files`);
      },
      render() {
        return '';
      },
    });
  }
  return (liquidEngine = made);
}

export class TemplateSyntaxError extends Error {}

export interface CompiledTemplate {
  readonly text: string;
  /** The top-level variables it reads (`custmer_name` of `{{ custmer_name | upcase }}`). */
  readonly roots: readonly string[];
  /** The full paths of the variables it reads (`["meta", "crm_id"]`). */
  readonly paths: readonly (readonly string[])[];
  /** Renders for one record (or one `each` element); may throw when a filter fails at run time. */
  render(scope: Record<string, unknown>, ctx: MapContext): string;
}

const OUTPUT = /\{\{(.*?)\}\}/gs;
/** A bare variable path as Liquid reads it: identifiers, `.name`, `[0]`, `["key"]`. */
const SIMPLE_VARIABLE = /^[A-Za-z_][\w-]*\??(?:\.[A-Za-z_][\w-]*\??|\[\d+\]|\["[^"\\]*"\]|\['[^'\\]*'\])*$/;
/** Names Liquid treats specially (literals, and `size`/`first`/`last` of lists and strings). */
const SPECIAL_NAMES = new Set(['true', 'false', 'nil', 'null', 'empty', 'blank', 'size', 'first', 'last']);

type Part = string | readonly string[];

/** The template as text pieces and variable paths, when it is only that; undefined otherwise. */
function splicePlan(text: string): Part[] | undefined {
  if (text.includes('{%')) return undefined;
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(OUTPUT)) {
    const expr = m[1]!;
    if (expr.startsWith('-') || expr.endsWith('-')) return undefined; // whitespace control
    const name = expr.trim();
    if (!SIMPLE_VARIABLE.test(name)) return undefined;
    const segments = parseColumnPath(name).segments;
    if (segments.some((s) => SPECIAL_NAMES.has(s))) return undefined;
    parts.push(text.slice(last, m.index), segments);
    last = m.index + m[0].length;
  }
  const rest = text.slice(last);
  if (rest.includes('{{') || rest.includes('}}')) return undefined;
  parts.push(rest);
  return parts;
}

/** Liquid's output of a primitive; undefined for values only liquidjs should render. */
function spliced(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function compileTemplate(text: string): CompiledTemplate {
  const plan = splicePlan(text);
  // A template that only splices variables is parsed by liquidjs only if a value ever needs it (a list).
  let liquidParsed: Template[] | undefined = plan === undefined ? parseWithLiquid(text) : undefined;
  const segments: (readonly string[])[] = plan
    ? distinctPaths(plan.filter((part): part is readonly string[] => typeof part !== 'string'))
    : engine().globalVariableSegmentsSync(liquidParsed!).map((s) => s.map(String));
  const roots = [...new Set(segments.map((s) => s[0]!))];
  const paths = segments;
  // Root variables the template reads into (`meta` of `meta.crm_id`): JSON text there is parsed first.
  const walkedRoots = [...new Set(segments.filter((s) => s.length > 1).map((s) => s[0]!))];

  const renderWithLiquid = (scope: Record<string, unknown>, ctx: MapContext): string => {
    let prepared = scope;
    for (const root of walkedRoots) {
      const v = scope[root];
      if (typeof v !== 'string') continue;
      const parsedValue = jsonTextValue(v, ctx);
      if (parsedValue === undefined) continue;
      if (prepared === scope) prepared = { ...scope };
      prepared[root] = parsedValue;
    }
    liquidParsed ??= parseWithLiquid(text);
    return String(engine().renderSync(liquidParsed, prepared));
  };

  if (plan === undefined) return { text, roots, paths, render: renderWithLiquid };
  const parts = plan;
  return {
    text,
    roots,
    paths,
    render(scope, ctx) {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (typeof part === 'string') {
          out += part;
          continue;
        }
        const piece = spliced(walk(scope, part, ctx));
        if (piece === undefined) return renderWithLiquid(scope, ctx);
        out += piece;
      }
      return out;
    },
  };
}

/** Each path once, in first-seen order (as liquidjs lists a template's variables). */
function distinctPaths(paths: readonly (readonly string[])[]): (readonly string[])[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function parseWithLiquid(text: string): Template[] {
  try {
    return engine().parse(text);
  } catch (e) {
    throw new TemplateSyntaxError((e as Error).message);
  }
}
