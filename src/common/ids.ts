import { randomUUID } from 'node:crypto';

/** Id generation behind one seam, so tests and logs agree on the shape. */
export const newId = (prefix?: string): string => (prefix ? `${prefix}-${randomUUID()}` : randomUUID());
