import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, getNullableType, isListType, type GraphQLSchema } from 'graphql';
import type { GraphQLContext } from '../graphql-context.js';

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

async function collect(value: unknown): Promise<unknown> {
  const resolved = await value;
  if (!isAsyncIterable(resolved)) return resolved;
  const items: unknown[] = [];
  for await (const item of resolved) items.push(item);
  return items;
}

/**
 * Resolvers produce streamed lists as AsyncIterables. graphql-js 16's plain `execute` (used by
 * Apollo for JSON-only requests) only accepts arrays, so for those requests list fields collect
 * their iterable first and the client gets one complete result.
 */
export function collectStreamsForPlainExecution(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field) => {
      if (!isListType(getNullableType(field.type))) return field;
      const resolve = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve: (source, args, context: GraphQLContext | undefined, info) => {
          const value = resolve(source, args, context, info);
          return context?.streamsLists ? value : collect(value);
        },
      };
    },
  });
}
