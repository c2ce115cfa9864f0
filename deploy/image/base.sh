#!/bin/bash
# The image's base without a registry: a Debian bookworm root filesystem with
# bcc's Python bindings, Python and pip (mmdebstrap, from the host's apt
# sources), imported into Docker as IMAGE.
#   deploy/image/base.sh ctop-ebpf-base:bookworm
set -euo pipefail
image=${1:?usage: base.sh IMAGE}
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
# the root file system goes to docker import as a tar stream (never written to disk twice)
mmdebstrap --quiet --variant=apt --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --include=python3-bpfcc,python3-pip,ca-certificates \
    bookworm - "$sources" \
  | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
echo "base image $image"
