import { describe, expect, it, jest } from '@jest/globals';
import {
  AvailableAgentsDocument,
  GenerateCopilotResponseDocument,
  LoadAgentStateDocument,
} from '@copilotkit/runtime-client-gql';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { buildSchema, parse, print, validate, type DocumentNode } from 'graphql';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { DEFAULT_GRAPHQL_LIMITS, resolveEdgeOptions } from '../../src/edges/edge-options.js';
import { OriginPolicy } from '../../src/edges/origin-policy.js';
import { checkRunInput, deeperThan } from '../../src/edges/run-input-limits.js';
import { GraphQLLimits } from '../../src/graphql/limits/graphql-limits.js';
import { schemaDirectory } from '../../src/graphql/schema-location.js';

const schema = buildSchema(
  readdirSync(schemaDirectory())
    .filter((file) => file.endsWith('.graphql'))
    .map((file) => readFileSync(join(schemaDirectory(), file), 'utf8'))
    .join('\n'),
);

/** What graphql-armor measures of a document: tokens, depth, aliases, directives, cost. */
function measure(document: DocumentNode) {
  const parser = new MaxTokensParserWLexer(print(document), { n: Number.MAX_SAFE_INTEGER } as never);
  parser.parseDocument();
  const seen: Record<string, number> = { tokens: parser.tokenCount };
  const record = (name: string) => ({ n: Number.MAX_SAFE_INTEGER, maxCost: Number.MAX_SAFE_INTEGER, onAccept: [(_: unknown, { n }: { n: number }) => (seen[name] = n)] }) as never;
  const errors = validate(schema, document, [maxDepthRule(record('depth')), maxAliasesRule(record('aliases')), maxDirectivesRule(record('directives')), costLimitRule(record('cost'))]);
  expect(errors).toEqual([]);
  return seen as { tokens: number; depth: number; aliases: number; directives: number; cost: number };
}

const limits = new GraphQLLimits(resolveEdgeOptions(undefined, undefined).graphql);
const validateWithLimits = (source: string) => validate(schema, parse(source), limits.validationRules);

