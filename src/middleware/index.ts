export {
  CopilotMiddleware,
  RequestRejectedError,
  type CopilotRequestMiddleware,
  type MiddlewareOutcome,
  type MiddlewareRequest,
} from './copilot-middleware.js';
export type { UpstreamAfterRequestMiddleware, UpstreamBeforeRequestMiddleware, UpstreamV1Middleware } from './upstream-middleware.js';
export type { UpstreamMessage } from './upstream-messages.js';
export { DEFAULT_MIDDLEWARE_TIMEOUT_MS } from './middleware-stage.js';
