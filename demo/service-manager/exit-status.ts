/**
 * systemd's names for exit statuses, as they appear in "status=203/EXEC" journal and
 * `systemctl status` lines (evidence an operator will grep for).
 */
const NAMES: Record<number, string> = {
  0: 'SUCCESS',
  1: 'FAILURE',
  2: 'INVALIDARGUMENT',
  3: 'NOTIMPLEMENTED',
  4: 'NOPERMISSION',
  5: 'NOTINSTALLED',
  6: 'NOTCONFIGURED',
  7: 'NOTRUNNING',
  200: 'CHDIR',
  203: 'EXEC',
};

export function exitStatusName(status: number): string {
  return NAMES[status] ?? 'n/a';
}
