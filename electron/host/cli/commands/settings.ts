import { PackscopeError } from '../../../../shared/errors.js';
import { diffSettings, type SettingDifference } from '../../../../shared/settings/backup.js';
import { formatSetting, GROUP_TITLES, SETTING_GROUPS, settingDef } from '../../../../shared/settings/catalog.js';
import { BUILTIN_PROFILES, profileValues } from '../../../../shared/settings/profiles.js';
import { parseAssignment } from '../../../../shared/settings/validate.js';
import { loadBackup, loadProfile } from '../../settings/files.js';
import type { JbdExit, SettingsRead, WriteOutcome } from '../../settings/access.js';
import { applySettings, restoreBackup, settingsAccess, takeBackup, toolIdentity, type ApplyReport } from '../../settings/service.js';
import { writeFileAtomic } from '../../util/files.js';
import { parseCommandArgs, requireOption, type CliContext, type CommandModule } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, openDeviceSession } from '../device-options.js';
import { EXIT } from '../exit-codes.js';

/**
 * `packscope settings get|set|backup|restore|diff`: read a board's settings, change them (checked
 * before anything is sent, read back after), back them up to a JSON file, restore a backup (only
 * what differs, then a full read-back), and compare a board or a backup with a profile or another
 * backup.
 */
const usage = `Usage:
  packscope settings get --port PATH [ID...] [--json]
  packscope settings set --port PATH ID=VALUE... [--operator NAME] [--jbd-exit keep-counters|save-and-reset-counters] [--json]
  packscope settings backup --port PATH --out FILE [--json]
  packscope settings restore --port PATH BACKUP.json [--any-board] [--jbd-exit …] [--json]
  packscope settings diff (--port PATH | BACKUP.json) (--against BACKUP.json | --profile lfp|nmc|PROFILE.json) [--cells N] [--json]
  packscope settings profiles [--json]

${DEVICE_USAGE}
  --operator NAME     who makes the change (kept with the tool's identity in a native board's signed record)
  --jbd-exit MODE     how a JBD board leaves factory mode after a write: keep-counters (default; register
                      0x01 = 0x0000, the 0xAA protection counters stay) or save-and-reset-counters
                      (0x2828: some boards store only this way, and it ZEROES the protection counters)
  --any-board         restore a backup taken from another board of the same protocol
  --cells N           series cells for a profile's pack-level values (default: the board's or backup's)

Values use the catalogue's ids and units (V, A, °C, s, Ah, %): 'packscope settings get' lists them.
Every change is checked against the setting's range, the board's own limits and the other settings
before anything is sent. Exit codes: 0 done, 2 a value refused before sending (nothing written),
7 the board refused a value (its stored value is reported), 6 the read-back differs, 3/4/5 device
problems.`;

const OPTIONS = {
  ...DEVICE_OPTIONS,
  out: { type: 'string', short: 'o' },
  operator: { type: 'string' },
  'jbd-exit': { type: 'string' },
  'any-board': { type: 'boolean' },
  against: { type: 'string' },
  profile: { type: 'string' },
  cells: { type: 'string' },
} as const;

function jbdExit(v: string | undefined): JbdExit | undefined {
  if (v === undefined) return undefined;
  if (v !== 'keep-counters' && v !== 'save-and-reset-counters')
    throw new PackscopeError('USAGE', '--jbd-exit must be keep-counters or save-and-reset-counters');
  return v;
}

function show(id: string, v: number | null): string {
  const def = settingDef(id);
  return v === null ? '—' : def ? formatSetting(def, v) : String(v);
}

