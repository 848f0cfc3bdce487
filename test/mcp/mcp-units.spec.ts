import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { InvalidEnvironmentError, parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';
import { clientNamedServers } from '../../src/mcp/mcp-client-servers.js';
import { McpConnection } from '../../src/mcp/mcp-connection.js';
import { checkedServers, serversFromEnvironment } from '../../src/mcp/mcp-server-config.js';
import { McpToolkit } from '../../src/mcp/mcp-toolkit.js';
import { namespacedToolName, toolAllowed } from '../../src/mcp/mcp-tool-names.js';
import { resultText } from '../../src/mcp/mcp-tool-result.js';
import { McpUrlPattern } from '../../src/mcp/mcp-url-pattern.js';

describe('MCP tool names', () => {
  it('keeps <server>__<tool> when it is already a valid name', () => {
    expect(namespacedToolName('web', 'get-sum')).toBe('web__get-sum');
    expect(namespacedToolName('memory', 'create_entities')).toBe('memory__create_entities');
  });

  it('cleans, cuts and hashes other names: valid, at most 64 characters, stable, distinct', () => {
    const dotted = namespacedToolName('docs', 'search.pages');
    expect(dotted).toMatch(/^docs__search_pages_[0-9a-f]{8}$/);
    expect(namespacedToolName('docs', 'search.pages')).toBe(dotted);
    expect(namespacedToolName('docs', 'search_pages')).toBe('docs__search_pages');
    expect(namespacedToolName('docs', 'search pages')).not.toBe(dotted);
    const long = namespacedToolName('server', 'x'.repeat(100));
    expect(long).toHaveLength(64);
    expect(namespacedToolName('server', `${'x'.repeat(99)}y`)).not.toBe(long);
  });

  it('property: every name is valid, bounded, deterministic, and distinct tools get distinct names', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9_-]{1,32}$/), fc.string({ minLength: 1, maxLength: 120 }), fc.string({ minLength: 1, maxLength: 120 }), (server, a, b) => {
        const name = namespacedToolName(server, a);
        expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
        expect(namespacedToolName(server, a)).toBe(name);
        if (a !== b) expect(namespacedToolName(server, b)).not.toBe(name);
      }),
    );
  });

  it('allow and deny lists take names and * patterns; deny wins', () => {
    expect(toolAllowed('echo', undefined)).toBe(true);
    expect(toolAllowed('echo', { allow: ['get-*'] })).toBe(false);
    expect(toolAllowed('get-sum', { allow: ['get-*'] })).toBe(true);
    expect(toolAllowed('get-sum', { allow: ['get-*'], deny: ['get-sum'] })).toBe(false);
    expect(toolAllowed('a.b', { deny: ['a*b'] })).toBe(false);
    expect(toolAllowed('axb', { allow: ['a.b'] })).toBe(false);
  });
});

describe('MCP results', () => {
  it('joins text, describes non-text blocks, and turns isError into an error result', () => {
    expect(resultText({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] })).toBe('a\nb');
    expect(resultText({ content: [{ type: 'image', data: 'AAAA', mimeType: 'image/png' }] })).toBe('[image image/png, 4 base64 characters not shown]');
    expect(JSON.parse(resultText({ content: [{ type: 'text', text: 'bad city' }], isError: true }))).toEqual({
      error: { code: 'MCP_TOOL_ERROR', message: 'bad city' },
      result: '',
    });
  });

  it('gives structured content as JSON: alone when the text is only its serialisation, after prose otherwise', () => {
    const structured = { temperature: 36 };
    expect(resultText({ content: [{ type: 'text', text: '{"temperature":36}' }], structuredContent: structured })).toBe('{"temperature":36}');
    expect(resultText({ content: [{ type: 'text', text: 'Chilly.' }], structuredContent: structured })).toBe('Chilly.\n{"temperature":36}');
    expect(resultText({ content: [], structuredContent: structured })).toBe('{"temperature":36}');
  });
});

