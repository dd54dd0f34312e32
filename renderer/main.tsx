import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { connectApi, type ConnectionState } from './api/client.js';
import { App } from './app/App.js';
import './theme.css';

let setHostState: ((s: { state: ConnectionState; reason?: string }) => void) | null = null;
let initial: { state: ConnectionState; reason?: string } = { state: 'connecting' };
const api = connectApi((state, reason) => {
  initial = { state, reason };
  setHostState?.(initial);
});

function Root() {
  const [hostState, set] = useState(initial);
  setHostState = set;
  return <App api={api} hostState={hostState} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