describe('GraphQL document limits (graphql-armor)', () => {
  it.each([
    ['generateCopilotResponse', GenerateCopilotResponseDocument],
    ['availableAgents', AvailableAgentsDocument],
    ['loadAgentState', LoadAgentStateDocument],
  ])('the real v1 client\'s %s document passes every default limit with at least half of it to spare', (_, document) => {
    const used = measure(document as DocumentNode);
    expect(used.tokens).toBeLessThanOrEqual(DEFAULT_GRAPHQL_LIMITS.maxTokens / 2);
    expect(used.depth).toBeLessThanOrEqual(DEFAULT_GRAPHQL_LIMITS.maxDepth / 2);
    expect(used.aliases).toBeLessThanOrEqual(DEFAULT_GRAPHQL_LIMITS.maxAliases / 2);
    expect(used.directives).toBeLessThanOrEqual(DEFAULT_GRAPHQL_LIMITS.maxDirectives / 2);
    expect(used.cost).toBeLessThanOrEqual(DEFAULT_GRAPHQL_LIMITS.maxCost / 2);
    expect(limits.checkTokens(print(document as DocumentNode))).toBeNull();
    expect(validate(schema, document as DocumentNode, limits.validationRules)).toEqual([]);
  });

  it('counts tokens before parsing: a 1 MB "{ hello hello ... }" is refused naming GRAPHQL_MAX_TOKENS', () => {
    const error = limits.checkTokens(`{ ${'hello '.repeat(170_000)}}`);
    expect(error?.message).toBe(`The document has more than ${DEFAULT_GRAPHQL_LIMITS.maxTokens} tokens (GRAPHQL_MAX_TOKENS).`);
    expect(error?.originalError).toEqual(expect.objectContaining({ code: 'GRAPHQL_LIMIT_EXCEEDED' }));
    expect(limits.checkTokens('{ hello')).toBeNull(); // a syntax error is the parser's to report
  });

  it('counts a document within the limit once, and one over it every time', () => {
    const small = new GraphQLLimits({ ...limits.limits, maxTokens: 10 });
    const parsed = jest.spyOn(MaxTokensParserWLexer.prototype, 'parseDocument');
    try {
      expect(small.checkTokens('{ hello }')).toBeNull();
      expect(small.checkTokens('{ hello }')).toBeNull();
      expect(parsed).toHaveBeenCalledTimes(1);
      const over = `{ ${'hello '.repeat(20)}}`;
      expect(small.checkTokens(over)?.message).toMatch(/GRAPHQL_MAX_TOKENS/);
      expect(small.checkTokens(over)?.message).toMatch(/GRAPHQL_MAX_TOKENS/);
      expect(parsed).toHaveBeenCalledTimes(3);
    } finally {
      parsed.mockRestore();
    }
  });

  it('remembers a bounded number of documents of bounded length: the oldest is counted again, a long one every time', () => {
    const parsed = jest.spyOn(MaxTokensParserWLexer.prototype, 'parseDocument');
    try {
      const fresh = new GraphQLLimits(limits.limits);
      for (let index = 0; index <= 256; index++) expect(fresh.checkTokens(`{ a${index}: hello }`)).toBeNull();
      parsed.mockClear();
      fresh.checkTokens('{ a256: hello }');
      expect(parsed).not.toHaveBeenCalled();
      fresh.checkTokens('{ a0: hello }');
      expect(parsed).toHaveBeenCalledTimes(1);
      // A few tokens can be megabytes: such a document is counted every time, never held.
      const long = `{ hello(name: "${'x'.repeat(100_000)}") }`;
      expect(fresh.checkTokens(long)).toBeNull();
      expect(fresh.checkTokens(long)).toBeNull();
      expect(parsed).toHaveBeenCalledTimes(3);
    } finally {
      parsed.mockRestore();
    }
  });

  it.each([
    ['depth within', '{ threads { nodes { forkedFrom { threadId } } } }', null],
    ['aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: hello`).join(' ')} }`, /Aliases limit of 15 exceeded, found 16\. \(GRAPHQL_MAX_ALIASES\)$/],
    ['directives', `{ hello ${'@include(if: true) '.repeat(51)}}`, /Directives limit of 50 exceeded, found 51\. \(GRAPHQL_MAX_DIRECTIVES\)$/],
  ])('%s over the limit: GRAPHQL_LIMIT_EXCEEDED naming the limit', (_, source, message) => {
    const errors = validateWithLimits(source);
    if (message === null) return expect(errors).toEqual([]);
    expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(message)]);
    expect(errors[0]!.originalError).toBeInstanceOf(CopilotRuntimeError);
    expect((errors[0]!.originalError as CopilotRuntimeError).code).toBe('GRAPHQL_LIMIT_EXCEEDED');
  });

  it('depth and cost over their limits name GRAPHQL_MAX_DEPTH and GRAPHQL_MAX_COST', () => {
    const tight = new GraphQLLimits({ ...resolveEdgeOptions(undefined, undefined).graphql, maxDepth: 2, maxCost: 10 });
    const messages = validate(schema, parse('{ threads { nodes { forkedFrom { threadId } } } }'), tight.validationRules).map((e) => e.message);
    expect(messages).toEqual([
      expect.stringMatching(/^Query depth limit of 2 exceeded, found 4\. \(GRAPHQL_MAX_DEPTH\)$/),
      expect.stringMatching(/^Query Cost limit of 10 exceeded, found [\d.]+\. \(GRAPHQL_MAX_COST\)$/),
    ]);
  });

  it('an operation starts at most one run: aliases and fragments are counted', () => {
    const aliased = `mutation { ${Array.from({ length: 3 }, (_, i) => `r${i}: generateCopilotResponse(data: $d) { threadId }`).join(' ')} }`;
    const source = aliased.replace('mutation {', 'mutation m($d: GenerateCopilotResponseInput!) {');
    expect(validateWithLimits(source).map((e) => e.message)).toEqual([
      'An operation may start at most one run; this one asks for 3 (generateCopilotResponse / copilotEvents).',
    ]);
    const viaFragment = `mutation m($d: GenerateCopilotResponseInput!) { generateCopilotResponse(data: $d) { threadId } ...again }
      fragment again on Mutation { other: generateCopilotResponse(data: $d) { threadId } }`;
    expect(validateWithLimits(viaFragment).map((e) => e.message)).toEqual([
      'An operation may start at most one run; this one asks for 2 (generateCopilotResponse / copilotEvents).',
    ]);
  });

  it('introspection over graphql-ws follows the option', () => {
    const off = new GraphQLLimits({ ...limits.limits, introspection: false });
    expect(validate(schema, parse('{ __schema { queryType { name } } }'), off.socketValidationRules)[0]?.message).toMatch(/introspection has been disabled/);
    const on = new GraphQLLimits({ ...limits.limits, introspection: true });
    expect(validate(schema, parse('{ __schema { queryType { name } } }'), on.socketValidationRules)).toEqual([]);
  });

  it('introspection defaults to off with NODE_ENV=production, on otherwise', () => {
    const before = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      expect(resolveEdgeOptions(undefined, undefined).graphql.introspection).toBe(false);
      process.env.NODE_ENV = 'development';
      expect(resolveEdgeOptions(undefined, undefined).graphql.introspection).toBe(true);
      expect(resolveEdgeOptions({ graphql: { introspection: false } }, undefined).graphql.introspection).toBe(false);
    } finally {
      process.env.NODE_ENV = before;
    }
  });
});