function printRead(r: SettingsRead, ctx: CliContext, only: string[]): void {
  ctx.out(`${r.board.model} ${r.board.serial} (${r.board.boardId}), firmware ${r.board.firmwareVersion}, ${r.protocol} protocol`);
  for (const g of SETTING_GROUPS) {
    const ids = Object.keys(r.values).filter((id) => settingDef(id)?.group === g && (!only.length || only.includes(id)));
    if (!ids.length) continue;
    ctx.out(`${GROUP_TITLES[g]}:`);
    for (const id of ids) {
      const def = settingDef(id)!;
      const l = r.limits.get(id);
      const range = l
        ? `${l.writable ? '' : 'read-only, '}${formatSetting(def, Math.max(def.min, l.min))} … ${formatSetting(def, Math.min(def.max, l.max))}`
        : '';
      ctx.out(`  ${id.padEnd(24)} ${show(id, r.values[id]!).padEnd(18)} ${def.label}${range ? ` [${range}]` : ''}`);
    }
  }
  if (r.jbdErrorCounters) {
    ctx.out(
      `Protection counters (0xAA): ${Object.entries(r.jbdErrorCounters)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  for (const n of r.notes) ctx.err(`note: ${n}`);
}

function readJson(r: SettingsRead) {
  return {
    protocol: r.protocol,
    board: r.board,
    values: r.values,
    limits: Object.fromEntries([...r.limits].map(([id, l]) => [id, l])),
    ...(r.jbdErrorCounters ? { jbdErrorCounters: r.jbdErrorCounters } : {}),
    ...(r.deviceSnapshot ? { deviceSnapshot: r.deviceSnapshot } : {}),
    notes: r.notes,
  };
}

/** Exit code and messages for a write's outcome: refusals first (7), then read-back differences (6). */
function reportApply(rep: ApplyReport, ctx: CliContext, json: boolean, extra: Record<string, unknown> = {}): number {
  const refused = rep.outcomes.filter((o) => o.result === 'refused' || o.result === 'not_applied');
  const code = refused.length ? EXIT.REFUSED : rep.mismatches.length ? EXIT.VERIFY_FAILED : EXIT.OK;
  if (json) {
    ctx.out(JSON.stringify({ ok: code === EXIT.OK, ...extra, ...rep }, null, 2));
    return code;
  }
  for (const n of rep.notes) ctx.err(`note: ${n}`);
  if (rep.jbdErrorCounters)
    ctx.err(
      `protection counters before the write (kept): ${Object.entries(rep.jbdErrorCounters)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  for (const o of rep.outcomes) ctx.out(outcomeLine(o, rep.before[o.id] ?? null));
  for (const m of rep.mismatches) ctx.err(`read-back: ${m.id} is ${show(m.id, m.got)}, expected ${show(m.id, m.expected)}`);
  return code;
}

function outcomeLine(o: WriteOutcome, before: number | null): string {
  switch (o.result) {
    case 'written':
      return `${o.id}: ${show(o.id, before)} → ${show(o.id, o.stored)}`;
    case 'unchanged':
      return `${o.id}: already ${show(o.id, o.stored)}`;
    default:
      return `${o.id}: ${o.reason ?? 'refused'}; the board holds ${show(o.id, o.stored)} (asked ${show(o.id, o.requested)})`;
  }
}

function printDiff(diff: SettingDifference[], left: string, right: string, ctx: CliContext): void {
  if (!diff.length) {
    ctx.out(`no differences between ${left} and ${right}`);
    return;
  }
  ctx.out(`${'setting'.padEnd(24)} ${left.padEnd(20)} ${right}`);
  for (const d of diff) ctx.out(`${d.id.padEnd(24)} ${show(d.id, d.left).padEnd(20)} ${show(d.id, d.right)}`);
}

export default {
  summary: 'Read, change, back up, restore and compare BMS settings',
  usage,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, true);
    const [sub, ...rest] = positionals;
    const json = values.json === true;
    if (sub === 'profiles') {
      if (json) ctx.out(JSON.stringify(BUILTIN_PROFILES, null, 2));
      else for (const p of BUILTIN_PROFILES) ctx.out(`${p.id.padEnd(8)} ${p.name} (${Object.keys(p.values).length} settings)`);
      return EXIT.OK;
    }
    if (sub === 'diff' && !values.port) {
      const left = loadBackup(requireOption(rest[0], 'backup (first argument)'));
      return diffAgainst(left.values, `${rest[0]}`, left.board.model, cellsOf(values.cells, left.values), values, ctx, json);
    }
    if (!sub || !['get', 'set', 'backup', 'restore', 'diff'].includes(sub))
      throw new PackscopeError('USAGE', `settings needs one of get, set, backup, restore, diff, profiles\n\n${usage}`);
    const tool = toolIdentity(values.operator);
    const exit = jbdExit(values['jbd-exit']);
    const out = sub === 'backup' ? requireOption(values.out, 'out') : undefined;
    const assignments =
      sub === 'set'
        ? rest.map((a) => {
            try {
              return parseAssignment(a);
            } catch (e) {
              throw new PackscopeError('USAGE', (e as Error).message);
            }
          })
        : [];
    if (sub === 'set' && !assignments.length) throw new PackscopeError('USAGE', 'settings set needs at least one ID=VALUE');
    const backupFile = sub === 'restore' ? loadBackup(requireOption(rest[0], 'backup file')) : null;
    const session = await openDeviceSession(values, ctx);
    try {
      const access = await settingsAccess(session);
      switch (sub) {
        case 'get': {
          const r = await access.read(ctx.signal);
          if (json) ctx.out(JSON.stringify(readJson(r), null, 2));
          else printRead(r, ctx, rest);
          return EXIT.OK;
        }
        case 'set': {
          const changes = Object.fromEntries(assignments.map((a) => [a.id, a.value]));
          return reportApply(await applySettings(access, changes, { tool, signal: ctx.signal, ...(exit ? { jbdExit: exit } : {}) }), ctx, json);
        }
        case 'backup': {
          const b = await takeBackup(access, { tool, now: new Date(), signal: ctx.signal });
          writeFileAtomic(out!, JSON.stringify(b, null, 2) + '\n');
          if (json)
            ctx.out(JSON.stringify({ file: out, digest: b.digest, protocol: b.protocol, board: b.board, settings: Object.keys(b.values).length }, null, 2));
          else ctx.out(`${Object.keys(b.values).length} settings of ${b.board.model} ${b.board.serial} saved to ${out} (digest ${b.digest.slice(0, 16)}…)`);
          return EXIT.OK;
        }
        case 'restore': {
          const rep = await restoreBackup(access, backupFile!, {
            tool,
            signal: ctx.signal,
            anyBoard: values['any-board'] === true,
            ...(exit ? { jbdExit: exit } : {}),
          });
          const code = reportApply(rep, ctx, json, { remaining: rep.remaining });
          if (code === EXIT.OK && rep.remaining.length) {
            if (!json) for (const d of rep.remaining) ctx.err(`still differs: ${d.id} board ${show(d.id, d.left)}, backup ${show(d.id, d.right)}`);
            return EXIT.VERIFY_FAILED;
          }
          if (!json && code === EXIT.OK) ctx.out(rep.outcomes.length ? 'restored; the read-back matches the backup' : 'the board already matches the backup');
          return code;
        }
        default: {
          const r = await access.read(ctx.signal);
          return diffAgainst(r.values, 'board', r.board.model, cellsOf(values.cells, r.values) ?? session.info?.cellCount ?? null, values, ctx, json);
        }
      }
    } finally {
      await session.close();
    }
  },
} satisfies CommandModule;

function cellsOf(option: string | undefined, values: Record<string, number>): number | null {
  if (option !== undefined) {
    const n = Number(option);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new PackscopeError('USAGE', '--cells must be a whole number 1…64');
    return n;
  }
  return values['cell_count'] ?? null;
}

function diffAgainst(
  left: Record<string, number>,
  leftName: string,
  model: string,
  cells: number | null,
  values: { against?: string; profile?: string },
  ctx: CliContext,
  json: boolean,
): number {
  let right: Record<string, number>;
  let rightName: string;
  if (values.against) {
    right = loadBackup(values.against).values;
    rightName = values.against;
  } else if (values.profile) {
    const p = loadProfile(values.profile);
    if (p.model && p.model !== model) ctx.err(`note: profile ${p.id} is for ${p.model}, not ${model}`);
    right = profileValues(p, cells);
    rightName = `profile ${p.id}`;
  } else throw new PackscopeError('USAGE', 'settings diff needs --against BACKUP.json or --profile NAME');
  // A profile names only what it prescribes: compare those; two backups: compare everything.
  const only = values.profile ? new Set(Object.keys(right).filter((id) => id in left)) : undefined;
  const diff = diffSettings(left, right, only);
  if (json) ctx.out(JSON.stringify({ left: leftName, right: rightName, identical: diff.length === 0, differences: diff }, null, 2));
  else printDiff(diff, leftName, rightName, ctx);
  return EXIT.OK;
}