describe('MCP URL patterns (client-named servers)', () => {
  it('matches exact URLs, subdomain wildcards and path prefixes', () => {
    const exact = new McpUrlPattern('https://mcp.acme.com/mcp');
    expect(exact.matches('https://mcp.acme.com/mcp')).toBe(true);
    expect(exact.matches('https://mcp.acme.com/mcp/other')).toBe(false);
    expect(exact.matches('http://mcp.acme.com/mcp')).toBe(false);
    expect(exact.matches('https://mcp.acme.com:8443/mcp')).toBe(false);
    const wildcard = new McpUrlPattern('https://*.tools.acme.com/*');
    expect(wildcard.matches('https://a.tools.acme.com/mcp')).toBe(true);
    expect(wildcard.matches('https://a.b.tools.acme.com/x?y=1')).toBe(true);
    expect(wildcard.matches('https://tools.acme.com/mcp')).toBe(false);
    expect(wildcard.matches('https://eviltools.acme.com/mcp')).toBe(false);
  });

  it('is not fooled by URL tricks', () => {
    const pattern = new McpUrlPattern('https://*.acme.com/*');
    for (const trick of [
      'https://evil.example/?.acme.com/',
      'https://evil.example/#.acme.com/',
      'https://x.acme.com@evil.example/',
      'https://user:pw@x.acme.com/',
      'https://evil.example\\.acme.com/',
      'javascript://x.acme.com/',
    ]) {
      expect({ trick, allowed: pattern.matches(trick) }).toEqual({ trick, allowed: false });
    }
    expect(new McpUrlPattern('http://127.0.0.1:8931/mcp/*').matches('http://127.0.0.1:8931/mcp/../admin')).toBe(false);
  });

  it('refuses patterns it cannot honour', () => {
    expect(() => new McpUrlPattern('mcp.acme.com')).toThrow(/not a URL/);
    expect(() => new McpUrlPattern('ftp://acme.com/')).toThrow(/only http and https/);
    expect(() => new McpUrlPattern('https://a*.acme.com/')).toThrow(/"\*" only as a leading/);
    expect(() => new McpUrlPattern('https://acme.com/*/mcp')).toThrow(/only at the end of the path/);
  });
});

