// Bench only: upstream @copilotkit/runtime 1.10.6 serving the v1 GraphQL endpoint with its
// OpenAI adapter, on a plain node:http server, pointed at the bench's aimock.
// Env: PORT, OPENAI_BASE_URL (aimock's .../v1), LLM_MODEL. Prints "ready" when listening.
import { createServer } from 'node:http';
import { CopilotRuntime, OpenAIAdapter, copilotRuntimeNodeHttpEndpoint } from '@copilotkit/runtime';
import OpenAI from 'openai';

const openai = new OpenAI({ apiKey: 'bench', baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 });
const serviceAdapter = new OpenAIAdapter({ openai, model: process.env.LLM_MODEL ?? 'gpt-4o-mini' });
const runtime = new CopilotRuntime();
const handler = copilotRuntimeNodeHttpEndpoint({ endpoint: '/api/copilotkit', runtime, serviceAdapter });

const server = createServer((req, res) => handler(req, res));
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
