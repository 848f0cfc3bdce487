/**
 * An allow-list entry for client-named MCP servers, matched on the parsed URL rather than on its
 * text (so `https://evil.example/?.mcp.acme.com/` cannot pass for `https://*.mcp.acme.com/*`):
 * - scheme and port must be equal (default ports normalised);
 * - the host is exact, or `*.acme.com` for any subdomain of acme.com (not acme.com itself);
 * - the path is exact, or ends with `*` for any path under that prefix (query included);
 *   without a path the pattern allows only the server's root.
 * URLs with a user name or password are never allowed.
 *
 *   https://mcp.acme.com/mcp        only that endpoint
 *   https://*.tools.acme.com/*      any endpoint of any subdomain of tools.acme.com
 *   http://127.0.0.1:8931/*         any endpoint of that local port
 */
export class McpUrlPattern {
  private readonly protocol: string;
  private readonly port: string;
  private readonly host: { exact: string } | { suffix: string };
  private readonly path: { exact: string } | { prefix: string };

  constructor(readonly pattern: string) {
    const wildcardHost = /^(https?:\/\/)\*\./i.exec(pattern);
    let url: URL;
    try {
      url = new URL(wildcardHost ? pattern.replace('*.', 'wildcard.') : pattern);
    } catch {
      throw new Error(`Invalid MCP URL pattern "${pattern}": not a URL (e.g. https://mcp.example.com/* or https://*.example.com/mcp).`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`Invalid MCP URL pattern "${pattern}": only http and https.`);
    if (url.username || url.password) throw new Error(`Invalid MCP URL pattern "${pattern}": no credentials in patterns.`);
    if (url.hostname.includes('*')) throw new Error(`Invalid MCP URL pattern "${pattern}": "*" only as a leading "*." of the host.`);
    this.protocol = url.protocol;
    this.port = url.port;
    this.host = wildcardHost ? { suffix: url.hostname.slice('wildcard'.length) } : { exact: url.hostname };
    // The URL parser keeps a trailing `*` of the path verbatim (it is a valid path character).
    const path = url.pathname + url.search;
    if (path.slice(0, -1).includes('*')) throw new Error(`Invalid MCP URL pattern "${pattern}": "*" only at the end of the path.`);
    this.path = path.endsWith('*') ? { prefix: path.slice(0, -1) } : { exact: path };
  }

  matches(candidate: string): boolean {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      return false;
    }
    if (url.username || url.password) return false;
    if (url.protocol !== this.protocol || url.port !== this.port) return false;
    const host = url.hostname;
    if ('exact' in this.host ? host !== this.host.exact : !(host.endsWith(this.host.suffix) && host.length > this.host.suffix.length)) {
      return false;
    }
    const path = url.pathname + url.search;
    return 'exact' in this.path ? path === this.path.exact : path.startsWith(this.path.prefix);
  }
}