describe('client-named MCP servers', () => {
  const allow = [new McpUrlPattern('https://mcp.acme.com/*')];

  it('accepts allow-listed entries of mcpServers and mcpEndpoints, once each', () => {
    const servers = clientNamedServers(
      {
        mcpServers: [{ endpoint: 'https://mcp.acme.com/a', apiKey: 'k' }, { endpoint: 'https://mcp.acme.com/a', apiKey: 'k' }],
        mcpEndpoints: [{ endpoint: 'https://mcp.acme.com/b' }],
      },
      allow,
    );
    expect(servers.map((server) => [server.endpoint, server.apiKey])).toEqual([
      ['https://mcp.acme.com/a', 'k'],
      ['https://mcp.acme.com/b', undefined],
    ]);
    expect(servers[0]!.id).toMatch(/^mcp_acme_com_[0-9a-f]{6}$/);
    expect(servers[0]!.id).not.toBe(servers[1]!.id);
  });

  it('refuses with BAD_USER_INPUT naming the entry: not allowed, no allow-list, malformed', () => {
    const refusal = (properties: Record<string, unknown>, patterns = allow) => {
      try {
        clientNamedServers(properties, patterns);
      } catch (error) {
        expect(error).toBeInstanceOf(CopilotRuntimeError);
        expect((error as CopilotRuntimeError).code).toBe('BAD_USER_INPUT');
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refusal({ mcpServers: [{ endpoint: 'https://mcp.acme.com/a' }, { endpoint: 'http://169.254.169.254/latest' }] })).toBe(
      'properties.mcpServers[1].endpoint "http://169.254.169.254/latest" was refused: it matches none of the allowed MCP server URL patterns (https://mcp.acme.com/*).',
    );
    expect(refusal({ mcpServers: [{ endpoint: 'https://mcp.acme.com/a' }] }, [])).toContain('does not accept MCP servers named by the client');
    expect(refusal({ mcpEndpoints: {} })).toBe('properties.mcpEndpoints must be an array of {endpoint, apiKey?}.');
    expect(refusal({ mcpServers: [{ url: 'x' }] })).toBe('properties.mcpServers[0] must be an object with a string "endpoint".');
    expect(refusal({ mcpServers: [{ endpoint: 'not a url' }] })).toBe('properties.mcpServers[0].endpoint "not a url" is not a URL.');
    expect(refusal({ mcpServers: [{ endpoint: 'https://mcp.acme.com/a', apiKey: 7 }] })).toBe('properties.mcpServers[0].apiKey must be a string.');
    expect(clientNamedServers({}, [])).toEqual([]);
    const many = Array.from({ length: 11 }, (_, index) => ({ endpoint: `https://mcp.acme.com/${index}` }));
    expect(refusal({ mcpServers: many })).toBe(
      'A request may name at most 10 MCP servers (properties.mcpServers and mcpEndpoints together); it named 11.',
    );
  });
});

describe('MCP configuration', () => {
  it('MCP_SERVERS: a JSON array of stdio and http servers', () => {
    const env = parseEnvironment({
      MCP_SERVERS: JSON.stringify([
        { id: 'fs', transport: 'stdio', command: 'npx', args: ['-y', 'some-server'], env: { ROOT: '/data' }, tools: { deny: ['delete_*'] } },
        { id: 'docs', transport: 'http', url: 'https://docs.example/mcp', headers: { authorization: 'Bearer t' }, callTimeoutMs: 5000 },
      ]),
      MCP_CLIENT_SERVERS_ALLOW: 'https://*.example.com/*, http://127.0.0.1:8931/mcp',
      MCP_CALL_TIMEOUT_MS: '15000',
    });
    const { mcp } = optionsFromEnvironment(env);
    expect(mcp?.servers?.map((server) => server.id)).toEqual(['fs', 'docs']);
    expect(mcp?.clientServers?.allow).toEqual(['https://*.example.com/*', 'http://127.0.0.1:8931/mcp']);
    expect(mcp?.callTimeoutMs).toBe(15000);
    expect(optionsFromEnvironment(parseEnvironment({})).mcp).toEqual({ servers: [], clientServers: { allow: [] }, callTimeoutMs: 60000 });
  });

  it('a malformed MCP_SERVERS stops the boot, naming the variable and the entry', () => {
    const failure = (value: string) => {
      try {
        parseEnvironment({ MCP_SERVERS: value });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidEnvironmentError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(failure('[{"id":"fs",')).toMatch(/MCP_SERVERS: MCP_SERVERS is not valid JSON/);
    expect(failure('{"id":"fs"}')).toContain('MCP_SERVERS must be a JSON array');
    const entry = failure(JSON.stringify([{ id: 'ok', transport: 'stdio', command: 'x' }, { id: 'fs', transport: 'stdio' }]));
    expect(entry).toContain('MCP_SERVERS[1] (id "fs").command');
    expect(failure(JSON.stringify([{ id: 'bad id!', transport: 'http', url: 'https://x' }]))).toContain('MCP_SERVERS[0] (id "bad id!").id');
    expect(failure(JSON.stringify([{ id: 'w', transport: 'http', url: 'file:///etc/passwd' }]))).toContain('MCP_SERVERS[0] (id "w").url: must be an http(s) URL');
    expect(failure(JSON.stringify([{ id: 'w', transport: 'websocket', url: 'https://x' }]))).toContain('MCP_SERVERS[0] (id "w").transport');
    expect(failure(JSON.stringify([{ id: 'w', transport: 'stdio', command: 'a', typo: 1 }]))).toContain('MCP_SERVERS[0] (id "w")');
    expect(
      failure(JSON.stringify([{ id: 'd', transport: 'stdio', command: 'a' }, { id: 'd', transport: 'stdio', command: 'b' }])),
    ).toContain('MCP_SERVERS[1] (id "d"): duplicate id "d"');
    expect(() => parseEnvironment({ MCP_CLIENT_SERVERS_ALLOW: 'https://a*.x.com/' })).toThrow(/MCP_CLIENT_SERVERS_ALLOW: Invalid MCP URL pattern/);
  });

  it('module options are checked the same way when the runtime is built', () => {
    expect(() => checkedServers([{ id: 'x', transport: 'http', url: 'nope' }], 'mcp.servers')).toThrow('mcp.servers[0] (id "x").url: must be an http(s) URL');
    expect(() => new McpToolkit({ mcp: { servers: [{ id: 'x' } as never] } })).toThrow(/mcp\.servers\[0\] \(id "x"\)/);
    expect(() => new McpToolkit({ mcp: { callTimeoutMs: 0 } })).toThrow('Invalid MCP option mcp.callTimeoutMs: 0');
    expect(() => new McpToolkit({ mcp: { clientServers: { allow: ['*'] } } })).toThrow(/Invalid MCP URL pattern "\*"/);
    expect(serversFromEnvironment(undefined)).toEqual([]);
  });
});

describe('an MCP connection to a server that cannot start', () => {
  it('lists no tools, answers calls with MCP_SERVER_UNAVAILABLE, and closes cleanly', async () => {
    const connection = new McpConnection(
      { id: 'ghost', transport: 'stdio', command: '/nonexistent/mcp-server', args: [] },
      { connectTimeoutMs: 5_000, callTimeoutMs: 1_000, reconnectInitialDelayMs: 60_000, reconnectMaxDelayMs: 60_000 },
      new Logger('test'),
    );
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      expect(await connection.tools()).toEqual([]);
      expect(connection.status).toBe('down');
      const outcome = JSON.parse(await connection.call('anything', {}, new AbortController().signal));
      expect(outcome).toEqual({ error: { code: 'MCP_SERVER_UNAVAILABLE', message: expect.stringContaining('"ghost" is unavailable') }, result: '' });
      // The outage is logged once, however often the server is asked for.
      await connection.tools();
      expect(warn.mock.calls.filter(([message]) => String(message).includes('MCP server "ghost"'))).toHaveLength(1);
    } finally {
      warn.mockRestore();
      await connection.close();
    }
    expect(connection.status).toBe('closed');
  });
});
