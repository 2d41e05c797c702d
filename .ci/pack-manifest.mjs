// npm's prepack/postpack hooks (`npm pack`, `npm publish`): the package.json inside the tarball
// carries no `scripts`, so installing it never meets an install-time script (`prepare` is one:
// scanners and npm flag it). The repository keeps its scripts: `prepare` builds dist/ where npm
// installs from source (a git URL, whose packer runs only `prepare`, or a linked clone).
//   node .ci/pack-manifest.mjs strip     before packing: package.json without scripts, original kept
//   node .ci/pack-manifest.mjs restore   after packing: the original back
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const KEPT = '.ci/package.json.packing';

const mode = process.argv[2];
if (mode === 'strip') {
  if (existsSync(KEPT)) {
    console.error(`${KEPT} exists: an earlier pack stopped before restoring package.json. Run \`node .ci/pack-manifest.mjs restore\` and pack again.`);
    process.exit(1);
  }
  const text = readFileSync(MANIFEST, 'utf8');
  const { scripts: _scripts, ...manifest } = JSON.parse(text);
  writeFileSync(KEPT, text);
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(KEPT)) renameSync(KEPT, MANIFEST);
} else {
  console.error('usage: node .ci/pack-manifest.mjs strip | restore');
  process.exit(2);
}
