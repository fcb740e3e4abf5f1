#!/usr/bin/env bash
# Refreshes the desktop's vendored browser libraries (instance/desktop/vendor/) from the npm
# registry at the versions pinned below, after checking each package's tarball against the
# sha256 recorded in instance/desktop/vendor/SHA256SUMS. Only the ES modules the desktop imports
# (and what they import) are copied, with each package's licence; bare imports between the
# noble packages are rewritten to relative paths, since the browser has no import map under
# the desktop's Content-Security-Policy. Needs node and npm; building mono never does.
#
#   scripts/vendor-desktop.sh            refresh and verify
#   scripts/vendor-desktop.sh --record   record the checksums of new pinned versions
set -euo pipefail

PACKAGES=(preact@10.27.2 htm@3.1.1 @noble/hashes@1.8.0 @noble/curves@1.9.5)

root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/instance/desktop/vendor"
sums="$vendor/SHA256SUMS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
for package in "${PACKAGES[@]}"; do
    npm pack "$package" --silent --loglevel=error >/dev/null
done
if [ "${1:-}" = "--record" ]; then
    sha256sum -- *.tgz >"$sums"
    echo "recorded $sums" >&2
fi
sha256sum --check --quiet "$sums"

for tarball in *.tgz; do
    mkdir -p "unpacked/${tarball%.tgz}"
    tar -xzf "$tarball" -C "unpacked/${tarball%.tgz}"
done

rm -rf "$vendor/preact" "$vendor/htm" "$vendor/noble-hashes" "$vendor/noble-curves"
mkdir -p "$vendor/preact" "$vendor/htm"
preact=$(echo unpacked/preact-*/package)
cp "$preact/dist/preact.module.js" "$preact/LICENSE" "$vendor/preact/"
sed 's|from"preact"|from"./preact.module.js"|g' "$preact/hooks/dist/hooks.module.js" \
    >"$vendor/preact/hooks.module.js"
htm=$(echo unpacked/htm-*/package)
cp "$htm/dist/htm.module.js" "$htm/LICENSE" "$vendor/htm/"

# Copies the modules reachable from the entry points, rewriting @noble/hashes imports.
node - "$vendor" unpacked/noble-hashes-*/package unpacked/noble-curves-*/package <<'JS'
const fs = require('fs');
const path = require('path');
const [vendor, hashes, curves] = process.argv.slice(2);
const trees = [
  { from: path.join(hashes, 'esm'), to: path.join(vendor, 'noble-hashes'), licence: hashes,
    entries: ['sha2.js', 'legacy.js', 'hmac.js', 'utils.js'] },
  { from: path.join(curves, 'esm'), to: path.join(vendor, 'noble-curves'), licence: curves,
    entries: ['secp256k1.js'] },
];
const importLine = /^(import|export)\b[^;]*?\bfrom\s+(['"])([^'"]+)\2;/gm;
for (const tree of trees) {
  const seen = new Set();
  const queue = [...tree.entries];
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    let text = fs.readFileSync(path.join(tree.from, file), 'utf8');
    text = text.replace(importLine, (line, _kind, quote, spec) => {
      if (spec.startsWith('.')) {
        queue.push(path.normalize(path.join(path.dirname(file), spec)));
        return line;
      }
      const bare = spec.match(/^@noble\/hashes\/([\w-]+?)(\.js)?$/);
      if (!bare) throw new Error(`${file}: unexpected import ${spec}`);
      // The hashes package imports itself by name.
      if (tree.from === trees[0].from) queue.push(`${bare[1]}.js`);
      const target = path.join(vendor, 'noble-hashes', `${bare[1]}.js`);
      if (tree.from !== trees[0].from && !fs.existsSync(target)) {
        throw new Error(`${file}: ${spec} is not vendored`);
      }
      const from = path.dirname(path.join(tree.to, file));
      let relative = path.relative(from, target);
      if (!relative.startsWith('.')) relative = `./${relative}`;
      return line.replace(`${quote}${spec}${quote}`, `${quote}${relative}${quote}`);
    });
    // Source maps are not vendored.
    text = text.replace(/^\/\/# sourceMappingURL=.*$/m, '');
    fs.mkdirSync(path.dirname(path.join(tree.to, file)), { recursive: true });
    fs.writeFileSync(path.join(tree.to, file), text);
  }
  fs.copyFileSync(path.join(tree.licence, 'LICENSE'), path.join(tree.to, 'LICENSE'));
}
JS
echo "vendored ${PACKAGES[*]} into $vendor" >&2
