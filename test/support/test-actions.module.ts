import { Injectable, Module } from '@nestjs/common';
import { CopilotAction, type ActionContext } from '../../src/index.js';

/** A user's own Nest module adding server-side actions, as the README shows. */
@Injectable()
export class WeatherActions {
  readonly calls: Array<{ args: unknown; threadId: string; properties: unknown }> = [];

  @CopilotAction({
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' } },
      required: ['city'],
      additionalProperties: false,
    },
  })
  getWeather(args: { city: string }, context: ActionContext) {
    this.calls.push({ args, threadId: context.threadId, properties: context.properties });
    return { city: args.city, tempC: 21, sky: 'sunny' };
  }

  @CopilotAction({ description: 'Always fails', parameters: { type: 'object', properties: {} } })
  failingAction(): never {
    throw new Error('boom from handler');
  }

  @CopilotAction({ name: 'getTime', description: 'The current time, as text' })
  time(): string {
    return 'It is noon.';
  }
}

@Module({ providers: [WeatherActions], exports: [WeatherActions] })
export class TestActionsModule {}
