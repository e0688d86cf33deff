/**
 * Settles like `work`, or rejects with `onTimeout()` when `work` has not settled within `ms`
 * milliseconds. The timer never keeps the process alive. `work` itself is not cancelled: it may
 * still finish (or fail) later, unobserved.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
