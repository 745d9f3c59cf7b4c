/**
 * Jest globalSetup of the integration project: makes sure the sandbox Asterisk is running
 * (builds the chroot on a fresh machine, installing debootstrap on the host if needed).
 * Set PBXPULSE_SANDBOX_SKIP=1 to use an Asterisk you started yourself.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = function globalSetup() {
  if (process.env.PBXPULSE_SANDBOX_SKIP === '1') {
    process.stdout.write('\nsandbox: PBXPULSE_SANDBOX_SKIP=1, not starting the sandbox Asterisk\n');
    return;
  }
  const repo = path.resolve(__dirname, '..', '..');
  process.stdout.write('\n');
  const result = spawnSync(
    process.execPath,
    [path.join(repo, 'scripts', 'sandbox.mjs'), 'up', '--install-host-deps'],
    {
      cwd: repo,
      stdio: 'inherit',
      timeout: 20 * 60_000,
    },
  );
  if (result.error) throw new Error(`sandbox up could not run: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`sandbox up failed (${result.signal ?? `exit ${result.status}`}); see its output above`);
  }
};
