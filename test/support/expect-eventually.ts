/**
 * Poll `check` until it stops throwing (or returns a truthy value when it returns a boolean), or fail
 * with its last error after `timeoutMs`. Tests poll; they never sleep for a fixed time.
 */
export async function expectEventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
      lastError = new Error('condition returned false');
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const msg = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`not true within ${timeoutMs} ms: ${msg}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
