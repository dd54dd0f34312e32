/**
 * The pack's settings across a firmware update or flash: where the backup taken before anything
 * was erased went, whether the new firmware changed any setting, and a restore of the backup when
 * it did (after the user asks). The Update screen (release bundles) and the Firmware screen
 * (single images) both show it; test ids are `${event}-settings…`.
 */
import { useState } from 'react';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';

interface Difference {
  id: string;
  left: number | null;
  right: number | null;
}

export function SettingsAcrossFlash({
  backup,
  changed,
  event,
}: {
  backup: { path: string; digest: string };
  /** null: the board could not be compared after the flash. */
  changed: Difference[] | null;
  event: 'update' | 'flash';
}) {
  const { api } = useApp();
  const [restored, setRestored] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const restore = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.call('settings.restore', { path: backup.path });
      setRestored(
        r.mismatches.length || r.remaining?.length
          ? 'Restored, but the read-back still differs: see the Settings screen.'
          : `The settings from before the ${event} are back.`,
      );
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };
  const restoreButton = restored ? (
    <p className="ok-text">{restored}</p>
  ) : (
    <button data-testid={`${event}-settings-restore`} disabled={busy} onClick={() => void restore()}>
      Restore the settings from before the {event}
    </button>
  );
  return (
    <div data-testid={`${event}-settings`}>
      <p>
        The pack's settings were backed up before the {event} to <code>{backup.path}</code>.
      </p>
      {changed === null ? (
        <>
          <p className="bad-text" data-testid={`${event}-settings-unknown`}>
            The board's settings could not be read after the {event}, so they were not compared with the backup.
          </p>
          {restoreButton}
        </>
      ) : changed.length === 0 ? (
        <p className="ok-text" data-testid={`${event}-settings-unchanged`}>
          The {event} left every setting as it was.
        </p>
      ) : (
        <>
          <p className="bad-text" data-testid={`${event}-settings-changed`}>
            The new firmware changed {changed.length} setting{changed.length === 1 ? '' : 's'}:{' '}
            {changed.map((d) => `${d.id} ${d.right} → ${d.left}`).join(', ')}.
          </p>
          {restoreButton}
        </>
      )}
      {error && <ErrorBox error={error} />}
    </div>
  );
}
