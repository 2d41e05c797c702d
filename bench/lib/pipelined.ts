// Runs asynchronous operations with a bounded number outstanding: the window of unconfirmed
// publishes (W1) and of batch calls when backlogs are written.

/** Runs `n` operations with at most `depth` unconfirmed at a time; rejects on the first failure. */
export function pipelined(op: (i: number) => Promise<unknown>, n: number, depth: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (n <= 0) return resolve();
    let issued = 0;
    let confirmed = 0;
    let failed = false;
    const fill = (): void => {
      while (!failed && issued < n && issued - confirmed < depth) op(issued++).then(onConfirmed, onFailed);
    };
    const onConfirmed = (): void => {
      if (++confirmed === n) resolve();
      else fill();
    };
    const onFailed = (error: unknown): void => {
      failed = true;
      reject(error);
    };
    fill();
  });
}
