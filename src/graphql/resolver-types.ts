/**
 * Pick a resolver's result and arguments out of the generated resolver types, so Nest resolver
 * methods are checked against schema/: a drifting resolver fails `tsc --strict`.
 */
type Fn<R> = Extract<NonNullable<R>, (...args: any[]) => unknown>;

export type ResolverResult<R> = ReturnType<Fn<R>>;
export type ResolverArgs<R> = Parameters<Fn<R>>[1];
