/**
 * Why a credential was refused, as far as the caller may know. Every resolver reports one of these
 * three, whatever the cause (bad signature, unknown key id, wrong issuer, revoked key...): the
 * detail goes to the security log, never on the wire, so a caller learns nothing about which part
 * of a forged credential was wrong.
 */
export type AuthenticationFailureKind = 'missing' | 'rejected' | 'expired';

/** The wire message of each kind: the same on v1, v2 and graphql-ws. */
export const AUTHENTICATION_MESSAGES: Record<AuthenticationFailureKind, string> = {
  missing: 'Authentication required: send "Authorization: Bearer <token>".',
  rejected: 'The credentials were rejected.',
  expired: 'The credentials have expired.',
};

/** Thrown by the built-in resolvers; RequestContexts logs it and answers the uniform message. */
export class AuthenticationFailure extends Error {
  override readonly name = 'AuthenticationFailure';

  constructor(
    readonly kind: AuthenticationFailureKind,
    /** For the security log only: never sent to the caller. */
    readonly detail: string,
  ) {
    super(AUTHENTICATION_MESSAGES[kind]);
  }
}
