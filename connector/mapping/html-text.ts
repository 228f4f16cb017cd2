/**
 * `html_to_text`, the template filter for HTML bodies (HubSpot notes, Salesforce rich text): the text a
 * person reads. Block ends (paragraphs, list items, line breaks, rows, headings) become line breaks, other
 * tags go, character references are decoded (`&quot;` `&#39;` `&#x27;` `&lt;` `&nbsp;` …), and runs of
 * blanks collapse. Script and style contents are dropped with their tags.
 */

/** The named references bodies from CRMs use (HTML's full table has 2,000; numeric references cover the rest). */
const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ensp: ' ', emsp: ' ', thinsp: ' ',
  ndash: '–', mdash: '—', lsquo: '‘', rsquo: '’', sbquo: '‚', ldquo: '“', rdquo: '”', bdquo: '„',
  hellip: '…', bull: '•', middot: '·', copy: '©', reg: '®', trade: '™', deg: '°', euro: '€', pound: '£',
  yen: '¥', cent: '¢', sect: '§', para: '¶', times: '×', divide: '÷', plusmn: '±', frac12: '½',
  frac14: '¼', frac34: '¾', laquo: '«', raquo: '»', iexcl: '¡', iquest: '¿', shy: '',
  auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü', szlig: 'ß', eacute: 'é', egrave: 'è',
  ecirc: 'ê', aacute: 'á', agrave: 'à', acirc: 'â', iacute: 'í', oacute: 'ó', uacute: 'ú', ntilde: 'ñ',
  ccedil: 'ç', Eacute: 'É', Ntilde: 'Ñ', Ccedil: 'Ç',
};

const BLOCK_END = /<\s*(?:br\s*\/?|\/\s*(?:p|div|li|tr|h[1-6]|blockquote|pre|ul|ol|table))\s*>/gi;
const DROPPED = /<\s*(script|style)\b[^>]*>[\s\S]*?<\s*\/\s*\1\s*>/gi;
const TAG = /<!--[\s\S]*?-->|<\/?[A-Za-z][^>]*>/g;
const REFERENCE = /&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));/g;

function decodeReference(match: string, dec?: string, hex?: string, name?: string): string {
  if (name !== undefined) return Object.hasOwn(NAMED, name) ? NAMED[name]! : match;
  const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
  // Not a character (NUL, surrogates, beyond Unicode): the replacement character, as browsers do.
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\uFFFD';
  return String.fromCodePoint(code);
}

export function htmlToText(html: unknown): string {
  if (html === null || html === undefined) return '';
  const text = String(html)
    .replace(DROPPED, '')
    .replace(BLOCK_END, '\n')
    .replace(TAG, '')
    .replace(REFERENCE, decodeReference);
  return text
    .split('\n')
    .map((line) => line.replace(/[ \t\f\v\u00a0]+/g, ' ').trim())
    .filter((line, i, all) => line !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n')
    .trim();
}
