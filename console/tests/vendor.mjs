// The console's only "build" step: copy the chart library from the
// lockfile's npm package into src/vendor/. With --check it copies nothing
// and fails when the committed file differs from the package's (CI runs it
// after `npm ci`).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = [
  ['node_modules/chart.js/dist/chart.umd.min.js', 'src/vendor/chart.umd.min.js'],
];
let differ = 0;
for (const [from, to] of files) {
  // The source map comment points at a file we do not serve.
  const want = readFileSync(join(root, from), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
  if (process.argv.includes('--check')) {
    let have = '';
    try { have = readFileSync(join(root, to), 'utf8'); } catch { /* missing */ }
    if (have !== want) {
      console.error(`${to} differs from ${from}; run \`npm run vendor\` in console/ and commit`);
      differ += 1;
    }
  } else {
    writeFileSync(join(root, to), want);
    console.log(`${from} -> ${to}`);
  }
}
process.exit(differ ? 1 : 0);
