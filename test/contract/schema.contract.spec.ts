import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildClientSchema,
  findBreakingChanges,
  findDangerousChanges,
  getIntrospectionQuery,
  type GraphQLSchema,
  type IntrospectionDirective,
  type IntrospectionQuery,
} from 'graphql';
import { readFileSync } from 'node:fs';
import { contractFixture } from '../support/contract-fixtures.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';

/**
 * Our schema, introspected over HTTP like any client would, against the real v1 server's
 * introspection (contract/v1/introspection.json): no breaking and no dangerous change. Additions
 * (our Subscription type) are allowed; anything else the client could notice is not.
 */
const upstreamIntrospection: IntrospectionQuery = JSON.parse(
  readFileSync(contractFixture('v1/introspection.json'), 'utf8'),
).data;

function describeChanges(changes: Array<{ type: string; description: string }>): string[] {
  return changes.map((change) => `${change.type}: ${change.description}`);
}

function directiveShape(directive: IntrospectionDirective | undefined) {
  if (!directive) return undefined;
  return {
    name: directive.name,
    locations: [...directive.locations].sort(),
    args: directive.args.map(({ name, type, defaultValue }) => ({ name, type, defaultValue })),
  };
}

describe('v1 schema contract (introspection)', () => {
  let rt: RuntimeApp;
  let ourIntrospection: IntrospectionQuery;
  let upstream: GraphQLSchema;
  let ours: GraphQLSchema;

  beforeAll(async () => {
    rt = await startRuntimeApp();
    const response = await fetch(rt.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: getIntrospectionQuery({ inputValueDeprecation: true, directiveIsRepeatable: true }) }),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { data: IntrospectionQuery; errors?: unknown };
    expect(result.errors).toBeUndefined();
    ourIntrospection = result.data;
    upstream = buildClientSchema(upstreamIntrospection);
    ours = buildClientSchema(ourIntrospection);
  });

  afterAll(async () => {
    await rt?.close();
  });

  it('has no breaking change against the upstream v1 schema', () => {
    expect(describeChanges(findBreakingChanges(upstream, ours))).toEqual([]);
  });

  it('has no dangerous change against the upstream v1 schema', () => {
    expect(describeChanges(findDangerousChanges(upstream, ours))).toEqual([]);
  });

  it('declares @defer and @stream exactly as upstream does', () => {
    for (const name of ['defer', 'stream']) {
      const theirs = upstreamIntrospection.__schema.directives.find((directive) => directive.name === name);
      const mine = ourIntrospection.__schema.directives.find((directive) => directive.name === name);
      expect(theirs).toBeDefined();
      expect(directiveShape(mine)).toEqual(directiveShape(theirs));
    }
  });

  it('keeps the upstream root types and adds only our documented operations', () => {
    expect(ours.getQueryType()?.name).toBe('Query');
    expect(ours.getMutationType()?.name).toBe('Mutation');
    expect(upstream.getSubscriptionType() ?? null).toBeNull();
    const added = (type: 'Query' | 'Mutation') => {
      const upstreamFields = Object.keys((upstream.getType(type) as any).getFields());
      return Object.keys((ours.getType(type) as any).getFields()).filter((f) => !upstreamFields.includes(f)).sort();
    };
    expect(added('Query')).toEqual(['thread', 'threads']);
    expect(added('Mutation')).toEqual(['deleteThread', 'forkThread', 'renameThread', 'stopRun']);
    expect(Object.keys(ours.getSubscriptionType()?.getFields() ?? {}).sort()).toEqual(['copilotEvents', 'threadEvents']);
  });
});
