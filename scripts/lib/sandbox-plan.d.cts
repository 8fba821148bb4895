/** Types of sandbox-plan.cjs (the sandbox decision of `pnpm start`). */
export type FakeableChannel = 'whatsapp' | 'wechat-kf';
export declare const FAKEABLE: Record<FakeableChannel, { label: string; credentials: string[] }>;
export declare const OTHER_SECRETS: string[];
export interface SandboxPlan {
  enabled: boolean;
  reason: string;
  faked: FakeableChannel[];
  real: string[];
  labels?: string[];
  file: string;
  dataDir: string;
  adminPort?: string;
  login?: { user: string; password: string };
  secrets?: Record<string, string>;
  /** Variables for every app. */
  shared: Record<string, string>;
  /** Extra variables for the admin app only (sandbox secrets, real credentials blanked). */
  admin: Record<string, string>;
}
export declare function planSandbox(
  env: Record<string, string | undefined>,
  opts?: { saved?: Record<string, string>; random?: (n: number) => Buffer; root?: string },
): SandboxPlan;
export declare function envFor(plan: SandboxPlan, app: string, base: Record<string, string | undefined>): Record<string, string | undefined>;
export declare function prepareSandbox(root: string, env?: Record<string, string | undefined>): SandboxPlan;
export declare function readEnvFile(file: string): Record<string, string>;
export declare function sandboxSwitch(value: string | undefined): 'on' | 'off' | undefined;
