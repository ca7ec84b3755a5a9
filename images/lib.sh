# SPDX-License-Identifier: Apache-2.0
# Shared by the base image scripts (sourced).  Only Debian packages and the
# host's files are used: nothing is downloaded from an image registry.
#
# Environment: KUBE (the kube binary; default: kube on PATH, else
# ./build/frontends/cli/kube), KUBE_DATA_DIR or --data-dir (the store to
# load into), KUBE_IMAGE_CACHE (where built archives are kept between
# runs; default ${XDG_CACHE_HOME:-$HOME/.cache}/libkube-images).

set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data_dir=${KUBE_DATA_DIR:-}
while [ $# -gt 0 ]; do
    case $1 in
        --data-dir) data_dir=$2; shift 2 ;;
        --data-dir=*) data_dir=${1#*=}; shift ;;
        --kube) KUBE=$2; shift 2 ;;
        *) echo "usage: $0 [--data-dir DIR] [--kube KUBE]" >&2; exit 2 ;;
    esac
done
if [ -z "${KUBE:-}" ]; then
    if [ -x "$root/build/frontends/cli/kube" ]; then KUBE=$root/build/frontends/cli/kube
    else KUBE=$(command -v kube || true); fi
fi
[ -n "$KUBE" ] && [ -x "$KUBE" ] || { echo "$0: kube not found (set KUBE)" >&2; exit 1; }
dd_args=""
[ -n "$data_dir" ] && dd_args="--data-dir $data_dir"
cache=${KUBE_IMAGE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/libkube-images}
mkdir -p "$cache"

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }

# copy_file SRC ROOT: SRC (following symlinks) to ROOT at its real path,
# plus SRC's own path as a symlink when that differs (merged /usr).
copy_file() {
    src=$1; dst_root=$2
    real=$(readlink -f "$src")
    mkdir -p "$dst_root$(dirname "$real")"
    [ -e "$dst_root$real" ] || cp -a --no-preserve=ownership "$real" "$dst_root$real"
    # the name the loader asks for (/lib64/ld-linux-x86-64.so.2)
    link_dir=$(readlink -f "$(dirname "$src")")
    link=$link_dir/$(basename "$src")
    if [ "$link" != "$real" ] && [ ! -e "$dst_root$link" ] && [ ! -L "$dst_root$link" ]; then
        mkdir -p "$dst_root$link_dir"
        ln -s "$real" "$dst_root$link"
    fi
}

# copy_closure ROOT BINARY...: the binaries and their shared libraries.
copy_closure() {
    dst_root=$1; shift
    for bin in "$@"; do
        copy_file "$bin" "$dst_root"
        ldd "$bin" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}' |
            while read -r lib; do [ -n "$lib" ] && [ -e "$lib" ] && copy_file "$lib" "$dst_root"; done
    done
}

# Merged /usr as Debian 12 has it: /lib -> usr/lib, /lib64 -> usr/lib64.
usr_merge() {
    for d in lib lib64; do
        [ -e "$1/$d" ] || ln -s "usr/$d" "$1/$d"
    done
}

# load_cached NAME: import $cache/NAME.tar when it exists.
load_cached() {
    [ -f "$cache/$1.tar" ] || return 1
    "$KUBE" image import $dd_args -q "$cache/$1.tar" >/dev/null
}
