#!/bin/bash
# The build context of the Containerfile, in DIR:
#   DIR/wheels          ctop-ebpf and every Python dependency, as wheels (pip wheel)
#   DIR/kernel-headers  Debian's kernel headers of this host's /usr/src (make setup
#                       installs linux-headers-ARCH), include/ and arch/ of the
#                       -common and the -ARCH package merged into one folder
#   deploy/image/context.sh PYTHON DIR
set -euo pipefail
python=${1:?usage: context.sh PYTHON DIR}
out=${2:?usage: context.sh PYTHON DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
case "$(uname -m)" in
  x86_64) karch=x86 ;;
  aarch64) karch=arm64 ;;
  *) karch=$(uname -m) ;;
esac
rm -rf "$out/wheels"
mkdir -p "$out/wheels"
"$python" -m pip wheel --quiet --disable-pip-version-check -w "$out/wheels" "$root" 2>&1 \
    | grep -v '^WARNING: Location' || true
ls "$out/wheels"/ctop_ebpf-*.whl >/dev/null
# the newest -common set that has its architecture's generated part
common=""
for d in $(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V); do
  build=${d%-common}-$(dpkg --print-architecture)
  [ -d "$build/include/generated" ] && common=$d
done
if [ -z "$common" ]; then
  echo "no Debian kernel headers in /usr/src: apt-get install linux-headers-$(dpkg --print-architecture)" >&2
  exit 1
fi
build=${common%-common}-$(dpkg --print-architecture)
version=$(basename "${common%-common}" | sed 's/^linux-headers-//')
if [ "$(cat "$out/kernel-headers/VERSION" 2>/dev/null)" = "$version" ]; then
  echo "context $out: $(ls "$out/wheels" | wc -l) wheels, headers $version (kept)"
  exit 0
fi
rm -rf "$out/kernel-headers"
mkdir -p "$out/kernel-headers/arch"
cp -a "$common/include" "$out/kernel-headers/"
cp -a "$common/arch/$karch" "$out/kernel-headers/arch/"
cp -a "$build/include/." "$out/kernel-headers/include/"
cp -a "$build/arch/$karch/." "$out/kernel-headers/arch/$karch/"
cp "$build/.config" "$out/kernel-headers/.config"
echo "$version" > "$out/kernel-headers/VERSION"
echo "context $out: $(ls "$out/wheels" | wc -l) wheels, headers $(cat "$out/kernel-headers/VERSION")"