function from(origin: string | undefined, host = 'api.example.com'): IncomingMessage {
  return { headers: { host, ...(origin === undefined ? {} : { origin }) }, socket: {} } as unknown as IncomingMessage;
}

describe('origin policy (CORS and WebSocket upgrades)', () => {
  it('deny by default: same-origin and loopback development origins only, never "null"', () => {
    const policy = new OriginPolicy([]);
    expect(policy.judge(from(undefined))).toBe('no-origin');
    expect(policy.judge(from('https://api.example.com'))).toBe('same-origin');
    expect(policy.judge(from('http://localhost:3000'))).toBe('allowed');
    expect(policy.judge(from('http://127.0.0.1:5173'))).toBe('allowed');
    expect(policy.judge(from('http://[::1]:8080'))).toBe('allowed');
    expect(policy.judge(from('https://evil.example'))).toBe('denied');
    expect(policy.judge(from('null'))).toBe('denied');
    expect(policy.judge(from('http://localhost.evil.example'))).toBe('denied');
    expect(policy.judge(from('file://'))).toBe('denied');
    expect(policy.judge(from('not a url'))).toBe('denied');
  });

  it('configured: exact origins and *.domain patterns, and nothing else (not even localhost)', () => {
    const policy = new OriginPolicy(['https://app.example.com', 'https://*.example.org']);
    expect(policy.judge(from('https://app.example.com'))).toBe('allowed');
    expect(policy.judge(from('https://APP.example.com'))).toBe('allowed');
    expect(policy.judge(from('http://app.example.com'))).toBe('denied');
    expect(policy.judge(from('https://a.example.org'))).toBe('allowed');
    expect(policy.judge(from('https://a.b.example.org'))).toBe('allowed');
    expect(policy.judge(from('https://example.org'))).toBe('denied');
    expect(policy.judge(from('https://evilexample.org'))).toBe('denied');
    expect(policy.judge(from('https://a.example.org.evil.com'))).toBe('denied');
    expect(policy.judge(from('http://localhost:3000'))).toBe('denied');
    expect(policy.judge(from('null'))).toBe('denied');
  });

  it('a wildcard allows any http(s) origin (answered without credentials), never "null"', () => {
    const policy = new OriginPolicy(['*']);
    expect(policy.wildcard).toBe(true);
    expect(policy.judge(from('https://anything.example'))).toBe('allowed');
    expect(policy.judge(from('null'))).toBe('denied');
  });

  it('behind a trusted proxy, X-Forwarded-Host counts as the host for same-origin; untrusted, it does not', () => {
    const behindProxy = (trusted: boolean) =>
      ({
        headers: { host: 'runtime:4000', origin: 'https://chat.example.com', 'x-forwarded-host': 'chat.example.com' },
        socket: { remoteAddress: '10.0.0.2' },
        app: { get: (name: string) => (name === 'trust proxy fn' ? () => trusted : undefined) },
      }) as unknown as IncomingMessage;
    const policy = new OriginPolicy([]);
    expect(policy.judge(behindProxy(true))).toBe('same-origin');
    expect(policy.judge(behindProxy(false))).toBe('denied');
  });

  it('refuses a malformed entry at boot', () => {
    expect(() => new OriginPolicy(['app.example.com'])).toThrow('Not an origin: "app.example.com"');
    expect(() => new OriginPolicy(['https://*'])).toThrow('Not an origin pattern');
  });
});

