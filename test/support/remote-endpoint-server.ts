import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback server speaking the remote CopilotKit endpoint protocol (the Python SDK's
 * `add_fastapi_endpoint`), replaying the exchanges captured in contract/v1/wire/remote_* and
 * upstream.jsonl, with faults a test queues per path.
 *
 * - `/info`: `remoteLookup` and `remote_agent`, in the list shape (older SDKs) or the object
 *   shape (the current SDK: agents keyed by name, no type).
 * - `/actions/execute`: `remoteLookup` answers `{found, key, value: 42}`.
 * - `/agents/execute`: JSON lines picked by the last user message: `INTERRUPT` (state, text,
 *   `on_interrupt`, end state; no interrupt when the request answers one), `CK_INTERRUPT`
 *   (`on_copilotkit_interrupt` with messages), `AGENT_ERROR` (`on_copilotkit_error`, 401),
 *   `TOOL` (a streamed tool call), `UNICODE` (multi-byte text).
 * - `/agents/state`: thread `lg-thread-1` exists with `{counter: 3}` and two messages.
 */
export interface RecordedRemoteRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export type RemoteFault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Answers `/agents/execute` one byte per network write. */
  | { kind: 'byte-by-byte' }
  /** Puts a line that is not JSON after the first two lines of `/agents/execute`. */
  | { kind: 'malformed-line' }
  /** Starts the `/agents/execute` answer, then drops the connection. */
  | { kind: 'drop-mid-stream' }
  /** Sends the first two lines of `/agents/execute`, then nothing, without ending. */
  | { kind: 'stall' };

export interface RemoteEndpointServer {
  /** Base URL of the endpoint, e.g. http://127.0.0.1:41234/copilotkit */
  url: string;
  requests: RecordedRemoteRequest[];
  count(path: string): number;
  /** Faults applied, in order, to the next requests to `path` (`/info`, `/agents/execute`, ...). */
  fail(path: string, ...faults: RemoteFault[]): void;
  /** Drops the faults not used yet. */
  clearFaults(): void;
  infoShape: 'list' | 'object';
  /** Extra actions announced by `/info`. */
  extraActions: Array<{ name: string; description: string; parameters: Record<string, unknown> }>;
  close(): Promise<void>;
}

export const REMOTE_AGENT_DESCRIPTION = 'A LangGraph agent served by the python SDK';
export const REMOTE_ACTION = {
  name: 'remoteLookup',
  description: 'Look up a record on the python side',
  parameters: { type: 'object', properties: { key: { type: 'string', description: 'record key' } }, required: ['key'] },
};

