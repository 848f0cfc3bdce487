export type { GuardrailsOptions, SelfHostedGuardrailsOptions } from './guardrails-options.js';
export {
  GuardrailsUnavailable,
  deniedMessage,
  type GuardrailsRequest,
  type GuardrailsStrategy,
  type GuardrailsVerdict,
} from './guardrails-strategy.js';
export { CopilotCloudGuardrails } from './copilot-cloud-guardrails.js';
export { SelfHostedGuardrails } from './self-hosted-guardrails.js';
