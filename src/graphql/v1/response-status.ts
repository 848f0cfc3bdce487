import { ERROR_CODES, isErrorCode } from '../../common/errors.js';
import type { FailedResponseStatusReason, MessageStatus, ResponseStatus } from '../generated/resolvers-types.js';

export const SUCCESS_RESPONSE: ResponseStatus = { __typename: 'SuccessResponseStatus', code: 'Success' };
export const SUCCESS_MESSAGE: MessageStatus = { __typename: 'SuccessMessageStatus', code: 'Success' };

export function failedMessage(reason: string): MessageStatus {
  return { __typename: 'FailedMessageStatus', code: 'Failed', reason };
}

/**
 * The failed status the v1 client reads: `details.description` is shown to the user and
 * `details.originalError` classifies it. Unlike upstream, no stack trace and no server paths.
 */
export function failedResponse(
  reason: FailedResponseStatusReason,
  description: string,
  error?: { code: string; errorId?: string },
): ResponseStatus {
  const details: Record<string, unknown> = { description };
  if (error) {
    const config = isErrorCode(error.code) ? ERROR_CODES[error.code] : ERROR_CODES.UNKNOWN;
    details.originalError = {
      code: error.code,
      statusCode: config.statusCode,
      severity: config.severity,
      visibility: config.visibility,
      ...(error.errorId ? { errorId: error.errorId } : {}),
    };
  }
  return { __typename: 'FailedResponseStatus', code: 'Failed', reason, details };
}

/**
 * A denied run's status. Guardrails have their own v1 reason, with upstream's exact details
 * (`{guardrailsReason}` and nothing else); any other denial is a failure with its description.
 */
export function deniedResponse(denial: { code: string; reason: string; message: string }): ResponseStatus {
  if (denial.code === 'GUARDRAILS_VALIDATION_FAILED') {
    return {
      __typename: 'FailedResponseStatus',
      code: 'Failed',
      reason: 'GUARDRAILS_VALIDATION_FAILED',
      details: { guardrailsReason: denial.reason },
    };
  }
  return failedResponse('UNKNOWN_ERROR', denial.message, { code: denial.code });
}