export async function startRemoteEndpoint(
  options: { port?: number; basePath?: string; agentName?: string; withAction?: boolean } = {},
): Promise<RemoteEndpointServer> {
  const basePath = options.basePath ?? '/copilotkit';
  const agentName = options.agentName ?? 'remote_agent';
  const withAction = options.withAction ?? true;
  const faults = new Map<string, RemoteFault[]>();
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const state: RemoteEndpointServer = {
    url: '',
    requests: [],
    count: (path) => state.requests.filter((request) => request.path === path).length,
    fail: (path, ...queued) => faults.set(path, [...(faults.get(path) ?? []), ...queued]),
    clearFaults: () => faults.clear(),
    infoShape: 'list',
    extraActions: [],
    close: async () => {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '').startsWith(basePath) ? (req.url ?? '').slice(basePath.length) : (req.url ?? '');
    const body = raw ? JSON.parse(raw) : undefined;
    state.requests.push({ path, headers: req.headers, body });
    const fault = faults.get(path)?.shift();
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? '{"detail":"fault"}');
      return;
    }
    if (fault?.kind === 'hang') {
      hanging.add(res);
      return;
    }
    switch (path) {
      case '/info':
        return json(res, info(state, agentName, withAction));
      case '/actions/execute':
        if (body?.name !== REMOTE_ACTION.name) return json(res, { detail: `Action ${body?.name} not found` }, 404);
        return json(res, { result: { found: true, key: body.arguments?.key, value: 42 } });
      case '/agents/state':
        return json(
          res,
          body?.threadId === 'lg-thread-1'
            ? {
                threadId: body.threadId,
                threadExists: true,
                state: { counter: 3 },
                messages: [
                  { id: 'm1', role: 'user', content: 'hi' },
                  { id: 'm2', role: 'assistant', content: 'hello' },
                ],
              }
            : { threadId: body?.threadId, threadExists: false, state: {}, messages: [] },
        );
      case '/agents/execute':
        return streamLines(res, agentLines(body), fault, hanging);
      default:
        return json(res, { detail: 'Not Found' }, 404);
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}${basePath}`;
  return state;
}

function info(state: RemoteEndpointServer, agentName: string, withAction: boolean): Record<string, unknown> {
  const actions = [...(withAction ? [REMOTE_ACTION] : []), ...state.extraActions];
  if (state.infoShape === 'object') {
    return {
      version: '0.1.50',
      agents: { [agentName]: { name: agentName, description: REMOTE_AGENT_DESCRIPTION, className: 'LangGraphAgent' } },
      actions,
      sdkVersion: '0.1.50',
    };
  }
  return { actions, agents: [{ name: agentName, description: REMOTE_AGENT_DESCRIPTION, type: 'langgraph' }], sdkVersion: '0.1.33' };
}

/** The lines the captured Python agent sent, chosen by the last user message. */
export function agentLines(body: any): Array<Record<string, unknown>> {
  const threadId = body?.threadId ?? 'thread';
  const last = [...(body?.messages ?? [])].reverse().find((message: any) => message.role === 'user')?.content ?? '';
  const answered = (body?.metaEvents ?? []).some((event: any) => event.response !== undefined && event.response !== null);
  const sync = (node: string, active: boolean, agentState: unknown) => ({
    event: 'on_copilotkit_state_sync',
    thread_id: threadId,
    run_id: 'run-1',
    agent_name: body?.name,
    node_name: node,
    active,
    state: agentState,
    running: true,
    role: 'assistant',
  });
  const chunk = (content: string, extra: Record<string, unknown> = {}) => ({
    event: 'on_chat_model_stream',
    run_id: 'lc-run-1',
    metadata: { langgraph_node: 'chat_node' },
    data: { chunk: { lc: 1, type: 'constructor', id: ['langchain', 'schema', 'messages', 'AIMessageChunk'], kwargs: { content, id: 'run-lc-msg-1', ...extra } } },
  });
  const chain = { event: 'on_chain_start', name: 'chat_node', run_id: 'chain-1', data: {} };
  const text = last.includes('UNICODE') ? ['Hé ', 'from ', 'the agent ✓'] : ['Hi ', 'from ', 'the agent'];
  const lines: Array<Record<string, unknown>> = [
    chain,
    sync('chat_node', true, { counter: 1 }),
    ...text.map((part) => chunk(part)),
    { event: 'on_chat_model_end', run_id: 'lc-run-1', data: {} },
  ];
  if (last.includes('AGENT_ERROR')) {
    lines.push({
      event: 'on_copilotkit_error',
      data: { error: { message: 'The graph blew up', type: 'ValueError', agent_name: body?.name, status_code: 401 } },
    });
    return lines;
  }
  if (last.includes('TOOL')) {
    lines.push(
      { event: 'on_chat_model_stream', run_id: 'lc-run-2', metadata: {}, data: { chunk: { kwargs: { content: '', id: 'run-lc-msg-2', tool_call_chunks: [{ id: 'tc-1', name: 'showAlert', args: '{"message":', index: 0 }] } } } },
      { event: 'on_chat_model_stream', run_id: 'lc-run-2', metadata: {}, data: { chunk: { kwargs: { content: '', id: 'run-lc-msg-2', tool_call_chunks: [{ args: '"hi"}', index: 0 }] } } } },
      { event: 'on_chat_model_end', run_id: 'lc-run-2', data: {} },
    );
  }
  if (last.includes('CK_INTERRUPT') && !answered) {
    lines.push({
      event: 'on_copilotkit_interrupt',
      data: {
        value: 'Please confirm',
        messages: [
          { id: 'int-msg-1', role: 'assistant', content: 'Do you approve?', type: 'TextMessage' },
          { id: 'int-tc-1', name: 'approve', arguments: { level: 2 }, type: 'ActionExecutionMessage' },
        ],
      },
    });
  } else if (last.includes('INTERRUPT') && !answered) {
    lines.push({ event: 'on_interrupt', value: JSON.stringify({ question: 'Approve?' }) });
  }
  lines.push(sync('__end__', false, { counter: 2, messages: [] }));
  return lines;
}

async function streamLines(
  res: ServerResponse,
  lines: Array<Record<string, unknown>>,
  fault: RemoteFault | undefined,
  hanging: Set<ServerResponse>,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  const text = lines.map((line) => JSON.stringify(line));
  if (fault?.kind === 'malformed-line') text.splice(2, 0, '{"event": "on_chat_model_stream", "data": {oops');
  const payload = Buffer.from(text.join('\n') + '\n', 'utf8');
  if (fault?.kind === 'drop-mid-stream') {
    res.write(payload.subarray(0, Math.floor(payload.length / 2)));
    await tick();
    res.destroy();
    return;
  }
  if (fault?.kind === 'stall') {
    res.write(`${text[0]}\n${text[1]}\n`);
    hanging.add(res);
    return;
  }
  if (fault?.kind === 'byte-by-byte') {
    for (const byte of payload) {
      if (res.destroyed) return;
      res.write(Buffer.of(byte));
      // A separate network write per byte (Node would otherwise coalesce them).
      await tick();
    }
    res.end();
    return;
  }
  for (const line of text) {
    if (res.destroyed) return;
    res.write(`${line}\n`);
    await tick();
  }
  res.end();
}

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
