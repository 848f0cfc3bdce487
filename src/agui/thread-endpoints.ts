import type { BaseEvent, Message } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import { AgentRegistry, type RegisteredAgent } from '../agents/agent-registry.js';
import { CopilotRuntimeError } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import { AgentStateStore, EventLogStore } from '../ports/run-stores.js';
import type { ThreadSummary } from '../ports/thread-catalog.js';
import { ThreadsService } from '../threads/threads.service.js';
import type { ThreadCall } from './agui-routes.js';
import { toClientEvent } from './event-projection.js';
import { agentNotFound, type JsonAnswer } from './http-answers.js';

/** Events read from the log per query when a thread's events are inspected. */
const EVENT_PAGE = 500;

/** A thread as `@copilotkit/core`'s thread store reads it (its `ThreadRecord`). */
export interface ThreadRecordWire {
  id: string;
  organizationId: string;
  agentId: string;
  createdById: string;
  name: string | null;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}

/** The page size when the client names none (it sends `limit` only when the app sets one). */
export const DEFAULT_THREAD_PAGE = 50;
/** The largest page (the thread service's bound). */
export const MAX_THREAD_PAGE = 100;

/**
 * What `info.threadEndpoints` (and `info.singleRoute.threadEndpoints`) advertise: exactly what
 * the routes below serve. `realtimeMetadata` is false: the client's live list needs upstream's
 * hosted socket, which a self-hosted runtime does not have (the README says how a page keeps its
 * list current without it).
 */
export const THREAD_ENDPOINTS = Object.freeze({ list: true, inspect: true, mutations: true, realtimeMetadata: false });

/**
 * The thread resource routes of `@copilotkit/core`'s thread store (`useThreads`, the threads
 * drawer), served from our own catalog for the caller's identity:
 * - `GET /threads?agentId=&limit=&cursor=&includeArchived=` → `{threads, nextCursor}`, newest
 *   activity first, threads with a run of that agent only, archived ones only when asked;
 * - `PATCH /threads/:id` `{agentId, name?, archived?}` → the thread; `POST /threads/:id/archive`
 *   `{agentId}` → `{threadId, archived: true}`; `DELETE /threads/:id` `{agentId}` →
 *   `{threadId, deleted: true}` (refused with 409 while a run is active, as GraphQL's deleteThread);
 * - `GET /threads/:id/messages` → `{messages}` in upstream's shape, for reloading a thread;
 *   `GET /threads/:id/events` → `{events}`, its AG-UI events as logged so far (no live tail: that
 *   is `connect`); `GET /threads/:id/state?agentId=` → `{state}`, the agent's latest state on it
 *   (default: the agent of its latest run, else `default`), null when it has none.
 * Another identity's thread answers exactly like a missing one (404): its id leaks nothing.
 * Failures of the thread service (not found, busy, bad input, database down) are thrown and
 * become JSON answers at the one error boundary (http-answers' errorAnswer).
 */
@Injectable()
export class ThreadEndpoints {
  constructor(
    private readonly threads: ThreadsService,
    private readonly agents: AgentRegistry,
    private readonly log: EventLogStore,
    private readonly agentStates: AgentStateStore,
  ) {}

  async serve(ctx: RequestContext, call: ThreadCall, body: unknown): Promise<JsonAnswer> {
    switch (call.method) {
      case 'threads/list':
        return this.list(ctx, call.query);
      case 'threads/messages':
        return this.messages(ctx, call.threadId);
      case 'threads/events':
        return this.events(ctx, call.threadId);
      case 'threads/state':
        return this.state(ctx, call.threadId, call.query);
      case 'threads/update':
        return this.update(ctx, call.threadId, body);
      case 'threads/archive':
        return this.archive(ctx, call.threadId, body);
      case 'threads/delete':
        return this.delete(ctx, call.threadId, body);
    }
  }

  private async list(ctx: RequestContext, query: URLSearchParams): Promise<JsonAnswer> {
    const agentId = query.get('agentId');
    if (!isIdentifier(agentId)) return badRequest('Valid agentId query param is required');
    const agent = this.agents.get(agentId);
    if (!agent) return agentNotFound(agentId);
    const limit = query.get('limit');
    const first = limit === null || limit === '' ? DEFAULT_THREAD_PAGE : Number(limit);
    if (!Number.isInteger(first) || first < 1 || first > MAX_THREAD_PAGE) {
      return badRequest(`limit must be a whole number from 1 to ${MAX_THREAD_PAGE}; got "${limit}".`);
    }
    const includeArchived = query.get('includeArchived');
    if (includeArchived !== null && includeArchived !== 'true' && includeArchived !== 'false') {
      return badRequest(`includeArchived must be "true" or "false"; got "${includeArchived}".`);
    }
    const cursor = query.get('cursor') || undefined;
    let page;
    try {
      page = await this.threads.list(ctx, first, cursor, agentRunsName(agent), { includeArchived: includeArchived === 'true' });
    } catch (error) {
      // With the limit checked above, the one bad input left is the cursor.
      if (error instanceof CopilotRuntimeError && error.code === 'BAD_USER_INPUT') {
        return badRequest(`cursor "${cursor}" is not one this runtime issued: pass a previous page's nextCursor.`);
      }
      throw error;
    }
    return { status: 200, body: { threads: page.threads.map((thread) => toRecord(thread, agent.id)), nextCursor: page.nextCursor } };
  }

