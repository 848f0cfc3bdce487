/**
 * The upstream wire captures the contract tests compare against, kept in the repository
 * (test/fixtures/contract/, byte-identical copies of the captures) so a clone tests on its own.
 */
export const CONTRACT_FIXTURES = new URL('../fixtures/contract/', import.meta.url);

/** e.g. contractFixture('v1/wire/') or contractFixture('v1/introspection.json'). */
export function contractFixture(path: string): URL {
  return new URL(path, CONTRACT_FIXTURES);
}
