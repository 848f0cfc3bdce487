/**
 * A process of paced v2 clients (forked by the scale bench with an IPC channel, `advanced`
 * serialization): it is told which streams to run, runs each through `@ag-ui/client`'s real
 * `HttpAgent` on `agent/default/run`, and answers with every token's timing, the failures by
 * code, and its own CPU time and event-loop delay (to show whether the clients kept up).
 */
import { HttpAgent } from '@ag-ui/client';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface WorkerJob {
  type: 'job';
  baseUrl: string;
  /** One per stream: its key and when (ms after the job arrives) it starts. */
  streams: Array<{ key: string; startAtMs: number }>;
  prompt: string;
  expected: string;
  /** Characters per token (aimock sends one token per SSE event). */
  tokenWidth: number;
  intervalMs: number;
  timeoutMs: number;
}

export interface WorkerResult {
  type: 'result';
  /** Time to the first text delta, per stream that delivered one (ms). */
  ttftMs: Float64Array;
  /** Per token after the first: observed gap to the previous token minus the paced interval (ms). */
  gapLatenessMs: Float64Array;
  /** Per token: arrival minus its schedule (first token's arrival + index × interval) (ms). */
  scheduleLatenessMs: Float64Array;
  completed: number;
  tokens: number;
  failures: Record<string, number>;
  failureSamples: string[];
  cpuMs: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

class Samples {
  private buffer = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.buffer.length) {
      const grown = new Float64Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.length++] = value;
  }
  values(): Float64Array {
    return this.buffer.slice(0, this.length);
  }
}

/** A failure's code: the RUN_ERROR's code, the HTTP answer's `code`, or what the client saw. */
function codeOf(error: unknown): string {
  const failure = error as { status?: number; payload?: { code?: string; error?: string }; name?: string; code?: string } | null;
  if (failure?.status) return failure.payload?.code ?? `HTTP_${failure.status}`;
  if (failure?.name === 'AbortError') return 'CLIENT_TIMEOUT';
  return failure?.code ?? failure?.name ?? 'UNKNOWN';
}

async function runJob(job: WorkerJob): Promise<WorkerResult> {
  const ttft = new Samples();
  const gapLateness = new Samples();
  const scheduleLateness = new Samples();
  const failures: Record<string, number> = {};
  const failureSamples: string[] = [];
  let completed = 0;
  let tokens = 0;
  const fail = (code: string, detail: string) => {
    // The first failure of each code is kept as a sample.
    if (!failures[code] && failureSamples.length < 10) failureSamples.push(`${code}: ${detail.slice(0, 300)}`);
    failures[code] = (failures[code] ?? 0) + 1;
  };
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpuBefore = process.cpuUsage();
  const jobStart = performance.now();

  const runOne = async (key: string, startAtMs: number) => {
    const wait = jobStart + startAtMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const agent = new HttpAgent({
      url: `${job.baseUrl}/agent/default/run`,
      threadId: `thread-${key}`,
      initialMessages: [{ id: `user-${key}`, role: 'user', content: job.prompt.replace('{key}', key) }],
    });
    const timer = setTimeout(() => agent.abortRun(), job.timeoutMs);
    const started = performance.now();
    let first = -1;
    let previous = -1;
    let index = 0;
    let received = '';
    let runError: { code: string; message: string } | null = null;
    try {
      await agent.runAgent(
        { runId: `run-${key}` },
        {
          onTextMessageContentEvent({ event }) {
            const now = performance.now();
            received += event.delta;
            const count = Math.max(1, Math.round(event.delta.length / job.tokenWidth));
            for (let token = 0; token < count; token++, index++) {
              if (first < 0) {
                first = now;
                ttft.push(now - started);
              } else {
                gapLateness.push(now - previous - job.intervalMs);
                scheduleLateness.push(now - (first + index * job.intervalMs));
              }
              previous = now;
            }
          },
          onRunErrorEvent({ event }) {
            runError = { code: (event as { code?: string }).code ?? 'RUN_ERROR', message: event.message };
          },
        },
      );
      tokens += index;
      const failed = runError as { code: string; message: string } | null;
      if (failed) fail(failed.code, failed.message);
      else if (received !== job.expected) fail('INCOMPLETE_ANSWER', `${received.length} of ${job.expected.length} characters`);
      else completed++;
    } catch (error) {
      tokens += index;
      fail(codeOf(error), error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  };

  await Promise.all(job.streams.map((stream) => runOne(stream.key, stream.startAtMs)));
  delay.disable();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    type: 'result',
    ttftMs: ttft.values(),
    gapLatenessMs: gapLateness.values(),
    scheduleLatenessMs: scheduleLateness.values(),
    completed,
    tokens,
    failures,
    failureSamples,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
    eventLoopDelayMaxMs: delay.max / 1e6,
  };
}

// HttpAgent logs every failed run on console.error; each failure is counted by code instead.
console.error = () => undefined;

process.on('message', (message: unknown) => {
  const job = message as WorkerJob;
  if (job?.type !== 'job') return;
  void runJob(job).then((result) => process.send?.(result));
});
process.send?.({ type: 'ready' });
