/** A one-line progress bar on stderr for long CLI work (plain lines when not a terminal). */
export function progress(label: string, total: number) {
  let n = 0;
  const tty = process.stderr.isTTY;
  const draw = () => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((n / total) * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n}/${total}`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (n === total || n % Math.max(1, Math.floor(total / 10)) === 0) process.stderr.write(`${line}\n`);
  };
  draw();
  return {
    tick: () => {
      n += 1;
      draw();
    },
    done: () => {
      if (tty) process.stderr.write('\n');
    },
  };
}
