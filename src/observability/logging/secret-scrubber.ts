/**
 * Removes secrets from log text: the values of the secret settings this process was given (API
 * keys, JWT secret, metrics token, passwords inside database or Redis URLs), bearer tokens and
 * `sk-...` keys by shape, and the password of any `scheme://user:password@` URL. Applied to every
 * message and error of the logger, so a library's error text quoting a key cannot leak it.
 */
export class SecretScrubber {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first: a secret containing another is replaced whole.
    this.secrets = [...new Set([...secrets].filter((secret) => secret.length >= 6))].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let result = text;
    for (const secret of this.secrets) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    return result
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${REDACTED}`)
      .replace(/\bsk-[A-Za-z0-9_-]{8,}/g, REDACTED)
      .replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi, `$1${REDACTED}@`);
  }
}

export const REDACTED = '[REDACTED]';

/** Names whose values are secrets. */
const SECRET_NAME = /(^|_)(API_KEY|SECRET|TOKEN|PASSWORD|PRIVATE_KEY|CREDENTIALS?)$/i;

/** The secret values of an environment: secret-named variables, and passwords inside any URL. */
export function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_NAME.test(name)) secrets.push(value.trim());
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      try {
        const password = decodeURIComponent(new URL(value).password);
        if (password) secrets.push(password);
      } catch {
        // Not a URL after all.
      }
    }
  }
  return secrets;
}