describe('run input limits', () => {
  const input = (overrides: Record<string, unknown> = {}) =>
    ({ threadId: 't', runId: 'r', messages: [], tools: [], context: [], state: {}, forwardedProps: {}, ...overrides }) as never;
  const nested = (levels: number) => {
    const root: Record<string, unknown> = {};
    let current = root;
    for (let i = 1; i < levels; i++) current = (current.a = {}) as Record<string, unknown>;
    return root;
  };
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      return { code: (error as CopilotRuntimeError).code, message: (error as Error).message };
    }
    return null;
  };
  const tight = { maxMessages: 2, maxMessageBytes: 100, maxTools: 1, maxDepth: 5 };

  it('measures depth without recursion, 100,000 levels included', () => {
    expect(deeperThan(nested(5), 5)).toBe(false);
    expect(deeperThan(nested(6), 5)).toBe(true);
    expect(deeperThan(nested(100_000), 64)).toBe(true);
    expect(deeperThan('text', 0)).toBe(false);
  });

  it.each([
    ['messages', { messages: [1, 2, 3].map((i) => ({ id: `${i}`, role: 'user', content: 'x' })) }, 'A run may carry at most 2 messages; this one has 3 (RUN_MAX_MESSAGES).'],
    ['tools', { tools: [{ name: 'a' }, { name: 'b' }] }, 'A run may offer at most 1 tools; this one has 2 (RUN_MAX_TOOLS).'],
    ['state depth', { state: nested(5000) }, "The run's state is nested deeper than 5 levels (RUN_MAX_DEPTH)."],
    ['forwarded props depth', { forwardedProps: nested(6) }, "The run's forwarded props is nested deeper than 5 levels (RUN_MAX_DEPTH)."],
    ['message size', { messages: [{ id: '1', role: 'user', content: 'x'.repeat(200) }] }, /^Message 0 is \d+ bytes of JSON; the limit is 100 \(RUN_MAX_MESSAGE_BYTES\)\.$/],
    [
      'tool call arguments depth',
      { messages: [{ id: '1', role: 'assistant', toolCalls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[[[[[[1]]]]]]' } }] }] },
      'The arguments of a tool call in message 0 is nested deeper than 5 levels (RUN_MAX_DEPTH).',
    ],
  ])('%s over the limit: INPUT_LIMIT_EXCEEDED naming it', (_, overrides, message) => {
    const refused = refusal(() => checkRunInput({ input: input(overrides) }, tight));
    expect(refused?.code).toBe('INPUT_LIMIT_EXCEEDED');
    expect(refused?.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
  });

  it('v1 properties are checked too, and input within the limits passes', () => {
    expect(refusal(() => checkRunInput({ input: input(), properties: nested(6) }, tight))?.message).toBe(
      "The run's properties is nested deeper than 5 levels (RUN_MAX_DEPTH).",
    );
    expect(refusal(() => checkRunInput({ input: input({ messages: [{ id: '1', role: 'user', content: 'hi' }], tools: [{ name: 'a' }] }) }, tight))).toBeNull();
  });
});
