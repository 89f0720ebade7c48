#!/usr/bin/env bash
# npm run build:all [-- TARGET...]
#
# Builds the addon for every target in package.json's napi.targets (or only the ones named) on this
# Linux x64 machine, and lays the results out as napi-rs does: npm/<platform>/ holds each platform
# package (package.json from `napi create-npm-dirs`, the binary from `napi artifacts`). Installs what
# it needs first, and only what is missing, so that running it again is cheap:
#   - rustup targets;
#   - zig and cargo-zigbuild from PyPI (pinned, in a venv under target/platform-tools), which link
#     the Linux and macOS targets: glibc targets against glibc 2.17, musl ones against musl;
#   - Debian's mingw-w64 for the Windows target.
#
# How each target is built:
#   linux gnu       napi build -x --target <triple>.2.17 (zig: runs on glibc >= 2.17)
#   linux musl      napi build -x --target <triple>      (zig; dynamically linked to musl's libc)
#   macOS           napi build -x --target <triple>, MACOSX_DEPLOYMENT_TARGET 10.15 (x64) / 11.0
#   Windows         built as x86_64-pc-windows-gnu with mingw-w64 and shipped under the name
#                   win32-x64-msvc, the package the generated loader asks for on Node's official
#                   (MSVC-built) Windows binaries. Node-API is a C ABI, so either toolchain's
#                   addon loads; cargo-xwin, which would build -msvc, must download Microsoft's
#                   CRT, which cannot be fetched here. Node-API is looked up at load time
#                   (Cargo.toml: napi's dyn-symbols on Windows), so the link needs only an empty
#                   import library where napi-build looks for libnode.dll.
#   wasm32-wasip1-threads   napi build --target wasm32-wasip1-threads (rustc's own wasm linker)
# Every build regenerates binding.js / binding.d.ts (never index.js: --js and --dts are always
# given); they do not depend on the target.
#
# Prints each target's build time, and a table at the end. Exit code non-zero if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

ZIGLANG_VERSION=0.17.0
CARGO_ZIGBUILD_VERSION=0.24.0
tools=$PWD/target/platform-tools
napi=$PWD/node_modules/.bin/napi

log() { printf 'build-all: %s\n' "$*"; }

mapfile -t all_targets < <(node -p 'require("./package.json").napi.targets.join("\n")')
if (($#)); then targets=("$@"); else targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { log "$t is not in package.json napi.targets"; exit 2; }
done

# The Rust triple cargo builds for each napi target.
build_triple() {
  case $1 in
    x86_64-pc-windows-msvc) echo x86_64-pc-windows-gnu ;;
    *) echo "$1" ;;
  esac
}

