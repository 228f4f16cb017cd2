/**
 * Secrets never reach any output. The settings register theirs as they load (the API token, passwords in
 * URLs); every path that writes text a person or a file sees (error lines, logs, `check`, run reports, the
 * rejects file) passes it through `redact`, which also hides credentials in any URL, known or not.
 */

const known = new Set<string>();

/** `scheme://user:password@` → `scheme://user:***@`; a lone user part may itself be a token: `scheme://***@`. */
// User and password stop at anything that cannot be in them unencoded (quotes, commas, brackets), so in JSON
// text one field's URL never runs on to the next field's `@`.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'<>\\,{}[\]]*)(:[^\s/?#@"'<>\\,{}[\]]*)?@/gi;

/** Remembers secret values (an API token) to hide from now on. */
export function addSecrets(...values: (string | undefined)[]): void {
  for (const value of values) if (value && value.length >= 4) known.add(value);
}

/** Remembers the credentials of URLs (a password, or a user part that may be a token); the rest of the URL stays readable. */
export function addUrlCredentials(...urls: (string | undefined)[]): void {
  for (const value of urls) {
    if (!value) continue;
    for (const part of urlCredentials(value)) {
      known.add(part);
      try {
        known.add(decodeURIComponent(part));
      } catch {
        // not percent-encoded
      }
    }
  }
}

function urlCredentials(text: string): string[] {
  try {
    const url = new URL(text);
    // A password is hidden wherever it appears; a lone user part (maybe a token, maybe just "postgres") only
    // inside URLs, by the pattern below, so ordinary words are never blanked out.
    return [url.password].filter((p) => p.length >= 4);
  } catch {
    return [];
  }
}

export function redact(text: string): string {
  let out = text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string, password: string | undefined) =>
    password ? `${scheme}${user}:***@` : `${scheme}***@`,
  );
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}
