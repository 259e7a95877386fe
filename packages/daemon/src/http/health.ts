// Bodies and status codes of /livez (/healthz) and /readyz, Kubernetes style: callers use the status
// code; `?verbose` lists every check as `[+]name ok` / `[-]name failed` for humans.
import type { ReadinessReport } from '../state.js';

export interface HealthResponse {
  status: number;
  body: string;
}

export interface LivenessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

function checkLine(name: string, ok: boolean, note?: string): string {
  return `[${ok ? '+' : '-'}]${name} ${ok ? 'ok' : 'failed'}${note ? ` (${note})` : ''}`;
}

export function livenessResponse(checks: readonly LivenessCheck[], verbose: boolean): HealthResponse {
  const failed = checks.filter((c) => !c.ok);
  const status = failed.length === 0 ? 200 : 500;
  if (verbose) {
    const lines = checks.map((c) => checkLine(c.name, c.ok, c.detail));
    lines.push(`livez check ${failed.length === 0 ? 'passed' : 'failed'}`);
    return { status, body: `${lines.join('\n')}\n` };
  }
  return {
    status,
    body: failed.length === 0 ? 'ok\n' : `not live: ${failed.map((c) => c.name).join(', ')}\n`,
  };
}

export function readinessResponse(report: ReadinessReport, verbose: boolean): HealthResponse {
  const status = report.ready ? 200 : 503;
  const failed = report.checks.filter((c) => c.required && !c.ok).map((c) => c.name);
  if (verbose) {
    const lines = report.checks.map((c) => checkLine(c.name, c.ok, c.required ? undefined : 'informational'));
    lines.push(`phase ${report.phase}`);
    lines.push(`readyz check ${report.ready ? 'passed' : 'failed'}`);
    return { status, body: `${lines.join('\n')}\n` };
  }
  if (report.ready) return { status, body: 'ok\n' };
  const reasons = failed.length > 0 ? failed.join(', ') : `phase ${report.phase}`;
  return { status, body: `not ready: ${reasons}\n` };
}

/** When readiness cannot even be computed, the node is not ready. */
export function readinessUnknown(error: unknown): HealthResponse {
  const message = error instanceof Error ? error.message : String(error);
  return { status: 503, body: `not ready: readiness unknown (${message})\n` };
}
