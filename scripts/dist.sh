#!/usr/bin/env bash
# Builds release archives of cogvault into ${DIST:-dist}: one per platform
# (tar.gz for unix, zip for windows), each holding the binary, README.md and
# LICENSE if present, plus SHA256SUMS in the format `sha256sum -c` checks.
# VERSION and COMMIT are stamped into the binary (internal/cli.stampedVersion,
# stampedCommit). PLATFORMS overrides the list (e.g. "linux/amd64"). The
# unpacked directories stay in dist/ too: dist/cogvault_<v>_<os>_<arch>/cogvault.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
pkg=github.com/cogvault/cogvault/internal/cli
ldflags="-s -w -X $pkg.stampedVersion=$version -X $pkg.stampedCommit=$commit"

mkdir -p "$dist"
archives=()
for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  name="cogvault_${version}_${os}_${arch}"
  dir="$dist/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  exe=cogvault
  [ "$os" = windows ] && exe=cogvault.exe
  GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/$exe" ./cmd/cogvault
  cp README.md "$dir/"
  [ -f LICENSE ] && cp LICENSE "$dir/"
  if [ "$os" = windows ]; then
    archive=$name.zip
    (cd "$dist" && rm -f "$archive" && zip -q -r -X "$archive" "$name")
  else
    archive=$name.tar.gz
    tar -C "$dist" -czf "$dist/$archive" "$name"
  fi
  archives+=("$archive")
  echo "$dist/$archive"
done
# sha256sum on Linux, shasum on macOS: both print "<hash>  <file>".
sum() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }
(cd "$dist" && sum "${archives[@]}" > SHA256SUMS)
echo "$dist/SHA256SUMS"
