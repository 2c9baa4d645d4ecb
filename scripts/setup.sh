#!/usr/bin/env bash
# Installs the toolchain Oxbook builds with (see ../shared/TOOLCHAIN.md for why each step
# exists). Idempotent: every stage checks whether its result is already there and skips.
# Each stage logs how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$(pwd)"

# Name under which Debian's Rust (the one with a wasm32 std we build) is linked into rustup;
# rust-toolchain.toml names it too.
TOOLCHAIN_NAME="oxbook-web"
TRUNK_VERSION="0.21.14"
APT_PACKAGES=(rustc-web cargo-web rust-web-src rustfmt-web rust-web-clippy lld-22 chromium chromium-driver)
WASM_STD_DIR="/usr/lib/rustlib/wasm32-unknown-unknown/lib"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

stage() {
    local name="$1"; shift
    local started=$SECONDS
    echo "==> setup: $name"
    "$@"
    echo "==> setup: $name done in $((SECONDS - started)) s"
}

apt_packages() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ "${#missing[@]}" = 0 ]; then echo "all present"; return; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
}

rust_lld_link() {
    if [ -e /usr/bin/rust-lld ]; then echo "present"; return; fi
    $SUDO ln -s /usr/lib/llvm-22/bin/lld /usr/bin/rust-lld
}

rustup_link() {
    if rustup toolchain list | grep -q "^$TOOLCHAIN_NAME"; then echo "present"; return; fi
    rustup toolchain link "$TOOLCHAIN_NAME" /usr
}

wasm_std() {
    if ls "$WASM_STD_DIR"/libstd-*.rlib >/dev/null 2>&1; then echo "present"; return; fi
    local scratch
    scratch="$(mktemp -d)"
    mkdir -p "$scratch/src"
    printf '[package]\nname = "wasm_std_builder"\nversion = "0.0.0"\nedition = "2021"\n[lib]\npath = "src/lib.rs"\n' > "$scratch/Cargo.toml"
    echo '#![no_std]' > "$scratch/src/lib.rs"
    (
        cd "$scratch"
        PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 \
            CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-22/bin/wasm-ld \
            /usr/bin/cargo build --release --target wasm32-unknown-unknown \
            -Zbuild-std=std,panic_abort,panic_unwind,test,proc_macro
    )
    $SUDO mkdir -p "$WASM_STD_DIR"
    find "$scratch/target/wasm32-unknown-unknown/release/deps" -name 'lib*.rlib' \
        ! -name 'libwasm_std_builder-*' -exec $SUDO cp {} "$WASM_STD_DIR/" \;
    rm -rf "$scratch"
}

# The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_cli() {
    local wanted
    wanted="$(grep -A1 '^name = "wasm-bindgen"$' "$REPO_ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
    if command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$wanted" ]; then
        echo "present ($wanted)"; return
    fi
    # Run outside the repository so rust-toolchain.toml does not apply; --locked fails
    # for this crate here (TOOLCHAIN.md).
    (cd / && cargo +stable install --force wasm-bindgen-cli --version "$wanted")
}

trunk_cli() {
    if command -v trunk >/dev/null && trunk --version | grep -q "$TRUNK_VERSION"; then echo "present"; return; fi
    (cd / && cargo +stable install --force trunk --version "$TRUNK_VERSION" --locked)
}

total_started=$SECONDS
stage "Debian packages (${APT_PACKAGES[*]})" apt_packages
stage "rust-lld link" rust_lld_link
stage "rustup toolchain link $TOOLCHAIN_NAME" rustup_link
stage "wasm32 standard library" wasm_std
stage "wasm-bindgen CLI" wasm_bindgen_cli
stage "trunk $TRUNK_VERSION" trunk_cli
echo "==> setup: finished in $((SECONDS - total_started)) s"
