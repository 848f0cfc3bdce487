import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type ASTVisitor,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { CopilotRuntimeError } from '../../common/errors.js';
import type { GraphQLLimitOptions } from '../../edges/edge-options.js';

/** Root fields that start a run: one document may start at most one (see oneRunPerOperation). */
const RUN_STARTING_FIELDS = new Set(['generateCopilotResponse', 'copilotEvents']);

/**
 * A GraphQL error carrying GRAPHQL_LIMIT_EXCEEDED through Apollo's validation wrapper (which
 * rewrites `extensions.code`): the error boundary finds the CopilotRuntimeError as the original.
 */
export function limitExceeded(message: string): GraphQLError {
  const error = new CopilotRuntimeError('GRAPHQL_LIMIT_EXCEEDED', message);
  return new GraphQLError(message, { originalError: error, extensions: { code: 'GRAPHQL_LIMIT_EXCEEDED' } });
}

/**
 * The limits every GraphQL document meets, over HTTP and graphql-ws alike (graphql-armor's
 * rules): tokens before parsing (a 1 MB `{ hello hello ... }` is refused after the first few
 * thousand tokens, not parsed, validated and executed), then depth, aliases, directives and cost
 * as validation rules, and at most one run per operation. Each refusal names its limit and the
 * variable that sets it.
 */
export class GraphQLLimits {
  readonly validationRules: ValidationRule[];
  /** Documents found within GRAPHQL_MAX_TOKENS, oldest first (a bounded set: see checkTokens). */
  private readonly withinTokenLimit = new Set<string>();

  constructor(readonly limits: Required<GraphQLLimitOptions>) {
    const report = (setting: string) => ({
      propagateOnRejection: false,
      exposeLimits: true,
      onReject: [
        (context: ValidationContext | null, error: GraphQLError) =>
          context?.reportError(limitExceeded(`${error.message.replace(/^Syntax Error: /, '')} (${setting})`)),
      ],
    });
    this.validationRules = [
      maxDepthRule({ n: limits.maxDepth, ...report('GRAPHQL_MAX_DEPTH') } as never),
      maxAliasesRule({ n: limits.maxAliases, ...report('GRAPHQL_MAX_ALIASES') } as never),
      maxDirectivesRule({ n: limits.maxDirectives, ...report('GRAPHQL_MAX_DIRECTIVES') } as never),
      costLimitRule({ maxCost: limits.maxCost, ...report('GRAPHQL_MAX_COST') } as never),
      oneRunPerOperation,
    ];
  }

  /** The rules graphql-ws validates with (Apollo adds introspection's own rule from its option). */
  get socketValidationRules(): ValidationRule[] {
    return this.limits.introspection ? this.validationRules : [...this.validationRules, NoSchemaIntrospectionCustomRule];
  }

  /**
   * Counts the document's tokens, stopping at the limit: the error, or null when within it.
   * A client sends the same few documents with every request (CopilotKit's
   * `generateCopilotResponse`, and counting its tokens is a full parse): the last documents
   * found within the limit are remembered, by their text, and not counted again.
   */
  checkTokens(source: string): GraphQLError | null {
    if (this.withinTokenLimit.has(source)) return null;
    const parser = new MaxTokensParserWLexer(source, { n: this.limits.maxTokens, propagateOnRejection: true } as never);
    try {
      parser.parseDocument();
      this.rememberWithinTokenLimit(source);
      return null;
    } catch (error) {
      if (/Token limit/.test((error as Error).message)) {
        return limitExceeded(`The document has more than ${this.limits.maxTokens} tokens (GRAPHQL_MAX_TOKENS).`);
      }
      return null; // a syntax error: the parser that follows reports it as GRAPHQL_PARSE_FAILED
    }
  }

  private rememberWithinTokenLimit(source: string): void {
    // A few tokens can be megabytes (a string literal): only documents of a client set's size.
    if (source.length > REMEMBERED_DOCUMENT_LENGTH) return;
    if (this.withinTokenLimit.size >= REMEMBERED_DOCUMENTS) {
      this.withinTokenLimit.delete(this.withinTokenLimit.values().next().value!);
    }
    this.withinTokenLimit.add(source);
  }
}

/**
 * How many documents checkTokens remembers, and how long each may be: far more than one client
 * set sends (CopilotKit's largest is a few KB), at most 16 MB in all, whatever a caller sends.
 */
const REMEMBERED_DOCUMENTS = 256;
const REMEMBERED_DOCUMENT_LENGTH = 64 * 1024;

/**
 * 50 aliased `generateCopilotResponse` mutations in one request would be 50 runs and 50 model
 * calls for one HTTP request: a document may start at most one run (through fragments too).
 */
export function oneRunPerOperation(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      let runs = 0;
      const seen = new Set<string>();
      const count = (selectionSet: SelectionSetNode) => {
        for (const selection of selectionSet.selections) {
          if (selection.kind === Kind.FIELD && RUN_STARTING_FIELDS.has(selection.name.value)) runs++;
          else if (selection.kind === Kind.INLINE_FRAGMENT) count(selection.selectionSet);
          else if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
            seen.add(selection.name.value);
            const fragment = context.getFragment(selection.name.value);
            if (fragment) count(fragment.selectionSet);
          }
        }
      };
      count(operation.selectionSet);
      if (runs > 1) {
        context.reportError(
          limitExceeded(`An operation may start at most one run; this one asks for ${runs} (generateCopilotResponse / copilotEvents).`),
        );
      }
    },
  };
}
