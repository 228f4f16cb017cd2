// Makes the built bins executable: npm links them, and `./dist/connector/cli.js` must run as-is too.
import { chmodSync, existsSync } from 'node:fs';
for (const bin of ['dist/connector/cli.js', 'dist/connector/warehouse/cli.js']) {
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
