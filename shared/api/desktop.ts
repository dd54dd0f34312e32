import { z } from 'zod';
import { MAX_PHOTOS, PHOTO_KINDS } from '../evidence/photos.js';
import { REMEDIES } from '../warranty/claim.js';
import { hostPath } from './schemas.js';

/**
 * Schemas of the desktop basics (native dialogs, show in folder, the window's theme, files dropped
 * on the window) and of the claim draft the host keeps for the Claim screen. contract.ts names the
 * methods; the shapes live here so the contract stays one readable table.
 */

/** Screens a file can be opened on (File > Open, a double-click, a drop): by its extension. */
export const OPEN_SCREENS = ['logs', 'verify', 'firmware'] as const;
export const openScreen = z.enum(OPEN_SCREENS);
export type OpenScreen = z.output<typeof openScreen>;

/** Which screen opens a file of this name (null: not a file PackScope opens). */
export function screenForName(name: string): OpenScreen | null {
  const ext = /\.[^./\\]+$/.exec(name.toLowerCase())?.[0] ?? '';
  if (ext === '.psdiag') return 'verify';
  if (ext === '.pslog') return 'logs';
  if (ext === '.img' || ext === '.hex') return 'firmware';
  return null;
}

const extension = z.string().regex(/^[a-z0-9]{1,10}$/);
export const dialogFilter = z.object({ name: z.string().min(1).max(100), extensions: z.array(extension).min(1).max(16) }).strict();

export const openDialogRequest = z
  .object({
    title: z.string().max(200),
    filters: z.array(dialogFilter).max(8).default([]),
    defaultPath: hostPath.optional(),
    /** One file (default), several files, or one folder (filters do not apply). */
    select: z.enum(['file', 'files', 'folder']).default('file'),
  })
  .strict();
export const saveDialogRequest = z.object({ title: z.string().max(200), defaultPath: hostPath, filters: z.array(dialogFilter).max(8).default([]) }).strict();
/** The chosen path (the first, when several were chosen), or null when the user cancelled; for Open, `paths`: every chosen path. */
export const dialogResult = z.object({ path: z.string().nullable() });
export const openDialogResult = dialogResult.extend({ paths: z.array(z.string()) });
export const themeRequest = z.object({ theme: z.enum(['light', 'dark']) }).strict();

/** A chunk of a file dropped on the browser page, uploaded into the host's data folder. */
export const IMPORT_CHUNK_BYTES = 128 * 1024;
export const importRequest = z
  .object({
    /** The dropped file's own name (no folders): the host keeps it, made unique in the data folder. */
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^/\\\0]+$/),
    /** Upload id chosen by the page; the same id continues an upload. */
    uploadId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    offset: z.number().int().nonnegative(),
    base64: z.string().max(Math.ceil(IMPORT_CHUNK_BYTES / 3) * 4 + 4),
    /** Last chunk: the file is renamed to its final name. */
    final: z.boolean(),
  })
  .strict();
export const importResult = z.object({ path: z.string().nullable(), bytes: z.number() });

const draftText = (max: number) => z.string().max(max);
export const claimDraftForm = z
  .object({
    customer: draftText(200),
    contact: draftText(200),
    model: draftText(100),
    serial: draftText(100),
    purchaseDate: draftText(10),
    failureDate: draftText(10),
    description: draftText(10_000),
    remedy: z.enum(REMEDIES),
  })
  .strict();
export const draftPhoto = z.object({ path: z.string(), name: z.string(), bytes: z.number(), kind: z.enum(PHOTO_KINDS) });
/** What the customer entered on the Claim screen, kept by the host so leaving or reloading loses nothing. */
export const claimDraft = z
  .object({
    logPath: hostPath.nullable(),
    ticketPath: z.string().max(4096),
    form: claimDraftForm,
    photos: z.array(draftPhoto).max(MAX_PHOTOS),
    /** Where the package is saved (Save as), or null: a fresh name in the data folder. */
    out: hostPath.nullable(),
  })
  .strict();
export type ClaimDraft = z.output<typeof claimDraft>;
export type ClaimDraftForm = z.output<typeof claimDraftForm>;

/** A claim field as the verifier should read it: verified, or flagged (with what the signed data says). */
export const claimFieldState = z.object({
  field: z.string(),
  state: z.enum(['verified', 'unverified', 'altered']),
  /** For 'altered': the value the signed part of the package holds. */
  signed: z.string().nullable(),
});

/** The root key against the board's certificate: matches null when the package has no certificate to check. */
export const rootCheck = z.object({ matches: z.boolean().nullable(), issuerKeyId: z.string().nullable(), chosenKeyId: z.string().nullable() });
