import type { ChildProcess } from 'node:child_process';

/**
 * The next IPC message of a benchmark's child process whose `ev` is `ev`; rejects, naming `what`, if
 * the child exits first.
 */
export function childReply<R extends { ev: string }, E extends R['ev']>(
  child: ChildProcess,
  ev: E,
  what: string,
): Promise<Extract<R, { ev: E }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (r: R): void => {
      if (r.ev !== ev) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(r as Extract<R, { ev: E }>);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`${what} exited (${String(code)}) waiting for ${ev}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
