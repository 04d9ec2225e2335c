// Tiny check runner for the jsforce conformance suite.
//
// Checks run in registration order (later ones may use what earlier ones left in `ctx`), print
// one line each, and the run ends with the closing line `N passed, N failed`. A check that
// cannot run because the emulator has no way to reach its situation throws `Skip`.

export const CHECKS = [];

export class Skip extends Error {}
export class CheckFailed extends Error {}

/** Register a check under a stable, greppable name; `tags` select subsets (e.g. "smoke"). */
export function check(name, fn, tags = []) {
  CHECKS.push({ name, fn, tags });
}

export function expect(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

export function short(value, limit = 600) {
  let text;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  text = String(text).replace(/\n/g, '\\n');
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}

export function expectEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new CheckFailed(`${what}: expected ${short(e)}, got ${short(a)}`);
}

/** Expect `promise` to reject; return the error for further checks. */
export async function rejects(promise, what) {
  try {
    const value = await promise;
    throw new CheckFailed(`${what}: expected an error, got ${short(value)}`);
  } catch (err) {
    if (err instanceof CheckFailed) throw err;
    return err;
  }
}

export async function runAll(ctx, { only = [], tag = null } = {}) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const { name, fn, tags } of CHECKS) {
    if (only.length && !only.some((p) => name.startsWith(p))) continue;
    if (tag && !tags.includes(tag)) continue;
    const started = Date.now();
    try {
      await fn(ctx);
      passed += 1;
      console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(2)}s)`);
    } catch (err) {
      if (err instanceof Skip) {
        skipped += 1;
        console.log(`skip ${name}: ${err.message}`);
      } else {
        failed += 1;
        const kind = err instanceof CheckFailed ? '' : `${err?.name ?? 'Error'} `;
        const code = err?.errorCode ? ` [errorCode ${err.errorCode}]` : '';
        const data = err?.data ? ` data=${short(err.data, 400)}` : '';
        console.log(`FAIL ${name}: ${kind}${short(err?.message ?? err)}${code}${data}`);
        if (ctx.verbose && err?.stack) console.log(err.stack);
      }
    }
  }
  if (skipped) console.log(`${skipped} skipped`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
