/**
 * The text of a `sql` stream, checked before the database sees it: exactly one SELECT (or WITH …
 * SELECT, VALUES, TABLE) whose parentheses balance, so wrapping it as `(<sql>) AS q` cannot be escaped
 * and no second statement can ride along. Trailing semicolons and comments (what people paste from an
 * SQL editor) are dropped. Postgres lexing rules: '…' strings ('' inside), E'…' strings (backslash
 * escapes), "…" identifiers, $tag$…$tag$ bodies, -- line comments and nested block comments.
 *
 * The database's own parser has the last word (the query is described as one prepared statement, in a
 * read-only transaction); this check gives a clear message at config time and keeps any statement from
 * running during discovery.
 */

export type SqlTextCheck = { ok: true; sql: string } | { ok: false; reason: string };

const FIRST_WORDS = new Set(['select', 'with', 'values', 'table']);

export function checkSelectText(text: string): SqlTextCheck {
  let depth = 0;
  /** End of the last character that is not whitespace, a comment or a trailing semicolon. */
  let end = 0;
  let firstWord: string | undefined;
  let semicolonAt = -1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let nest = 1;
      i += 2;
      while (i < n && nest > 0) {
        if (text[i] === '/' && text[i + 1] === '*') (nest++, (i += 2));
        else if (text[i] === '*' && text[i + 1] === '/') (nest--, (i += 2));
        else i++;
      }
      if (nest > 0) return { ok: false, reason: 'a /* comment is never closed' };
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      if (semicolonAt < 0) semicolonAt = i;
      i++;
      continue;
    }
    // Anything else after a semicolon is a second statement.
    if (semicolonAt >= 0) return { ok: false, reason: 'it holds more than one statement (a ";" is followed by more SQL)' };
    const start = i;
    if (c === "'" || ((c === 'E' || c === 'e') && next === "'")) {
      const backslashes = c !== "'";
      i += backslashes ? 2 : 1;
      for (;;) {
        if (i >= n) return { ok: false, reason: 'a quoted string is never closed' };
        const ch = text[i]!;
        if (backslashes && ch === '\\') i += 2;
        else if (ch === "'" && text[i + 1] === "'") i += 2;
        else if (ch === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) return { ok: false, reason: 'a quoted identifier is never closed' };
      i = close + 1;
      // "" inside an identifier is two quoted parts back to back: the loop reads the next one.
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(text.slice(i, i + 66))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i))![0];
      const close = text.indexOf(tag, i + tag.length);
      if (close < 0) return { ok: false, reason: `a ${tag} quoted string is never closed` };
      i = close + tag.length;
    } else if (c === '(') {
      // A parenthesised query starts with its first word too.
      depth++;
      i++;
      end = i;
      continue;
    } else if (c === ')') {
      depth--;
      if (depth < 0) return { ok: false, reason: 'it closes a parenthesis it never opened' };
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(text[i]!)) i++;
      firstWord ??= text.slice(start, i).toLowerCase();
    } else {
      i++;
    }
    firstWord ??= '';
    end = i;
  }
  if (depth > 0) return { ok: false, reason: 'a parenthesis is never closed' };
  if (firstWord === undefined) return { ok: false, reason: 'it is empty' };
  if (!FIRST_WORDS.has(firstWord)) {
    return { ok: false, reason: `it must be one SELECT (or WITH … SELECT), not ${firstWord ? firstWord.toUpperCase() : 'this'}` };
  }
  return { ok: true, sql: text.slice(0, end) };
}
