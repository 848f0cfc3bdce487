// Bench only: upstream @copilotkit/runtime 1.75.0 serving the v2 AG-UI routes with its built-in
// agent (AI SDK OpenAI provider), on a plain node:http server, pointed at the bench's aimock.
// Env: PORT, OPENAI_BASE_URL (aimock's .../v1), LLM_MODEL. Prints "ready" when listening.
import { createServer } from 'node:http';
import { createOpenAI } from '@ai-sdk/openai';
import { BuiltInAgent, CopilotRuntime } from '@copilotkit/runtime/v2';
import { createCopilotNodeListener } from '@copilotkit/runtime/v2/node';

const openai = createOpenAI({ apiKey: 'bench', baseURL: process.env.OPENAI_BASE_URL });
const model = openai.chat(process.env.LLM_MODEL ?? 'gpt-4o-mini');
const runtime = new CopilotRuntime({ agents: { default: new BuiltInAgent({ model }) } });
const listener = createCopilotNodeListener({ runtime, basePath: '/api/copilotkit', cors: true });

const server = createServer(listener);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
