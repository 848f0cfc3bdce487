import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { COPILOT_ACTION_METADATA, type CopilotActionOptions } from './copilot-action.decorator.js';
import { ActionArgumentsValidator } from './action-arguments-validator.js';
import type { ServerActionDefinition } from './server-action.js';

/** A registered server action with its compiled argument validator. */
export interface RegisteredAction extends ServerActionDefinition {
  validator: ActionArgumentsValidator;
}

const ANY_OBJECT = { type: 'object', properties: {} } as const;

/**
 * All server-side actions: those listed in the module options and those found on
 * `@CopilotAction()` methods of any provider. Built once at boot; names must be unique.
 */
@Injectable()
export class ActionRegistry implements OnModuleInit {
  private readonly logger = new Logger(ActionRegistry.name);
  private readonly actions = new Map<string, RegisteredAction>();

  constructor(
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const action of this.options.actions ?? []) this.add(action, 'module options');
    for (const action of this.discoverDecoratedActions()) this.add(action, '@CopilotAction');
    if (this.actions.size > 0) {
      this.logger.log(`Server actions: ${[...this.actions.keys()].join(', ')}`);
    }
  }

  list(): RegisteredAction[] {
    return [...this.actions.values()];
  }

  get(name: string): RegisteredAction | undefined {
    return this.actions.get(name);
  }

  private add(action: ServerActionDefinition, origin: string): void {
    if (!action.name || !/^[a-zA-Z0-9_-]{1,64}$/.test(action.name)) {
      throw new Error(
        `Invalid server action name "${action.name}" (${origin}): use 1-64 letters, digits, "_" or "-".`,
      );
    }
    if (this.actions.has(action.name)) {
      throw new Error(`Duplicate server action "${action.name}" (${origin}): action names must be unique.`);
    }
    const parameters = action.parameters ?? ANY_OBJECT;
    this.actions.set(action.name, {
      ...action,
      parameters,
      validator: ActionArgumentsValidator.compile(action.name, parameters),
    });
  }

  private *discoverDecoratedActions(): Generator<ServerActionDefinition> {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isNotMetatype) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = instance[methodName];
        if (typeof method !== 'function') continue;
        const meta = this.reflector.get<CopilotActionOptions | undefined>(COPILOT_ACTION_METADATA, method);
        if (!meta) continue;
        yield {
          name: meta.name ?? methodName,
          description: meta.description,
          parameters: meta.parameters,
          handler: (args, context) => (method as Function).call(instance, args, context),
        };
      }
    }
  }
}
