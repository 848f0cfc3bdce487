import { Injectable } from '@nestjs/common';
import { TOOL_SOURCE_ORDER, type RuntimeTool, type ToolRequest, type ToolSource } from './tool-source.js';

/** The request's own tools (v1 enabled frontend actions, v2 `tools`): the client executes them. */
@Injectable()
export class FrontendToolSource implements ToolSource {
  readonly name = 'frontend';
  readonly order = TOOL_SOURCE_ORDER.frontend;

  tools(request: ToolRequest): RuntimeTool[] {
    return request.input.tools.map((tool) => ({
      kind: 'frontend',
      definition: {
        name: tool.name,
        description: tool.description,
        parameters: (tool.parameters ?? {}) as Record<string, unknown>,
      },
    }));
  }
}
