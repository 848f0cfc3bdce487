import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * Why an MCP tool call gave no result, as the model reads it (in the same shape as a failing
 * server action's result: `{"error":{"code","message"},"result":""}`):
 * - `MCP_TOOL_ERROR`: the server ran the tool and reported an error (`isError`, or invalid arguments);
 * - `MCP_TIMEOUT`: no answer within the call's time limit (the call is cancelled on the server);
 * - `MCP_SERVER_UNAVAILABLE`: the server is down or went away during the call;
 * - `MCP_CALL_FAILED`: the server refused the request (a protocol error), or the arguments were not JSON.
 */
export type McpFailureCode = 'MCP_TOOL_ERROR' | 'MCP_TIMEOUT' | 'MCP_SERVER_UNAVAILABLE' | 'MCP_CALL_FAILED';

export function failureResult(code: McpFailureCode, message: string): string {
  return JSON.stringify({ error: { code, message }, result: '' });
}

/** Non-text blocks are described rather than inlined: a model cannot read base64 as an image. */
function blockText(block: CallToolResult['content'][number]): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'image':
    case 'audio':
      return `[${block.type} ${block.mimeType}, ${block.data.length} base64 characters not shown]`;
    case 'resource': {
      const resource = block.resource as { uri: string; text?: string; mimeType?: string };
      return typeof resource.text === 'string' ? resource.text : `[resource ${resource.uri}${resource.mimeType ? ` (${resource.mimeType})` : ''}]`;
    }
    case 'resource_link':
      return `[resource link ${block.name}: ${block.uri}]`;
    default:
      return JSON.stringify(block);
  }
}

/**
 * A call's result as the text the model reads: the content blocks' text, one per line. Structured
 * content is given as JSON: alone when the text blocks are only JSON (the serialisation servers add
 * for older clients, per the specification), after them when they also say something else.
 * An `isError` result becomes an MCP_TOOL_ERROR the model can act on.
 */
export function resultText(result: CallToolResult): string {
  const blocks = result.content ?? [];
  const structured = result.structuredContent;
  let texts = blocks.map(blockText);
  if (structured !== undefined) {
    const onlyJson = blocks.every((block) => block.type === 'text' && isJson(block.text));
    texts = onlyJson ? [JSON.stringify(structured)] : [...texts, JSON.stringify(structured)];
  }
  const text = texts.join('\n');
  if (result.isError) return failureResult('MCP_TOOL_ERROR', text || 'The tool reported an error without a message.');
  return text;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
