import { CopilotKit, useFrontendTool } from '@copilotkit/react-core';
import { CopilotChat } from '@copilotkit/react-ui';
import { useState } from 'react';
import { currentThreadId, selectThread, startNewThread } from './threadId';
import { ThreadList } from './ThreadList';

// Where the runtime is: same origin by default (the Vite dev server proxies it; a build is
// served next to it). Build-time override: VITE_COPILOTKIT_RUNTIME_URL=https://api.example.com/api/copilotkit
const RUNTIME_URL: string = import.meta.env.VITE_COPILOTKIT_RUNTIME_URL || '/api/copilotkit';

interface Todo {
  id: number;
  text: string;
}

export function App() {
  const [threadId, setThreadId] = useState(currentThreadId);
  return (
    // key: a new thread is a fresh provider (fresh agent, fresh connect).
    <CopilotKit key={threadId} runtimeUrl={RUNTIME_URL} threadId={threadId} showDevConsole={false} enableInspector={false}>
      <Page
        threadId={threadId}
        onNewThread={() => setThreadId(startNewThread())}
        onSelectThread={(id) => setThreadId(selectThread(id))}
      />
    </CopilotKit>
  );
}

function Page({
  threadId,
  onNewThread,
  onSelectThread,
}: {
  threadId: string;
  onNewThread: () => void;
  onSelectThread: (threadId: string) => void;
}) {
  const [todos, setTodos] = useState<Todo[]>([]);
  const [background, setBackground] = useState<string>('#f7f7f8');

  // Frontend actions: the model calls them, the browser runs them, the result goes back to the model.
  useFrontendTool({
    name: 'addTodo',
    description: 'Add an item to the to-do list shown on the page.',
    parameters: [{ name: 'text', type: 'string', description: 'The to-do item', required: true }],
    handler: async ({ text }) => {
      setTodos((list) => [...list, { id: Date.now() + list.length, text }]);
      return `Added "${text}" to the list.`;
    },
    // How the call shows in the chat (also when the history is replayed after a reload).
    render: ({ status, args }) => (
      <div className="tool-card" data-testid="tool-card-addTodo">
        {status === 'complete' ? 'Added to-do' : 'Adding to-do'}: <strong>{args.text ?? '…'}</strong>
      </div>
    ),
  });
  useFrontendTool({
    name: 'setBackgroundColor',
    description: 'Set the background color of the page (any CSS color).',
    parameters: [{ name: 'color', type: 'string', description: 'A CSS color, e.g. "lightblue" or "#ffeedd"', required: true }],
    handler: async ({ color }) => {
      setBackground(color);
      return `Background set to ${color}.`;
    },
    render: ({ status, args }) => (
      <div className="tool-card" data-testid="tool-card-setBackgroundColor">
        {status === 'complete' ? 'Background set to' : 'Setting background to'} <strong>{args.color ?? '…'}</strong>
      </div>
    ),
  });

  return (
    <div className="page" style={{ background }} data-testid="page">
      <aside className="side">
        <h1>React chat</h1>
        <p className="thread">
          Thread <code data-testid="thread-id">{threadId}</code>
        </p>
        <button type="button" onClick={onNewThread} data-testid="new-thread">
          New conversation
        </button>
        <ThreadList activeThreadId={threadId} onSelect={onSelectThread} />
        <h2>To-do</h2>
        {todos.length === 0 ? (
          <p className="hint">Ask the assistant to add something.</p>
        ) : (
          <ul data-testid="todos">
            {todos.map((todo) => (
              <li key={todo.id}>{todo.text}</li>
            ))}
          </ul>
        )}
      </aside>
      <main className="chat">
        <CopilotChat
          instructions="You help the user manage a to-do list on the page and may change the page's background color."
          labels={{ title: 'Assistant', initial: 'Hi! Ask me to add a to-do or change the background color.' }}
        />
      </main>
    </div>
  );
}