# --- tools -----------------------------------------------------------------------------------------
ensure_tools() {
  local t0=$SECONDS need_zig=0 need_mingw=0 t
  for t in "${targets[@]}"; do
    case $t in
      *-linux-* | *-apple-darwin) need_zig=1 ;;
      *-windows-*) need_mingw=1 ;;
    esac
  done

  local installed missing=()
  installed=$(rustup target list --installed)
  for t in "${targets[@]}"; do
    t=$(build_triple "$t")
    grep -qx "$t" <<<"$installed" || missing+=("$t")
  done
  if ((${#missing[@]})); then
    log "rustup target add ${missing[*]}"
    rustup target add "${missing[@]}"
  fi

  if ((need_zig)); then
    if [[ ! -x $tools/venv/bin/python3 ]]; then
      python3 -m venv "$tools/venv"
    fi
    if [[ $("$tools/venv/bin/python3" -m ziglang version 2>/dev/null) != "$ZIGLANG_VERSION" ]] ||
      [[ $("$tools/venv/bin/cargo-zigbuild" --version 2>/dev/null) != "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ]]; then
      log "pip install ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION (venv in $tools)"
      "$tools/venv/bin/pip" install -q --disable-pip-version-check \
        "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
    fi
    # napi's --cross-compile wants `zig` on PATH; the PyPI package runs it as a Python module.
    mkdir -p "$tools/bin"
    printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$tools/venv/bin/python3" >"$tools/bin/zig"
    chmod +x "$tools/bin/zig"
    ln -sf "$tools/venv/bin/cargo-zigbuild" "$tools/bin/cargo-zigbuild"
  fi

  if ((need_mingw)); then
    if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v x86_64-w64-mingw32-dlltool >/dev/null; then
      log "apt-get install gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 >/dev/null
    fi
    # napi-build (windows-gnu) insists on a libnode.dll to link against; with dyn-symbols nothing
    # is imported from it, so an import library with no exports will do.
    if [[ ! -s $tools/libnode/libnode.dll ]]; then
      mkdir -p "$tools/libnode"
      printf 'LIBRARY node.exe\nEXPORTS\n' >"$tools/libnode/node.def"
      x86_64-w64-mingw32-dlltool -d "$tools/libnode/node.def" -l "$tools/libnode/libnode.dll"
    fi
  fi
  log "tools ready ($((SECONDS - t0)) s)"
}

# --- one target ------------------------------------------------------------------------------------
platform_of() { # the napi platform name, e.g. linux-arm64-gnu, as create-npm-dirs names npm/ dirs
  node -e '
    const { parseTriple } = require("@napi-rs/cli")
    process.stdout.write(parseTriple(process.argv[1]).platformArchABI)' "$1"
}

build_one() {
  local target=$1 triple plat flags=() envs=()
  triple=$(build_triple "$target")
  plat=$(platform_of "$target")
  case $target in
    *-linux-gnu*) flags=(-x --target "$triple.2.17") ;;
    *-linux-musl*) flags=(-x --target "$triple") ;;
    x86_64-apple-darwin) flags=(-x --target "$triple") envs=(MACOSX_DEPLOYMENT_TARGET=10.15) ;;
    aarch64-apple-darwin) flags=(-x --target "$triple") envs=(MACOSX_DEPLOYMENT_TARGET=11.0) ;;
    *-windows-*) flags=(--target "$triple") envs=("LIBNODE_PATH=$tools/libnode") ;;
    wasm32-*) flags=(--target "$triple") ;;
    *) log "no recipe for $target"; return 1 ;;
  esac
  env "${envs[@]}" "$napi" build --platform --release --features node \
    --js binding.js --dts binding.d.ts "${flags[@]}"
  local built
  built=bcrypt-offload.$(platform_of "$triple").node
  [[ $triple == wasm32-* ]] && built=bcrypt-offload.wasm32-wasi.wasm
  [[ -s $built ]] || { log "$target: $built was not produced"; return 1; }
  mkdir -p artifacts
  if [[ $triple == wasm32-* ]]; then
    # `napi artifacts` takes the .wasm under its .node-style name and the JS around it from the root.
    cp "$built" "artifacts/bcrypt-offload.$plat.wasm"
  else
    cp "$built" "artifacts/bcrypt-offload.$plat.node"
  fi
}

ensure_tools
export PATH="$tools/bin:$PATH"

# A package dir for every target, from package.json, where one is missing (create-npm-dirs rewrites
# every dir's package.json and README.md, so it does not run over the committed ones).
for target in "${all_targets[@]}"; do
  if [[ ! -f npm/$(platform_of "$target")/package.json ]]; then
    "$napi" create-npm-dirs >/dev/null
    break
  fi
done

declare -A took status
for target in "${targets[@]}"; do
  log "=== $target"
  t0=$(date +%s%N)
  if build_one "$target"; then status[$target]=ok; else status[$target]=FAILED; fi
  took[$target]=$((($(date +%s%N) - t0) / 100000000)) # tenths of a second
  log "$target: ${status[$target]} in $((took[$target] / 10)).$((took[$target] % 10)) s"
done

# Into npm/<platform>/. `napi artifacts` refuses to run with a configured target missing, so a
# partial run (some targets named, or one failed) copies its own results instead.
if [[ ${#targets[@]} -eq ${#all_targets[@]} && " ${status[*]} " != *FAILED* ]]; then
  "$napi" artifacts --output-dir artifacts --build-output-dir .
else
  for target in "${targets[@]}"; do
    [[ ${status[$target]} == ok ]] || continue
    plat=$(platform_of "$target")
    if [[ $target == wasm32-* ]]; then
      cp bcrypt-offload.wasm32-wasi.wasm bcrypt-offload.wasi.cjs bcrypt-offload.wasi-browser.js \
        wasi-worker.mjs wasi-worker-browser.mjs "npm/$plat/"
      [[ -f bcrypt-offload.wasi.d.cts ]] && cp bcrypt-offload.wasi.d.cts "npm/$plat/"
    else
      cp "artifacts/bcrypt-offload.$plat.node" "npm/$plat/"
    fi
  done
fi

printf '\n%-32s %-8s %8s  %s\n' target result seconds package
failed=0
for target in "${targets[@]}"; do
  plat=$(platform_of "$target")
  printf '%-32s %-8s %6d.%d  npm/%s/\n' "$target" "${status[$target]}" $((took[$target] / 10)) $((took[$target] % 10)) "$plat"
  [[ ${status[$target]} == ok ]] || failed=1
done
exit $failed