  private async messages(ctx: RequestContext, threadId: string): Promise<JsonAnswer> {
    const thread = await this.threads.get(ctx, threadId);
    const messages = await this.threads.messages(thread);
    return { status: 200, body: { messages: messages.map(toWireMessage) } };
  }

  private async events(ctx: RequestContext, threadId: string): Promise<JsonAnswer> {
    await this.threads.get(ctx, threadId);
    const last = await this.threads.read(() => this.log.lastSequence(threadId));
    const events: BaseEvent[] = [];
    for (let after = 0; after < last; ) {
      const page = await this.threads.read(() => this.log.readAfter(threadId, after, EVENT_PAGE));
      if (page.length === 0) break;
      for (const logged of page) {
        if (logged.sequence > last) break;
        const event = toClientEvent(logged);
        if (event) events.push(event);
      }
      after = page.at(-1)!.sequence;
    }
    return { status: 200, body: { events } };
  }

  private async state(ctx: RequestContext, threadId: string, query: URLSearchParams): Promise<JsonAnswer> {
    const thread = await this.threads.get(ctx, threadId);
    const agentId = query.get('agentId') || thread.agentName || 'default';
    const latest = await this.threads.read(() => this.agentStates.latest(threadId, agentId));
    return { status: 200, body: { state: latest?.state ?? null } };
  }

  private async update(ctx: RequestContext, threadId: string, body: unknown): Promise<JsonAnswer> {
    const mutation = this.mutation(body);
    if ('status' in mutation) return mutation;
    const { name, archived } = mutation.body as { name?: unknown; archived?: unknown };
    if (name === undefined && archived === undefined) return badRequest('Nothing to update: give name and/or archived.');
    if (name !== undefined && typeof name !== 'string') return badRequest('name must be a string.');
    if (archived !== undefined && typeof archived !== 'boolean') return badRequest('archived must be a boolean.');
    // Checked (and 404 for a thread the caller cannot see) before anything changes.
    let thread = await this.threads.get(ctx, threadId);
    if (name !== undefined) thread = await this.threads.rename(ctx, threadId, name);
    if (archived !== undefined) thread = await this.threads.setArchived(ctx, threadId, archived);
    return { status: 200, body: { ...toRecord(thread, mutation.agent.id) } };
  }

  private async archive(ctx: RequestContext, threadId: string, body: unknown): Promise<JsonAnswer> {
    const mutation = this.mutation(body);
    if ('status' in mutation) return mutation;
    await this.threads.setArchived(ctx, threadId, true);
    return { status: 200, body: { threadId, archived: true } };
  }

  private async delete(ctx: RequestContext, threadId: string, body: unknown): Promise<JsonAnswer> {
    const mutation = this.mutation(body);
    if ('status' in mutation) return mutation;
    await this.threads.delete(ctx, threadId);
    return { status: 200, body: { threadId, deleted: true } };
  }

  /** A mutation's body names its agent, as upstream requires (the client always sends it). */
  private mutation(body: unknown): { body: Record<string, unknown>; agent: RegisteredAgent } | JsonAnswer {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return badRequest('Invalid request body');
    const agentId = (body as Record<string, unknown>).agentId;
    if (!isIdentifier(agentId)) return badRequest('Valid agentId is required');
    const agent = this.agents.get(agentId);
    if (!agent) return agentNotFound(agentId);
    return { body: body as Record<string, unknown>, agent };
  }
}

/**
 * Which runs make a thread the agent's: the built-in agent's chats are recorded as model turns
 * (no agent name), every other agent's under its id.
 */
function agentRunsName(agent: RegisteredAgent): string | null {
  return agent.builtIn ? null : agent.id;
}

function toRecord(thread: ThreadSummary, agentId: string): ThreadRecordWire {
  return {
    id: thread.id,
    organizationId: '',
    agentId,
    createdById: thread.ownerId,
    name: thread.title,
    archived: thread.archived,
    createdAt: thread.createdAt.toISOString(),
    updatedAt: thread.updatedAt.toISOString(),
  };
}

/** Upstream's `/threads/:id/messages` shape: tool calls flattened to `{id, name, args}`. */
function toWireMessage(message: Message): Record<string, unknown> {
  switch (message.role) {
    case 'assistant': {
      const toolCalls = message.toolCalls ?? [];
      return {
        id: message.id,
        role: message.role,
        ...(message.content !== undefined ? { content: message.content } : {}),
        ...(toolCalls.length > 0
          ? { toolCalls: toolCalls.map((call) => ({ id: call.id, name: call.function.name, args: call.function.arguments })) }
          : {}),
      };
    }
    case 'tool':
      return { id: message.id, role: message.role, content: message.content, toolCallId: message.toolCallId };
    default:
      return {
        id: message.id,
        role: message.role,
        ...('content' in message && message.content !== undefined ? { content: message.content } : {}),
      };
  }
}

function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '' && value.length <= 256;
}

function badRequest(error: string): JsonAnswer {
  return { status: 400, body: { error } };
}
