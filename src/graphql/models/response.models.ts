import type {
  CopilotKitLangGraphInterruptEvent,
  CopilotResponse,
  LangGraphInterruptEvent,
  ResponseStatus,
} from '../generated/resolvers-types.js';
import type { MessageModel } from './message.models.js';

export type InterruptEventDataModel = { value: string; messages: MessageModel[] };

export type MetaEventModel =
  | (LangGraphInterruptEvent & { __typename: 'LangGraphInterruptEvent' })
  | (Omit<CopilotKitLangGraphInterruptEvent, 'data' | '__typename'> & {
      __typename: 'CopilotKitLangGraphInterruptEvent';
      data: InterruptEventDataModel;
    });

/** The mutation's result: ids now, messages and meta events as they stream, status when the run ends. */
export type CopilotResponseModel = Omit<
  CopilotResponse,
  'messages' | 'metaEvents' | 'status' | '__typename'
> & {
  __typename: 'CopilotResponse';
  status: Promise<ResponseStatus>;
  messages: AsyncIterable<MessageModel> | MessageModel[];
  metaEvents: AsyncIterable<MetaEventModel> | MetaEventModel[];
};
