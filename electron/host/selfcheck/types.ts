/**
 * The guided self-check's vocabulary, shared by the CLI and the app's Self-check wizard: each step
 * says what it measured, what is normal, and what that means in plain words.
 */
export type StepId = 'identity' | 'faults' | 'cell-spread' | 'capacity' | 'temperatures' | 'current-offset' | 'charger' | 'blackbox';

export type StepStatus = 'pass' | 'warn' | 'fail' | 'skipped';

export interface StepInfo {
  id: StepId;
  title: string;
  /** What the user should do before the step runs (shown by the wizard), or '' when nothing. */
  prompt: string;
}

export interface StepResult {
  id: StepId;
  title: string;
  /**
   * pass: normal. warn: not a defect, but something to act on (update firmware, charge the pack,
   * use another charger). fail: a sign of a defect — file a claim. skipped: could not be measured
   * now (the meaning says why and what to do).
   */
  status: StepStatus;
  measured: string;
  normal: string;
  meaning: string;
  /** The figures behind `measured`, for --json and the app. */
  values: Record<string, number | string | boolean | null>;
}

export type Outcome = 'no-problem-found' | 'file-a-claim';

export interface Conclusion {
  outcome: Outcome;
  /** One sentence: "No problem found." / "File a claim: …". */
  summary: string;
  results: StepResult[];
}
