/**
 * Linux `/proc/<pid>/stat` and `/proc/<pid>/task/<tid>/stat` lines, read by the ingress gauge (the
 * acknowledging thread's CPU time), the inbound bench (CPU by process and thread) and the tests of
 * thread priorities. The command name in parentheses may itself hold spaces and parentheses, so the
 * fields are counted from its last ')'.
 */

/** USER_HZ: the unit of /proc's CPU times (100 on Linux's supported architectures). */
const CLOCK_TICKS = 100;

/** The fields after the command name: [0] is the state (field 3 in proc(5)'s numbering). */
function fieldsAfterName(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time used, user plus system (proc(5) fields 14 and 15), in seconds. */
export function cpuSecondsOf(stat: string): number {
  const f = fieldsAfterName(stat);
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** The nice value (proc(5) field 19). */
export function niceOf(stat: string): number {
  return Number(fieldsAfterName(stat)[16]);
}
