import { CopilotRuntimeError } from '../common/errors.js';
import { GuardrailsUnavailable, parseVerdict, type GuardrailsRequest, type GuardrailsStrategy, type GuardrailsVerdict } from './guardrails-strategy.js';

export const CLOUD_KEY_HEADER = 'x-copilotcloud-public-api-key';

/**
 * Copilot Cloud's guardrails protocol (upstream 1.10.6): a request carrying
 * `cloud.guardrails.inputValidationRules {allowList, denyList}` and the
 * `X-CopilotCloud-Public-API-Key` header is checked with
 * `POST {baseUrl}/guardrails/validate {input, validTopics, invalidTopics, messages}` →
 * `{status: "allowed"|"denied", reason}`. A request with `cloud` set but no key is refused with
 * upstream's message. The topic lists are the client's: for lists the client cannot change, use
 * the self-hosted strategy.
 */
export class CopilotCloudGuardrails implements GuardrailsStrategy {
  readonly name = 'cloud';

  constructor(private readonly baseUrl: string) {}

  admit(request: Pick<GuardrailsRequest, 'cloud' | 'headers'>): void {
    if (request.cloud && !request.headers[CLOUD_KEY_HEADER]) {
      throw new CopilotRuntimeError('MISSING_PUBLIC_API_KEY_ERROR', 'X-CopilotCloud-Public-API-Key header is required');
    }
  }

  async check(request: GuardrailsRequest): Promise<GuardrailsVerdict | null> {
    const rules = request.cloud?.guardrails?.inputValidationRules;
    if (!rules) return null;
    const url = `${this.baseUrl.replace(/\/+$/, '')}/guardrails/validate`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CLOUD_KEY_HEADER]: request.headers[CLOUD_KEY_HEADER] ?? '' },
        body: JSON.stringify({
          input: request.input,
          validTopics: rules.allowList ?? [],
          invalidTopics: rules.denyList ?? [],
          messages: request.messages,
        }),
        signal: request.signal,
      });
    } catch (error) {
      throw new GuardrailsUnavailable(`The guardrails service at ${url} could not be reached (${describe(error)}).`, { cause: error });
    }
    const text = await response.text().catch((error: unknown) => {
      throw new GuardrailsUnavailable(`The guardrails service at ${url} broke off its answer (${describe(error)}).`, { cause: error });
    });
    if (!response.ok) {
      throw new GuardrailsUnavailable(`The guardrails service at ${url} answered HTTP ${response.status}.`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new GuardrailsUnavailable(`The guardrails service at ${url} answered something that is not JSON.`);
    }
    const verdict = parseVerdict(body);
    if (!verdict) {
      throw new GuardrailsUnavailable(`The guardrails service at ${url} answered without a status of "allowed" or "denied".`);
    }
    return verdict;
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
