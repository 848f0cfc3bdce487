/**
 * A list field may be produced as it happens: `@stream` lists are AsyncIterables, deferred fields
 * are Promises. The GraphQL transport collects iterables into arrays for executors that cannot
 * stream (see stream-collection.ts), so resolvers never need to know who is asking.
 */
export type Streamable<T> = T extends ReadonlyArray<infer Item> ? T | AsyncIterable<Item> : T;

/** What a resolver may return for a field whose schema type is `T`. */
export type ResolverReturn<T> = Streamable<T> | Promise<Streamable<T>> | AsyncIterable<T>;
