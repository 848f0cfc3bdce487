import type { DiscoveryService, Reflector } from '@nestjs/core';

/**
 * The instances of every provider (of any module) whose class carries `metadataKey`, each once, in
 * discovery order: how `@CopilotToolSource()` and `@CopilotRunPolicy()` providers are found.
 * Class providers carry the metadata on their class; values and factories on their instance's class.
 */
export function markedProviders<T>(
  discovery: DiscoveryService,
  reflector: Reflector,
  metadataKey: string,
): Array<{ instance: T | undefined; type: Function }> {
  const found: Array<{ instance: T | undefined; type: Function }> = [];
  const seen = new Set<unknown>();
  for (const wrapper of discovery.getProviders()) {
    const instance = wrapper.instance as T | undefined;
    const type = !wrapper.isNotMetatype ? wrapper.metatype : (instance as object | undefined)?.constructor;
    if (typeof type !== 'function' || !reflector.get(metadataKey, type)) continue;
    if (instance !== undefined && seen.has(instance)) continue;
    seen.add(instance);
    found.push({ instance, type });
  }
  return found;
}
