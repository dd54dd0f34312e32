import { useApp } from '../app/state.js';

/**
 * Why the actions on a screen that need the board are disabled right now (the board went away or
 * stopped answering), in the app's one connection state; nothing while the board answers.
 */
export function BoardMissing() {
  const { boardMissing, link } = useApp();
  if (!boardMissing) return null;
  return (
    <p className="notice" role="status" data-testid="board-missing" data-state={link.state}>
      {boardMissing}
    </p>
  );
}
