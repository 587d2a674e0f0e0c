#!/usr/bin/env bash
# Idempotent set-up of a machine for Topiary: native runtime, default dataset, text corpus, build.
# Each step checks before it acts, so a second run changes nothing and takes seconds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dataset_dir="${TOPIARY_DATA:-/usr/share/datasets/fashion-mnist}"
required_glibcxx="GLIBCXX_3.4.32"

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "root rights are needed to run: $*"
  fi
}

libstdcxx_path() {
  local p
  p=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64|libstdc\+\+\.so\.6 .*aarch64|libstdc\+\+\.so\.6 / {print $NF; exit}')
  [ -n "$p" ] && [ -e "$p" ] && { echo "$p"; return; }
  for p in /lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    [ -e "$p" ] && { echo "$p"; return; }
  done
}

has_required_glibcxx() {
  local lib; lib=$(libstdcxx_path)
  [ -n "$lib" ] && grep -q -a "$required_glibcxx" "$lib"
}

# The first URI of the machine's own Debian sources: we reuse the mirror the admin chose.
debian_mirror_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    uri=$(awk 'BEGIN{IGNORECASE=1}
      /^URIs:/ {u=$2} /^Suites:/ {s=$0}
      /^$/ { if (u!="" && s ~ /(bookworm|trixie|stable)( |$)/ && u !~ /security/) {print u; exit} u=""; s="" }
      END { if (u!="" && s ~ /(bookworm|trixie|stable)( |$)/ && u !~ /security/) print u }' "$f" | head -n1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    uri=$(awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; exit} }' "$f" | head -n1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

apt_log="${TMPDIR:-/tmp}/topiary-bootstrap-apt.log"
# apt is chatty; keep its output in a log and show it only when something fails.
apt_quiet() {
  if ! as_root env DEBIAN_FRONTEND=noninteractive "$@" >"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    die "'$*' failed (full log: $apt_log)"
  fi
}
apt_updated=0
apt_update_once() { [ $apt_updated = 1 ] || { apt_quiet apt-get update; apt_updated=1; }; }

ensure_native_runtime() {
  if has_required_glibcxx; then return; fi
  if ! command -v apt-get >/dev/null 2>&1 || [ ! -r /etc/debian_version ]; then
    die "TorchSharp 0.107 needs libstdc++ with $required_glibcxx (GCC 13 or later; Ubuntu 24.04, Debian 13 and Fedora 39 have it); install it and run again"
  fi
  local uri keyring
  uri=$(debian_mirror_uri)
  [ -n "$uri" ] || die "libstdc++ lacks $required_glibcxx and no Debian mirror is named in /etc/apt/sources*; add Debian 13 (trixie) and install libstdc++6 from it"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  say "libstdc++ lacks $required_glibcxx: adding Debian trixie from $uri, pinned low, for libstdc++6 only"
  as_root tee /etc/apt/sources.list.d/topiary-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: $keyring
SRC
  # Pin trixie below the installed release so that only what we ask for comes from it.
  as_root tee /etc/apt/preferences.d/topiary-trixie >/dev/null <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  apt_updated=0; apt_update_once
  apt_quiet apt-get install -y -t trixie libstdc++6
  has_required_glibcxx || die "libstdc++6 from trixie was installed but still lacks $required_glibcxx"
}

ensure_dataset() {
  if [ -e "$dataset_dir/train-images-idx3-ubyte.gz" ] || [ -e "$dataset_dir/train-images-idx3-ubyte" ]; then return; fi
  [ "$dataset_dir" = /usr/share/datasets/fashion-mnist ] || die "dataset directory $dataset_dir has no train-images-idx3-ubyte[.gz]"
  command -v apt-get >/dev/null 2>&1 || die "Fashion-MNIST is missing from $dataset_dir and apt-get is not available to install dataset-fashion-mnist"
  say "installing the Debian package dataset-fashion-mnist"
  apt_update_once
  apt_quiet apt-get install -y dataset-fashion-mnist
}

# The PNG plots need one TrueType font with Latin glyphs; without it they render without text.
ensure_plot_font() {
  local font
  for font in /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/TTF/DejaVuSans.ttf /usr/share/fonts/dejavu*/DejaVuSans.ttf; do
    [ -e "$font" ] && return
  done
  if command -v apt-get >/dev/null 2>&1; then
    say "installing the Debian package fonts-dejavu-core for the plots' text"
    apt_update_once
    apt_quiet apt-get install -y fonts-dejavu-core
  else
    say "warning: no DejaVu Sans font found; plots will be written without text"
  fi
}

# Installs a SWORD zText Bible module from its Debian package unless its directory is present.
# $1 module directory name, $2 Debian package, $3 what it is for, $4 what is lost without it.
ensure_sword_module() {
  if [ -e "/usr/share/sword/modules/texts/ztext/$1/nt.bzv" ]; then return; fi
  if command -v apt-get >/dev/null 2>&1; then
    say "installing the Debian package $2 ($3)"
    apt_update_once
    apt_quiet apt-get install -y "$2"
  else
    say "warning: the Debian package $2 ($3) is missing; $4"
  fi
}

# The language-model corpus (topiary prune --model transformer-lm): the World English Bible,
# public domain, about 4.9 million characters, as a SWORD zText module.
ensure_corpus() {
  ensure_sword_module engWEB2015eb sword-text-web "the World English Bible, the language-model corpus" \
    "transformer-lm runs need --corpus FILE"
}

# The Spanish side of the verse-aligned Spanish–English parallel corpus (the English side is the
# World English Bible above): the Reina-Valera 1909, public domain, KJV versification.
ensure_parallel_corpus() {
  ensure_sword_module spaRV1909eb sword-text-sparv "the Reina-Valera 1909, Spanish side of the parallel corpus" \
    "the parallel corpus is unavailable"
}

# Silent when it succeeds, so that a command's own output (and an error's one line) is all the user sees.
ensure_build() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK (dotnet) is not on PATH"
  local log="${TMPDIR:-/tmp}/topiary-build.log"
  if ! (cd "$here" && dotnet build Topiary.slnx -c Release --nologo -v quiet -clp:ErrorsOnly) >"$log" 2>&1; then
    cat "$log" >&2
    die "dotnet build failed (see the errors above; log: $log)"
  fi
}

ensure_native_runtime
ensure_dataset
ensure_plot_font
ensure_corpus
ensure_parallel_corpus
ensure_build
