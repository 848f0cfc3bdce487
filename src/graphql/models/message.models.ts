import type {
  ActionExecutionMessageOutput,
  AgentStateMessageOutput,
  ImageMessageOutput,
  MessageStatus,
  ResultMessageOutput,
  TextMessageOutput,
} from '../generated/resolvers-types.js';

/**
 * What the runtime hands GraphQL for each output message. Derived from the generated types so a
 * schema change that the models do not follow fails `tsc`. Streamed lists are AsyncIterables and
 * the deferred `status` is a Promise that settles when the message ends.
 */
type Live<T extends { status: MessageStatus }> = Omit<T, 'status' | '__typename'> & {
  status: MessageStatus | Promise<MessageStatus>;
};

export type TextMessageModel = Omit<Live<TextMessageOutput>, 'content'> & {
  __typename: 'TextMessageOutput';
  content: string[] | AsyncIterable<string>;
};

export type ActionExecutionMessageModel = Omit<Live<ActionExecutionMessageOutput>, 'arguments'> & {
  __typename: 'ActionExecutionMessageOutput';
  arguments: string[] | AsyncIterable<string>;
};

export type ResultMessageModel = Live<ResultMessageOutput> & { __typename: 'ResultMessageOutput' };

export type AgentStateMessageModel = Live<AgentStateMessageOutput> & {
  __typename: 'AgentStateMessageOutput';
};

export type ImageMessageModel = Live<ImageMessageOutput> & { __typename: 'ImageMessageOutput' };

export type MessageModel =
  | TextMessageModel
  | ActionExecutionMessageModel
  | ResultMessageModel
  | AgentStateMessageModel
  | ImageMessageModel;
