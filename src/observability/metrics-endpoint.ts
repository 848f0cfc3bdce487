import { Controller, Get, Headers, HttpException, HttpStatus, Inject, Optional, Res } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RuntimeMetrics } from './runtime-metrics.js';
import { METRICS_SETTINGS, type MetricsSettings } from './observability-settings.js';

/**
 * `GET /metrics` on the main port: only with a token (`metrics.token`, METRICS_TOKEN), sent as
 * `Authorization: Bearer <token>`; 404 otherwise (metrics off, or served on METRICS_PORT only).
 */
@Controller()
export class MetricsController {
  constructor(
    @Inject(METRICS_SETTINGS) private readonly settings: MetricsSettings,
    @Optional() @Inject(RuntimeMetrics) private readonly metrics?: RuntimeMetrics | null,
  ) {}

  @Get('metrics')
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: ServerResponse): Promise<void> {
    const token = this.settings.token;
    if (!this.metrics || !token) throw new HttpException('Not found', HttpStatus.NOT_FOUND);
    if (!sameToken(authorization, token)) {
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Bearer realm="metrics"');
      res.setHeader('content-type', 'text/plain');
      res.end('A metrics token is required: Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    await sendMetrics(this.metrics, res);
  }
}

export async function sendMetrics(metrics: RuntimeMetrics, res: ServerResponse): Promise<void> {
  const text = await metrics.registry.metrics();
  res.statusCode = 200;
  res.setHeader('content-type', metrics.registry.contentType);
  res.end(text);
}

function sameToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `GET /metrics` on a port of its own (METRICS_PORT), without a token: keep that port internal. */
export class MetricsServer {
  private server: Server | null = null;

  constructor(private readonly metrics: RuntimeMetrics) {}

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        sendMetrics(this.metrics, res).catch(() => {
          res.statusCode = 500;
          res.end();
        });
        return;
      }
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain');
      res.end('Not found: the metrics are at GET /metrics\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
